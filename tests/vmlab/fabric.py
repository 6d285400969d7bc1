#!/usr/bin/python3
"""The multi-pod data plane inside one VM of the lab, on the stock Debian kernel (XFRM, ESP, bridges).

Runs in the guest, as root, with the guest's own Python and nothing but the standard library (boto3
where the pods use it): `python3 fabric.py COMMAND SPEC [ARGS]`, the repository mounted read-only
(tests/vmlab/peer.py writes SPEC from the moto-applied state and shares both through 9p).

Every pod instance is a network namespace holding the **module's rendered files** as the user_data
carried them (SPEC never re-renders anything): `ip netns exec` bind-mounts `/etc/netns/NS/*` over
`/etc/*`, so each vpn has its own /etc/microseg, /etc/swanctl, /etc/frr and strongswan.conf (whose
only addition is where this instance's vici socket lives). The vpn runs its rendered microseg-net,
microseg-tunnels (PSKs read from moto's SSM), charon (charon-systemd, swanctl --load-all as Debian's
unit does), FRR (zebra + bgpd in their own pathspace, `-N NS`), microseg-qos and the health agent
under the **rendered systemd unit** (a copy under a lab name, placed in the namespace by a drop-in).
The fw loads its rendered nftables.conf and runs its microseg-net.

"The AWS side" (namespace `tgw`) is configured only from the module's VPN connection values: each
tunnel's outside address, inside /30 and the proposals AWS allows for its tunnel options, PSKs read
from the SSM parameters the module wrote. It runs charon with one XFRM interface per tunnel (an
if_id each) and FRR as the TGW (its ASN from state, ECMP over every pod's tunnels). It also routes
like the TGW's two route tables: from a workload only the pods' BGP default route (main table); from
the tunnels and the core VPC the workload CIDRs (table 20).

Namespace `inet` is the public subnet's router, the internet gateway (1:1 NAT of each EIP to its
ENI's private address) and the internet stand-in (203.0.113.10); the tunnel endpoints sit behind it.

```
 w-orders ─┐      ┌─ p1t1/p1t2 (xfrm, if_id 11/12) ═ESP═╗         [p1v vpn] ─ p1br ─ [p1f fw] ─ core-int (tgw)
 w-payments┤[tgw] ├─ p2t1/p2t2 ...                     ╠═ inet ═╗  [p2v ...]                 └── pub (inet)
 w-ledger ─┘      └─ ...                               ║  (IGW NAT, 203.0.113.10)
```
"""

from __future__ import annotations

import calendar
import contextlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUN = Path("/run/vmlab")
TGW, INET = "tgw", "inet"
CORE_TABLE = 20  # the TGW's core route table: workload CIDRs
UNDERLAY_TABLE = 30  # the tunnel endpoints' own traffic (IKE, ESP) goes to the internet
AWS_API = "10.0.2.100"  # the interface endpoints' stand-in (vendor-data's /etc/hosts entry)
AWS_SOCK = RUN / "aws.sock"
INTERNET_SERVER = "203.0.113.10"
AGENT_UNIT = "/etc/systemd/system/microseg-health-agent.service"
TGW_ROUTER_ID = "169.254.0.1"


class FabricError(RuntimeError):
    pass


_queue: list[tuple[str | None, list[str]]] | None = None


def sh(
    *argv: str, ns: str | None = None, check: bool = True, timeout: float = 120, input: str | None = None
) -> str:
    """Runs a command (in `ns`). Inside `batched()`, commands whose output is not needed are queued
    and run in order, one shell per run of commands for the same namespace: under TCG each process
    start costs a good fraction of a second."""
    if ns and argv[0] == "ip" and argv[1] != "netns":
        argv, ns = ("ip", "-n", ns, *argv[1:]), None
    if _queue is not None and check and input is None:
        _queue.append((ns, list(argv)))
        return ""
    flush()
    return _run(list(argv), ns, check, timeout, input)


def _run(argv: list[str], ns: str | None, check: bool, timeout: float, input: str | None) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, check=False)
    if check and r.returncode:
        raise FabricError(f"{shlex.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def flush() -> None:
    global _queue
    if not _queue:
        return
    queued, _queue = _queue, None
    try:
        groups: list[tuple[str | None, list[str]]] = []
        for ns, argv in queued:
            if not groups or groups[-1][0] != ns:
                groups.append((ns, []))
            line = shlex.join(argv)
            groups[-1][1].append(f"{line} || {{ echo {shlex.quote('failed: ' + line)} >&2; exit 1; }}")
        for ns, lines in groups:
            _run(["sh", "-ec", "\n".join(lines)], ns, True, 600, None)
    finally:
        _queue = []


@contextlib.contextmanager
def batched() -> Iterator[None]:
    global _queue
    _queue = []
    try:
        yield
        flush()
    finally:
        _queue = None


def unit(name: str, *argv: str, ns: str | None = None, props: tuple[str, ...] = ()) -> None:
    """A long-running process as a transient systemd unit (journal, clean stop), in `ns` if given."""
    cmd = ["systemd-run", "--quiet", "--collect", "--unit", name]
    for p in props:
        cmd += ["-p", p]
    sh(*cmd, *(["ip", "netns", "exec", ns] if ns else []), *argv)


def wait_for(what: str, cond: Any, timeout: float, interval: float = 0.2) -> float:
    flush()
    start = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise FabricError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def host(cidr: str, n: int) -> str:
    return str(ipaddress.ip_network(cidr)[n])


def plen(cidr: str) -> int:
    return ipaddress.ip_network(cidr).prefixlen


def names(spec: dict[str, Any], key: str) -> dict[str, str]:
    i = spec["pods"][key]["index"]
    return {"vpn": f"p{i}v", "fw": f"p{i}f", "fn": f"p{i}n", "br": f"p{i}br"}


def pod_hops(pod: dict[str, Any]) -> set[str]:
    """The pod's BGP addresses on its tunnels: the TGW's next hops through it."""
    return {host(t["inside_cidr"], 2) for t in pod["tunnels"]}


def if_id(pod: dict[str, Any], tunnel: int) -> int:
    """The AWS side's XFRM if_id of a tunnel: unique across pods (the vpn side uses 1 and 2)."""
    return 10 * int(pod["index"]) + tunnel


# --- building blocks --------------------------------------------------------------------------------
def add_ns(name: str) -> None:
    sh("ip", "netns", "add", name)
    sh("ip", "link", "set", "lo", "up", ns=name)


def veth(a_ns: str, a_name: str, b_ns: str, b_name: str, a_mac: str | None = None) -> None:
    # Created from inside a_ns: names are checked in each end's namespace only.
    sh("ip", "link", "add", a_name, *(["address", a_mac] if a_mac else []), "type", "veth",
       "peer", "name", b_name, "netns", b_ns, ns=a_ns)  # fmt: skip
    sh("ip", "link", "set", a_name, "up", ns=a_ns)
    sh("ip", "link", "set", b_name, "up", ns=b_ns)


def sysctls(ns: str, **kv: str) -> None:
    sh("sysctl", "-q", "-w", *(f"{k.replace('__', '.')}={v}" for k, v in kv.items()), ns=ns)


def install(ns: str, files: dict[str, dict[str, str]]) -> None:
    """The rendered files under /etc go to /etc/netns/NS (ip netns exec mounts them over /etc), over a
    copy of the image's /etc/frr and /etc/swanctl; the others (scripts, the agent, units) to RUN/NS,
    from where they are run."""
    for d in ("frr", "swanctl"):
        if any(p.startswith(f"/etc/{d}/") for p in files):
            shutil.copytree(f"/etc/{d}", f"/etc/netns/{ns}/{d}", symlinks=True, dirs_exist_ok=True)
    for path, f in files.items():
        if path.startswith("/etc/") and not path.startswith("/etc/systemd/"):
            dest = Path(f"/etc/netns/{ns}") / path[len("/etc/") :]
        else:
            dest = RUN / ns / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f["content"])
        dest.chmod(int(f.get("mode", "0644"), 8))


def strongswan_conf(ns: str) -> None:
    """This instance's strongswan.conf: the image's, plus where its vici socket lives (one per namespace)."""
    sock = f"unix://{RUN}/{ns}.vici"
    text = Path("/etc/strongswan.conf").read_text()
    # The AWS side routes by XFRM interface: charon installs no routes of its own (table 220).
    extra = "  install_routes = no\n" if ns == TGW else ""
    text += f"\ncharon {{\n{extra}  plugins {{\n    vici {{\n      socket = {sock}\n    }}\n  }}\n}}\n"
    text += f"swanctl {{\n  socket = {sock}\n}}\n"
    Path(f"/etc/netns/{ns}").mkdir(parents=True, exist_ok=True)
    Path(f"/etc/netns/{ns}/strongswan.conf").write_text(text)


def aws_endpoint(ns: str) -> None:
    """The AWS endpoints' address inside `ns`: a relay to the guest's real path (QEMU's forward)."""
    sh("ip", "addr", "add", f"{AWS_API}/32", "dev", "lo", ns=ns)
    unit(f"vmlab-relay-{ns}", sys.executable, str(HERE / "fabric.py"), "relay-in", ns=ns)


def start_charon(ns: str) -> None:
    unit(f"vmlab-charon-{ns}", "/usr/sbin/charon-systemd", ns=ns)
    wait_for(f"charon in {ns}", lambda: Path(f"{RUN}/{ns}.vici").exists(), 60)
    sh("swanctl", "--load-all", "--noprompt", ns=ns)


def start_frr(ns: str, conf: str) -> None:
    rundir = Path("/run/frr") / ns
    sh("rm", "-rf", str(rundir))
    rundir.mkdir(parents=True)
    sh("chown", "frr:frr", str(rundir))
    for daemon in ("zebra", "bgpd"):
        unit(f"vmlab-{daemon}-{ns}", f"/usr/lib/frr/{daemon}", "-N", ns, "-A", "127.0.0.1", ns=ns)
    wait_for(f"bgpd in {ns}", lambda: (rundir / "bgpd.vty").exists() and (rundir / "zebra.vty").exists(), 60)
    # The vty sockets exist a moment before the daemons answer on them.
    wait_for(
        f"vtysh in {ns}",
        lambda: not sh("vtysh", "-N", ns, "-c", "show version", ns=ns, check=False).startswith("Exiting"),
        30,
    )
    out = sh("vtysh", "-N", ns, "-f", conf, ns=ns)
    if re.search(r"^% (?!Can't open configuration file)", out, re.M):
        raise FabricError(f"{ns}: vtysh -f {conf}: {out}")


# --- the AWS side ------------------------------------------------------------------------------------
ENC = {"AES128": "aes128", "AES256": "aes256", "AES128-GCM-16": "aes128gcm16", "AES256-GCM-16": "aes256gcm16"}
INTEG = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
DH = {2: "modp1024", 5: "modp1536", 14: "modp2048", 15: "modp3072", 16: "modp4096", 17: "modp6144",
      18: "modp8192", 19: "ecp256", 20: "ecp384", 21: "ecp521", 22: "modp1024s160", 23: "modp2048s224",
      24: "modp2048s256"}  # fmt: skip


def aws_proposals(enc: list[str], integ: list[str], dh: list[int], ike: bool) -> str:
    """Every combination AWS accepts for these tunnel options, one strongSwan proposal each (a responder
    restricted to exactly these). AEAD ciphers take no integrity algorithm; IKE takes a PRF."""
    out = []
    for e in enc:
        aead = "GCM" in e
        for i in [None] if aead and not ike else integ:
            for g in dh or [None]:
                parts = [ENC[e]]
                if not aead:
                    parts.append(INTEG[i])  # type: ignore[index]
                if ike:
                    parts.append("prf" + INTEG[i])  # type: ignore[index]
                if g is not None:
                    parts.append(DH[g])
                out.append("-".join(parts))
    return ",".join(dict.fromkeys(out))


def aws_side_swanctl(spec: dict[str, Any], psks: dict[str, str]) -> str:
    conns, secrets = [], []
    for key, pod in sorted(spec["pods"].items()):
        for t in pod["tunnels"]:
            n, xid = f"{key}-t{t['number']}", if_id(pod, t["number"])
            p1, p2 = t["phase1"], t["phase2"]
            conns.append(
                f"""  {n} {{
    version = 2
    local_addrs = {t["outside_ip"]}
    remote_addrs = {pod["cgw_ip"]}
    proposals = {aws_proposals(p1["encryption"], p1["integrity"], p1["dh_groups"], True)}
    dpd_delay = 10s
    if_id_in = {xid}
    if_id_out = {xid}
    local {{
      auth = psk
      id = {t["outside_ip"]}
    }}
    remote {{
      auth = psk
      id = {pod["cgw_ip"]}
    }}
    children {{
      {n} {{
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = {aws_proposals(p2["encryption"], p2["integrity"], p2["dh_groups"], False)}
        dpd_action = clear
      }}
    }}
  }}"""
            )
            secrets.append(
                f'  ike-{n} {{\n    id-1 = {t["outside_ip"]}\n    secret = "{psks[t["psk_parameter"]]}"\n  }}'
            )
    # AWS's side never initiates (startup_action = add): no start_action, it only responds.
    return "connections {\n" + "\n".join(conns) + "\n}\nsecrets {\n" + "\n".join(secrets) + "\n}\n"


def aws_side_frr(spec: dict[str, Any]) -> str:
    lines = [
        "frr defaults traditional",
        "hostname tgw",
        f"router bgp {spec['asn']['transit_gateway']}",
        f" bgp router-id {TGW_ROUTER_ID}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        # AWS VPN BGP: keepalive 10 s, hold 30 s.
        " timers bgp 10 30",
    ]
    for pod in spec["pods"].values():
        for t in pod["tunnels"]:
            peer = host(t["inside_cidr"], 2)
            lines += [
                f" neighbor {peer} remote-as {spec['asn']['pods']}",
                f" neighbor {peer} timers connect 5",
            ]
    lines += [" address-family ipv4 unicast", "  maximum-paths 64"]
    # The core route table's propagated routes (the workload VPCs), advertised to the pods as AWS does.
    lines += [f"  network {w['cidr']}" for w in spec["workloads"].values()]
    lines += [" exit-address-family", "exit"]
    return "\n".join(lines) + "\n"


def read_psks(spec: dict[str, Any]) -> dict[str, str]:
    """The tunnel PSKs from the SSM parameters the module wrote (moto, through the endpoint stand-in).
    Read once per fabric (`up` clears RUN), then kept there (root only): they do not change meanwhile, and
    boto3's import alone takes seconds under TCG."""
    names = [t["psk_parameter"] for pod in spec["pods"].values() for t in pod["tunnels"]]
    cache = RUN / "psks.json"
    if cache.exists() and sorted(kept := json.loads(cache.read_text())) == sorted(names):
        return dict(kept)
    import boto3

    ssm = boto3.client("ssm", region_name=spec["region"])
    out = {n: ssm.get_parameter(Name=n, WithDecryption=True)["Parameter"]["Value"] for n in names}
    RUN.mkdir(parents=True, exist_ok=True)
    cache.touch(mode=0o600)
    cache.write_text(json.dumps(out))
    return out


def build_core(spec: dict[str, Any]) -> None:
    add_ns(TGW)
    add_ns(INET)
    # ECMP over the L4 5-tuple like the TGW (policy 3: addresses, protocol, ports; never a hash an
    # earlier hop left on the packet).
    sysctls(TGW, net__ipv4__ip_forward="1", net__ipv4__fib_multipath_hash_policy="3",
            net__ipv4__fib_multipath_hash_fields="0x0037", net__ipv4__conf__all__rp_filter="0",
            net__ipv4__conf__default__rp_filter="0")  # fmt: skip
    sysctls(
        INET,
        net__ipv4__ip_forward="1",
        net__ipv4__conf__all__rp_filter="0",
        net__ipv4__conf__default__rp_filter="0",
    )
    # The internet path between the tunnel endpoints and the pods' EIPs.
    veth(TGW, "wan", INET, "aws", None)
    sh("ip", "addr", "add", "100.64.0.1/30", "dev", "wan", ns=TGW)
    sh("ip", "addr", "add", "100.64.0.2/30", "dev", "aws", ns=INET)
    sh("ip", "route", "add", "default", "via", "100.64.0.2", "table", str(UNDERLAY_TABLE), ns=TGW)
    for pod in spec["pods"].values():
        for t in pod["tunnels"]:
            sh("ip", "addr", "add", f"{t['outside_ip']}/32", "dev", "lo", ns=TGW)
            sh(
                "ip",
                "rule",
                "add",
                "from",
                t["outside_ip"],
                "lookup",
                str(UNDERLAY_TABLE),
                "priority",
                "90",
                ns=TGW,
            )
            sh("ip", "route", "add", f"{t['outside_ip']}/32", "via", "100.64.0.1", ns=INET)
    # The core VPC's internal subnet (fw internal ENIs) with the VPC router address, in the TGW.
    sh("ip", "link", "add", "core-int", "type", "bridge", ns=TGW)
    sh(
        "ip",
        "addr",
        "add",
        f"{host(spec['internal_cidr'], 1)}/{plen(spec['internal_cidr'])}",
        "dev",
        "core-int",
        ns=TGW,
    )
    sh("ip", "link", "set", "core-int", "up", ns=TGW)
    sh("ip", "rule", "add", "iif", "core-int", "lookup", str(CORE_TABLE), "priority", "100", ns=TGW)
    # The public subnet (vpn and fw public ENIs) and its router, the IGW and the internet stand-in.
    sh("ip", "link", "add", "pub", "type", "bridge", ns=INET)
    sh(
        "ip",
        "addr",
        "add",
        f"{host(spec['public_cidr'], 1)}/{plen(spec['public_cidr'])}",
        "dev",
        "pub",
        ns=INET,
    )
    sh("ip", "link", "set", "pub", "up", ns=INET)
    sh("ip", "addr", "add", f"{INTERNET_SERVER}/32", "dev", "lo", ns=INET)
    eips = {}
    for pod in spec["pods"].values():
        eips[pod["vpn_eip"]] = pod["nics"]["vpn-public"]["ip"]
        eips[pod["fw_eip"]] = pod["nics"]["fw-public"]["ip"]
    for eip in eips:
        # A route for the internet stand-in's own replies: they are de-NATed after the route lookup.
        sh("ip", "route", "add", f"{eip}/32", "dev", "pub", ns=INET)
    pairs = ", ".join(f"{e} : {p}" for e, p in eips.items())
    back = ", ".join(f"{p} : {e}" for e, p in eips.items())
    # The IGW: 1:1 NAT between each EIP and its ENI's private address, both ways.
    sh(
        "nft",
        "-f",
        "-",
        ns=INET,
        input=f"""table ip igw {{
  chain pre {{ type nat hook prerouting priority dstnat; dnat to ip daddr map {{ {pairs} }}; }}
  chain post {{ type nat hook postrouting priority srcnat;
    oifname != "pub" snat to ip saddr map {{ {back} }}; }}
  chain local {{ type nat hook input priority 100; iifname "pub" snat to ip saddr map {{ {back} }}; }}
}}
""",
    )
    # Workloads: reach each other only through a pod (the workloads table holds only BGP's default).
    for name, w in sorted(spec["workloads"].items()):
        ns, dev = f"w-{name}", f"w-{name}"[:15]
        add_ns(ns)
        veth(TGW, dev, ns, "eth0")
        ip, gw = host(w["cidr"], 10), host(w["cidr"], 1)
        sh("ip", "addr", "add", f"{gw}/32", "dev", dev, ns=TGW)
        sh("ip", "route", "add", w["cidr"], "dev", dev, "table", str(CORE_TABLE), ns=TGW)
        sh("ip", "addr", "add", f"{ip}/{plen(w['cidr'])}", "dev", "eth0", ns=ns)
        sh("ip", "route", "add", "default", "via", gw, ns=ns)


def start_aws_side(spec: dict[str, Any]) -> None:
    psks = read_psks(spec)
    for pod in spec["pods"].values():
        for t in pod["tunnels"]:
            dev = f"p{pod['index']}t{t['number']}"
            sh(
                "ip",
                "link",
                "add",
                dev,
                "type",
                "xfrm",
                "dev",
                "wan",
                "if_id",
                str(if_id(pod, t["number"])),
                ns=TGW,
            )
            sh(
                "ip",
                "addr",
                "add",
                f"{host(t['inside_cidr'], 1)}/{plen(t['inside_cidr'])}",
                "dev",
                dev,
                ns=TGW,
            )
            sh("ip", "link", "set", dev, "up", ns=TGW)
            sysctls(
                TGW,
                **{f"net__ipv4__conf__{dev}__disable_policy": "1", f"net__ipv4__conf__{dev}__rp_filter": "0"},
            )
            sh("ip", "rule", "add", "iif", dev, "lookup", str(CORE_TABLE), "priority", "100", ns=TGW)
    Path(f"/etc/netns/{TGW}").mkdir(parents=True, exist_ok=True)
    shutil.copytree("/etc/swanctl", f"/etc/netns/{TGW}/swanctl", symlinks=True, dirs_exist_ok=True)
    write_aws_side_conf(spec, psks)
    strongswan_conf(TGW)
    start_charon(TGW)
    conf = RUN / "tgw-frr.conf"
    conf.write_text(aws_side_frr(spec))
    start_frr(TGW, str(conf))


def write_aws_side_conf(spec: dict[str, Any], psks: dict[str, str]) -> None:
    old = os.umask(0o077)
    Path(f"/etc/netns/{TGW}/swanctl/conf.d/aws.conf").write_text(aws_side_swanctl(spec, psks))
    os.umask(old)


def restrict(spec: dict[str, Any], key: str, tunnel: int, options: dict[str, dict[str, Any]]) -> None:
    """Restricts the AWS side of one tunnel to other tunnel options (phase1/phase2 lists merged over the
    module's; {} restores the module's) and reloads its connections: new IKE SAs, and the CHILD SA
    rekeys of IKE SAs set up after this, use them; established SAs keep the config they started with."""
    changed = json.loads(json.dumps(spec))
    t = changed["pods"][key]["tunnels"][tunnel - 1]
    for phase, lists in options.items():
        t[phase].update(lists)
    write_aws_side_conf(changed, read_psks(spec))
    sh("swanctl", "--load-all", "--noprompt", ns=TGW)


# --- the pods ----------------------------------------------------------------------------------------
def build_pod(spec: dict[str, Any], key: str) -> None:
    pod, n = spec["pods"][key], names(spec, key)
    nic = pod["nics"]
    for ns in (n["vpn"], n["fw"], n["fn"]):
        add_ns(ns)
    sh("ip", "link", "add", n["br"], "type", "bridge", ns=TGW)
    sh("ip", "link", "set", n["br"], "up", ns=TGW)
    # OS names as on a Nitro instance: the rendered microseg-net finds and renames them by MAC.
    veth(n["vpn"], "ens5", INET, f"{n['vpn']}pub", nic["vpn-public"]["mac"])
    veth(n["vpn"], "ens6", TGW, f"{n['vpn']}br", nic["vpn-bridge"]["mac"])
    veth(n["fw"], "ens6", TGW, f"{n['fw']}br", nic["fw-bridge"]["mac"])
    veth(n["fw"], "ens7", TGW, f"{n['fw']}int", nic["fw-internal"]["mac"])
    veth(n["fw"], "ens8", INET, f"{n['fw']}pub", nic["fw-public"]["mac"])
    veth(n["fn"], "eth0", TGW, f"{n['fn']}br")
    for dev in (f"{n['vpn']}br", f"{n['fw']}br", f"{n['fn']}br"):
        sh("ip", "link", "set", dev, "master", n["br"], ns=TGW)
    sh("ip", "link", "set", f"{n['fw']}int", "master", "core-int", ns=TGW)
    for dev in (f"{n['vpn']}pub", f"{n['fw']}pub"):
        sh("ip", "link", "set", dev, "master", "pub", ns=INET)
    # The primary ENIs' DHCP (address, the subnet router); the fw's management subnet is not modelled.
    pub = nic["vpn-public"]["ip"]
    sh("ip", "addr", "add", f"{pub}/{plen(spec['public_cidr'])}", "dev", "ens5", ns=n["vpn"])
    sh("ip", "route", "add", "default", "via", host(spec["public_cidr"], 1), ns=n["vpn"])
    sh("ip", "link", "add", "ens5", "address", nic["fw-management"]["mac"], "type", "dummy", ns=n["fw"])
    sh("ip", "addr", "add", f"{nic['fw-management']['ip']}/32", "dev", "ens5", ns=n["fw"])
    sh("ip", "link", "set", "ens5", "up", ns=n["fw"])
    # The health-check Lambda's ENI: cidrhost(bridge, 6), default route = the bridge route table's (fw).
    sh(
        "ip",
        "addr",
        "add",
        f"{host(pod['bridge_cidr'], 6)}/{plen(pod['bridge_cidr'])}",
        "dev",
        "eth0",
        ns=n["fn"],
    )
    sh("ip", "route", "add", "default", "via", nic["fw-bridge"]["ip"], ns=n["fn"])
    for ns in (n["vpn"], n["fn"]):
        aws_endpoint(ns)
    for role in ("vpn", "fw"):
        Path(f"/etc/netns/{names(spec, key)[role]}").mkdir(parents=True, exist_ok=True)
        install(n[role], pod["files"][role])
    strongswan_conf(n["vpn"])


def start_fw(spec: dict[str, Any], key: str) -> None:
    n = names(spec, key)
    # As on the instance: nftables.service loads the ruleset, then microseg-net (which requires it).
    sh("nft", "-f", "/etc/nftables.conf", ns=n["fw"])
    sh("sh", str(RUN / n["fw"] / "usr/local/sbin/microseg-net"), ns=n["fw"])


def start_vpn(spec: dict[str, Any], key: str) -> None:
    n = names(spec, key)
    ns, root = n["vpn"], RUN / n["vpn"]
    # The rendered units' order: microseg-net, microseg-tunnels, charon, frr, microseg-qos, the agent.
    sh("sh", str(root / "usr/local/sbin/microseg-net"), ns=ns)
    sh("sh", str(root / "usr/local/sbin/microseg-tunnels"), ns=ns)
    start_charon(ns)
    start_frr(ns, f"/etc/netns/{ns}/frr/frr.conf")
    sh("sh", str(root / "usr/local/sbin/microseg-qos"), ns=ns)
    start_agent(spec, key)


def agent_unit_name(spec: dict[str, Any], key: str) -> str:
    return f"vmlab-{names(spec, key)['vpn']}-health-agent.service"


def start_agent(spec: dict[str, Any], key: str) -> None:
    """The rendered microseg-health-agent.service, byte for byte under a lab name, with a drop-in that
    places it in the pod's namespaces: its network, its /etc/microseg, its agent file, its FRR's vty."""
    n = names(spec, key)
    ns = n["vpn"]
    name = agent_unit_name(spec, key)
    d = Path("/run/systemd/system")
    (d / name).write_text(spec["pods"][key]["files"]["vpn"][AGENT_UNIT]["content"])
    (d / f"{name}.d").mkdir(parents=True, exist_ok=True)
    (d / f"{name}.d" / "vmlab.conf").write_text(
        "\n".join(
            [
                "[Service]",
                f"NetworkNamespacePath=/run/netns/{ns}",
                # systemd reads EnvironmentFile before entering the namespaces: the pod's own file.
                "EnvironmentFile=",
                f"EnvironmentFile=/etc/netns/{ns}/microseg/pod.env",
                f"BindReadOnlyPaths=/etc/netns/{ns}/microseg:/etc/microseg",
                f"BindReadOnlyPaths={RUN}/{ns}/usr/local/lib/microseg:/usr/local/lib/microseg",
                f"BindPaths=/run/frr/{ns}:/run/frr",
                "",
            ]
        )
    )
    sh("systemctl", "daemon-reload")
    sh("systemctl", "start", "--no-block", name)


def boot_check_units(spec: dict[str, Any]) -> None:
    """The agent's unit requires frr.service and microseg-boot-check.service: the image's frr (the
    root namespace's, harmless) and the rendered boot check of the vpn (it checks this very image)."""
    key = sorted(spec["pods"])[0]
    files = spec["pods"][key]["files"]["vpn"]
    for path in ("/usr/local/sbin/microseg-boot-check", "/etc/systemd/system/microseg-boot-check.service"):
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[path]["content"])
        p.chmod(int(files[path].get("mode", "0644"), 8))
    sh("systemctl", "daemon-reload")


# --- the AWS endpoint relay (unix socket: it crosses network namespaces) --------------------------------
def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _serve(listener: socket.socket, connect: Any) -> None:
    while True:
        c, _ = listener.accept()
        try:
            up = connect()
        except OSError:
            c.close()
            continue
        threading.Thread(target=_pipe, args=(c, up), daemon=True).start()
        threading.Thread(target=_pipe, args=(up, c), daemon=True).start()


def relay_out() -> None:
    """Root namespace: RUN/aws.sock -> the endpoints' address through QEMU's forward."""
    AWS_SOCK.unlink(missing_ok=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(AWS_SOCK))
    s.listen(64)

    def connect() -> socket.socket:
        up = socket.create_connection((AWS_API, 443), timeout=10)
        # The 10 s bound is for connecting only: a request that takes longer to be answered (a slow
        # TLS handshake in a starved TCG guest) must not have its connection cut by the relay.
        up.settimeout(None)
        return up

    _serve(s, connect)


def relay_in() -> None:
    """A pod namespace: AWS_API:443 -> RUN/aws.sock."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((AWS_API, 443))
    s.listen(64)

    def connect() -> socket.socket:
        u = socket.socket(socket.AF_UNIX)
        u.connect(str(AWS_SOCK))
        return u

    _serve(s, connect)


# --- observation (lab only, not part of a pod) ---------------------------------------------------------
OBSERVE_NFT = """\
table ip observe {
  set flows_in { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set replies_out { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  chain seen {
    type filter hook forward priority 10; policy accept;
    iifname "tgw*" tcp flags & (syn | ack) == syn add @flows_in { ip saddr . tcp sport }
    oifname "tgw*" tcp flags & (syn | ack) == syn | ack add @replies_out { ip daddr . tcp dport }
  }
}
"""


PROBE = REPO / "tests" / "lab" / "probe.py"
HEALTH_RUNNER = REPO / "tests" / "lab" / "health_runner.py"


def start_servers(spec: dict[str, Any]) -> None:
    """Probe servers (answer with the address they see: the SNAT address names the pod): every
    workload on 443 and 22 (22 is approved for nobody: the Lambda's denied probe), the internet on 443."""
    for ns, ports in [*((f"w-{w}", ["443", "22"]) for w in sorted(spec["workloads"])), (INET, ["443"])]:
        unit(f"vmlab-serve-{ns}", sys.executable, str(PROBE), "serve", "0.0.0.0", *ports, ns=ns)


def start_health_checks(spec: dict[str, Any], interval: float) -> None:
    """modules/pod-health's check code from each pod's bridge subnet (the Lambda's ENI), every
    `interval` s, writing the pod's health parameter in moto's SSM (what the vpn's agent reads)."""
    for key, pod in sorted(spec["pods"].items()):
        cfg = {
            "POD": key,
            "HEALTH_PARAMETER": pod["health_parameter"],
            "INTERNET_URL": f"https://{INTERNET_SERVER}/",
            "EXPECTED_PUBLIC_IP": pod["fw_eip"],
            "WORKLOAD_PROBES": json.dumps({t["host"]: t for t in spec["health_targets"]}),
            "DENIED_PROBE": json.dumps({"host": spec["health_targets"][0]["host"], "port": 22}),
        }
        unit(f"vmlab-health-{key}", sys.executable, str(HEALTH_RUNNER), json.dumps(cfg), "aws", str(interval),
             ns=names(spec, key)["fn"])  # fmt: skip


def up(spec: dict[str, Any]) -> dict[str, float]:
    """Builds everything and starts every daemon; returns seconds per phase."""
    times: dict[str, float] = {}
    t0 = time.monotonic()
    down()
    RUN.mkdir(parents=True, exist_ok=True)
    with batched():
        sh("modprobe", "xfrm_interface")
        unit("vmlab-relay", sys.executable, str(HERE / "fabric.py"), "relay-out")
        build_core(spec)
        for key in sorted(spec["pods"]):
            build_pod(spec, key)
        boot_check_units(spec)
        start_servers(spec)
    for key in sorted(spec["pods"]):
        sh("nft", "-f", "-", ns=names(spec, key)["vpn"], input=OBSERVE_NFT)
    times["build_s"] = time.monotonic() - t0
    t = time.monotonic()
    start_aws_side(spec)
    # The pods boot at once, as instances do (and each spends seconds in boto3 under TCG).
    errors: list[BaseException] = []

    def boot(key: str) -> None:
        try:
            start_fw(spec, key)
            start_vpn(spec, key)
        except BaseException as e:  # reported below, from the main thread
            errors.append(e)

    threads = [threading.Thread(target=boot, args=(k,)) for k in sorted(spec["pods"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    start_health_checks(spec, float(spec.get("health_check_interval", 60)))
    times["start_s"] = time.monotonic() - t
    return times


def converge(spec: dict[str, Any], timeout: float) -> dict[str, float]:
    """Seconds until every tunnel's IKE and CHILD SA is up, every BGP session established, every pod in
    the TGW's ECMP set and every vpn holding the workload routes (BGP) again."""
    t0, out = time.monotonic(), {}
    tunnels = sorted(f"{k}-t{t['number']}" for k, p in spec["pods"].items() for t in p["tunnels"])
    wait_for(
        "every IKE and CHILD SA",
        lambda: (s := status(spec))["ike"] == tunnels and s["child"] == tunnels,
        timeout,
    )
    out["ike_s"] = time.monotonic() - t0
    wait_for("every BGP session", lambda: set(status(spec)["bgp"].values()) == {"Established"}, timeout)
    out["bgp_s"] = time.monotonic() - t0

    def all_in() -> bool:
        if status(spec)["pods_in_ecmp"] != sorted(spec["pods"]):
            return False
        for key in spec["pods"]:
            routes = sh("ip", "route", "show", "proto", "bgp", ns=names(spec, key)["vpn"])
            if not all(w["cidr"] in routes for w in spec["workloads"].values()):
                return False
        return True

    try:
        wait_for("every pod in ECMP", all_in, timeout)
    except FabricError as e:
        raise FabricError(f"{e}\n{json.dumps(status(spec))}\n{diagnose(spec)}") from None
    out["ecmp_s"] = time.monotonic() - t0
    return out


def diagnose(spec: dict[str, Any]) -> str:
    """What to read first when a pod does not join: its agent's and its health check's last words."""
    out = []
    for key in sorted(spec["pods"]):
        for u in (agent_unit_name(spec, key), f"vmlab-health-{key}.service"):
            state = sh("systemctl", "is-active", u, check=False).strip()
            out.append(
                f"== {u} ({state})\n" + sh("journalctl", "--no-pager", "-n", "25", "-u", u, check=False)
            )
    return "\n".join(out)


def _journal(unit_name: str) -> list[tuple[float, str]]:
    """(wall time, message) of a unit's journal lines."""
    out = sh(
        "journalctl", "--no-pager", "-o", "json", "--output-fields=MESSAGE", "-u", unit_name, check=False
    )
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [(int(d["__REALTIME_TIMESTAMP"]) / 1e6, str(d.get("MESSAGE", ""))) for d in lines]


def gating(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per pod, from the guest's journal: when its health check first wrote a healthy record (printed
    right after the write), when its agent first advertised 0.0.0.0/0, and the check's failed runs."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(spec["pods"]):
        check = _journal(f"vmlab-health-{key}.service")
        healthy = [t for t, m in check if '"written": "healthy"' in m]
        # Not "not advertising 0.0.0.0/0: ...", the agent's line while it keeps the pod withdrawn.
        advertised = [
            t for t, m in _journal(agent_unit_name(spec, key)) if "advertising 0.0.0.0/0: pod is" in m
        ]
        out[key] = {
            "healthy": min(healthy, default=None),
            "advertised": min(advertised, default=None),
            "failed_runs": [m for _, m in check if '"error"' in m][:3],
        }
    return out


def down() -> None:
    units = sh("systemctl", "list-units", "--plain", "--no-legend", "vmlab-*", check=False)
    for line in units.splitlines():
        if line.split():
            sh("systemctl", "stop", line.split()[0], check=False)
    for f in Path("/run/systemd/system").glob("vmlab-*"):
        sh("rm", "-rf", str(f))
    for ns in sh("ip", "netns", "list").split("\n"):
        if ns.split():
            name = ns.split()[0]
            for pid in sh("ip", "netns", "pids", name, check=False).split():
                sh("kill", "-9", pid, check=False)
            sh("ip", "netns", "del", name, check=False)
    sh("rm", "-rf", "/etc/netns", str(RUN), check=False)
    for d in Path("/run/frr").glob("*/"):
        sh("rm", "-rf", str(d), check=False)


# --- queries the tests use ---------------------------------------------------------------------------------
def status(spec: dict[str, Any]) -> dict[str, Any]:
    """IKE/CHILD SAs per tunnel on the AWS side, BGP sessions, the TGW's ECMP next hops."""
    sas = negotiated()
    bgp = json.loads(sh("vtysh", "-N", TGW, "-c", "show bgp summary json", ns=TGW) or "{}")
    peers = bgp.get("ipv4Unicast", {}).get("peers", {})
    hops = tgw_next_hops()
    return {
        "ike": sorted(sas),
        "child": sorted(k for k, s in sas.items() if s["child"]),
        "bgp": {p: v.get("state") for p, v in peers.items()},
        "ecmp": sorted(hops),
        "pods_in_ecmp": sorted(k for k, p in spec["pods"].items() if pod_hops(p) <= hops),
    }


def workload_ip(spec: dict[str, Any], name: str) -> str:
    return INTERNET_SERVER if name == "internet" else host(spec["workloads"][name]["cidr"], 10)


def connect(
    spec: dict[str, Any], src: str, dst: str, port: int, n: int, timeout: float = 2.0
) -> list[dict[str, Any]]:
    """N new TCP connections from workload SRC to DST ("internet" or a workload), each answered with
    the address the server saw; `pod` is the pod whose fw SNATed it (internal address east-west,
    the fw's EIP after the IGW north-south)."""
    where = {}
    for key, pod in spec["pods"].items():
        where[pod["nics"]["fw-internal"]["ip"]] = key
        where[pod["fw_eip"]] = key
    out = sh(sys.executable, str(PROBE), "connect", workload_ip(spec, dst), str(port), str(n), str(timeout),
             ns=f"w-{src}", timeout=n * timeout + 60)  # fmt: skip
    return [{**r, "pod": where.get(str(r["peer"]))} for r in json.loads(out)]


def observed(spec: dict[str, Any]) -> dict[str, dict[str, list[list[Any]]]]:
    """Per pod: flows whose SYN came in from the TGW ("in") and whose SYN-ACK left to it ("out")."""
    out: dict[str, dict[str, list[list[Any]]]] = {}
    for key in spec["pods"]:
        doc = json.loads(sh("nft", "-j", "list", "table", "ip", "observe", ns=names(spec, key)["vpn"]))
        sets: dict[str, list[list[Any]]] = {"in": [], "out": []}
        for item in doc["nftables"]:
            st = item.get("set")
            if st and st["name"] in ("flows_in", "replies_out"):
                for e in st.get("elem", []):
                    val = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
                    sets["in" if st["name"] == "flows_in" else "out"].append(list(val["concat"]))
        out[key] = sets
    return out


def reset_observed(spec: dict[str, Any]) -> None:
    for key in spec["pods"]:
        for name in ("flows_in", "replies_out"):
            sh("nft", "flush", "set", "ip", "observe", name, ns=names(spec, key)["vpn"])


def negotiated() -> dict[str, dict[str, Any]]:
    """Per tunnel, from the AWS side: the IKE SA's algorithms and its CHILD SAs' (swanctl's notation,
    e.g. AES_GCM_16-256/PRF_HMAC_SHA2_512/ECP_521; a CHILD SA shows a DH group once rekeyed with PFS)."""
    out: dict[str, dict[str, Any]] = {}
    name = None
    for line in sh("swanctl", "--list-sas", ns=TGW, check=False).splitlines():
        if m := re.match(r"^(pod-\d+-t\d): #\d+, ESTABLISHED", line):
            name = m.group(1)
            out.setdefault(name, {"ike": [], "child": []})
        elif name and (m := re.match(r"^  ([A-Z][A-Z0-9_]*(?:-\d+)?(?:/[A-Z0-9_]+)+)$", line)):
            out[name]["ike"].append(m.group(1))
        elif name and (m := re.match(r"^\s+pod-\d+-t\d: #\d+, reqid \d+, INSTALLED, \S+, ESP:(\S+)", line)):
            out[name]["child"].append(m.group(1))
    return out


def _vpn_swanctl(spec: dict[str, Any], key: str, *args: str, timeout: float) -> dict[str, Any]:
    r = subprocess.run(
        ["ip", "netns", "exec", names(spec, key)["vpn"], "swanctl", *args],
        capture_output=True, text=True, timeout=timeout + 30, check=False,
    )  # fmt: skip
    return {"rc": r.returncode, "output": r.stdout + r.stderr}


def reinitiate(spec: dict[str, Any], key: str, tunnel: int, timeout: float) -> dict[str, Any]:
    """The pod's vpn closes one tunnel's IKE SA and initiates it again: swanctl's exit code and log."""
    _vpn_swanctl(spec, key, "--terminate", "--ike", f"tgw{tunnel}", "--timeout", "20", timeout=20)
    return _vpn_swanctl(
        spec, key, "--initiate", "--child", f"tgw{tunnel}", "--timeout", str(int(timeout)), timeout=timeout
    )


def rekey(spec: dict[str, Any], key: str, tunnel: int, timeout: float) -> dict[str, Any]:
    """The pod's vpn rekeys one tunnel's CHILD SA (CREATE_CHILD_SA, with PFS: a new DH exchange in
    phase 2's groups). Returns the CHILD SAs the AWS side then holds, or the notify that refused it."""
    unit_name = f"vmlab-charon-{names(spec, key)['vpn']}.service"
    since = time.time()
    before = set(negotiated().get(f"{key}-t{tunnel}", {}).get("child", []))
    sh("swanctl", "--rekey", "--child", f"tgw{tunnel}", ns=names(spec, key)["vpn"])
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        child = negotiated().get(f"{key}-t{tunnel}", {}).get("child", [])
        refused = [m for ts, m in _journal(unit_name) if ts >= since and "NO_PROPOSAL_CHOSEN" in m]
        if refused or any("/" in c for c in child if c not in before):
            return {"child": child, "refused": refused}
        time.sleep(0.5)
    return {"child": negotiated().get(f"{key}-t{tunnel}", {}).get("child", []), "refused": []}


def tgw_next_hops() -> set[str]:
    routes = json.loads(sh("ip", "-j", "route", "show", "0.0.0.0/0", ns=TGW) or "[]")
    return {nh["gateway"] for r in routes for nh in r.get("nexthops", [r]) if "gateway" in nh}


def _fault(
    spec: dict[str, Any], key: str, back: bool, timeout: float, *argv: str, ns: str
) -> dict[str, float]:
    """Runs a fault (or its repair) in one of a pod's namespaces and times how long until the TGW's
    ECMP set has lost (or regained) that pod's tunnels: measured here, next to the TGW, every 0.1 s."""
    hops = pod_hops(spec["pods"][key])
    t0 = time.monotonic()
    sh(*argv, ns=ns)
    took = wait_for(
        f"{key} {'back in' if back else 'out of'} ECMP",
        (lambda: hops <= tgw_next_hops()) if back else (lambda: not hops & tgw_next_hops()),
        timeout,
        interval=0.1,
    )
    return {"seconds": took, "since": t0}


def health_record(spec: dict[str, Any], key: str) -> dict[str, Any]:
    """The pod's health record (moto's SSM, through the endpoint stand-in)."""
    import boto3

    ssm = boto3.client("ssm", region_name=spec["region"])
    return dict(
        json.loads(ssm.get_parameter(Name=spec["pods"][key]["health_parameter"])["Parameter"]["Value"])
    )


def _checked_since(record: dict[str, Any], wall: float) -> bool:
    """A healthy record from a check that started at or after `wall` (checked_at: whole seconds)."""
    at = calendar.timegm(time.strptime(str(record.get("checked_at")), "%Y-%m-%dT%H:%M:%SZ"))
    return record.get("status") == "healthy" and at >= int(wall)


def fw_forwarding(spec: dict[str, Any], key: str, on: bool, timeout: float) -> dict[str, float]:
    """Breaks (or repairs) a pod's fw forwarding: its agent's own check must withdraw the pod.

    A repair counts once the pod is back for good: in ECMP, with a healthy record from a check run
    after the repair. If a check ran while the fw was broken, its record says unhealthy: the agent
    rejoins on its own check first, withdraws again at its next reads of the record and rejoins after
    the check's rise (a flap); `first_back_s` is the first return."""
    ns = names(spec, key)["fw"]
    wall = time.time()
    out = _fault(spec, key, on, timeout, "sysctl", "-q", "-w", f"net.ipv4.ip_forward={int(on)}", ns=ns)
    if on:
        hops = pod_hops(spec["pods"][key])
        t0 = out["since"]
        wait_for(
            f"{key} back in ECMP with a healthy record checked after the repair",
            lambda: _checked_since(health_record(spec, key), wall) and hops <= tgw_next_hops(),
            max(1.0, timeout - (time.monotonic() - t0)),
            interval=0.5,
        )
        out = {"seconds": time.monotonic() - t0, "since": t0, "first_back_s": out["seconds"]}
    return out


# A dead instance: nothing in or out, before anything else sees the packet.
DEAD = (
    "add table ip dead; add chain ip dead pre { type filter hook prerouting priority -500; policy drop; }; "
    "add chain ip dead out { type filter hook output priority -500; policy drop; }"
)


def vpn_dead(spec: dict[str, Any], key: str, dead: bool, timeout: float) -> dict[str, float]:
    """Kills (or revives) a pod's vpn: no packet in or out, so no BGP withdrawal is ever sent and only
    the TGW's hold timer (30 s) can take the pod out; revived, IKE (DPD) and BGP must recover."""
    ns = names(spec, key)["vpn"]
    if dead:
        return _fault(spec, key, False, timeout, "nft", DEAD, ns=ns)
    return _fault(spec, key, True, timeout, "nft", "delete", "table", "ip", "dead", ns=ns)


def main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "relay-out":
        relay_out()
        return 0
    if cmd == "relay-in":
        relay_in()
        return 0
    if cmd == "down":
        down()
        return 0
    spec = json.loads(Path(argv[1]).read_text())
    if cmd == "up":
        print(json.dumps(up(spec)))
    elif cmd == "status":
        print(json.dumps(status(spec)))
    elif cmd == "connect":
        print(json.dumps(connect(spec, argv[2], argv[3], int(argv[4]), int(argv[5]), *map(float, argv[6:7]))))
    elif cmd == "observed":
        print(json.dumps(observed(spec)))
    elif cmd == "reset-observed":
        reset_observed(spec)
    elif cmd in ("break-fw", "repair-fw"):
        print(
            json.dumps(
                fw_forwarding(spec, argv[2], cmd == "repair-fw", float(argv[3]) if len(argv) > 3 else 120)
            )
        )
    elif cmd == "negotiated":
        print(json.dumps(negotiated()))
    elif cmd == "restrict":
        restrict(spec, argv[2], int(argv[3]), json.loads(argv[4]) if len(argv) > 4 else {})
    elif cmd == "reinitiate":
        print(json.dumps(reinitiate(spec, argv[2], int(argv[3]), float(argv[4]))))
    elif cmd == "rekey":
        print(json.dumps(rekey(spec, argv[2], int(argv[3]), float(argv[4]))))
    elif cmd in ("kill-vpn", "revive-vpn"):
        print(
            json.dumps(vpn_dead(spec, argv[2], cmd == "kill-vpn", float(argv[3]) if len(argv) > 3 else 120))
        )
    elif cmd == "gating":
        print(json.dumps(gating(spec)))
    elif cmd == "converge":
        print(json.dumps(converge(spec, float(argv[2]) if len(argv) > 2 else 600)))
    else:
        raise SystemExit(f"unknown command {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
