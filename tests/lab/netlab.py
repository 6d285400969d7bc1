"""A network-namespace model of the core: a "TGW" router, pods (vpn + fw), workloads, the internet.

Every pod runs the files its instances get from the rendered user_data (tests/appliance/podconfig):
the vpn runs microseg-net, microseg-qos, FRR with frr.conf and the health agent; the fw runs
microseg-net and the nftables ruleset. The kernel has no IPsec, so each tunnel is a veth carrying
the tunnel's inside /30 (named tgw1/tgw2 like the XFRM interfaces it stands for).

The TGW namespace emulates the two TGW route tables with policy routing: traffic from a workload
uses the main table, which holds only the pods' BGP default route (ECMP, L4 hash) and no workload
route, so workloads reach each other only through a pod; traffic from the pods (tunnels, core VPC)
uses table 20 ("core"), which has the workload CIDRs.

On the connect transport (tfvars `transport.type = "connect"`) the tunnels are GRE, so it runs only
on a kernel with GRE (the VM lab's, benchmarks/bench_lab.py): the vpn's device 0 sits on the core's
internal subnet at its `connect_address` and runs the rendered `microseg-tunnels` (one GRE tunnel per
Connect peer); the TGW namespace holds each peer's GRE address and speaks BGP from the peer's second
/29 host, and a `tgwb` namespace one routed hop behind it from the third host, as AWS's two BGP
addresses per peer (that hop is what the rendered `ebgp-multihop 2` is for).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from appliance import podconfig  # noqa: E402

AGENT = podconfig.REPO / "modules" / "pod" / "agent" / "health_agent.py"
AGENT_UNIT = "/etc/systemd/system/microseg-health-agent.service"
RECORD_POLL_SECONDS = 0.5  # the lab reads the health record often; the fw check keeps its rendered cadence
PREFIX = "msl-"  # every namespace of the lab; stale ones from an aborted run are removed first
STATE = Path("/run/microseg-lab")
INTERNET_SERVER = "203.0.113.10"
CORE_TABLE = 20
TGWB_LINK = ("10.255.255.1", "10.255.255.2")  # tgw <-> tgwb: the hop to the TGW's second BGP speaker


class LabError(AssertionError):
    pass


def sh(
    *argv: str, ns: str | None = None, check: bool = True, timeout: float = 60, input: str | None = None
) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, check=False)
    if check and r.returncode:
        raise LabError(f"{shlex.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def ns_name(*parts: str) -> str:
    return PREFIX + "-".join(parts)


@dataclass
class Pod:
    key: str
    data: dict[str, Any]  # template data
    files: dict[str, dict[str, str]]  # role -> path -> content
    vpn: str = ""
    fw: str = ""
    fn: str = ""  # the health-check Lambda's ENI in the bridge subnet
    health: Path = Path()
    agent: subprocess.Popen[bytes] | None = None
    checker: subprocess.Popen[bytes] | None = None

    @property
    def is_connect(self) -> bool:
        return bool(self.data["transport"] == "connect")

    @property
    def tunnels(self) -> list[dict[str, Any]]:
        """The vpn's tunnels to the TGW: IPsec tunnels (vpn) or Connect peers (connect), tgw1, tgw2, ..."""
        return list(self.data["connect"]["peers"] if self.is_connect else self.data["tunnels"])

    @property
    def tunnel_peers(self) -> list[str]:
        """Addresses of this pod's tunnel ends as the TGW sees them (BGP next hops)."""
        return [t["local_inside_ip"] for t in self.tunnels]

    @property
    def fn_ip(self) -> str:
        return podconfig.host(self.data["bridge"]["cidr"], 6)

    @property
    def internal_ip(self) -> str:
        return self.data["interfaces"]["fw"]["internal"]["ip"]

    @property
    def public_ip(self) -> str:
        return self.data["interfaces"]["fw"]["public"]["ip"]


@dataclass
class Workload:
    name: str
    cidr: str
    ip: str
    gateway: str
    ns: str


@dataclass
class Lab:
    tfvars: dict[str, Any]
    workdir: Path
    pods: dict[str, Pod] = field(default_factory=dict)
    workloads: dict[str, Workload] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # {pod: {"vpn": user_data, "fw": user_data}} rendered beforehand (where this runs has no tofu: the VM)
    rendered: dict[str, dict[str, str]] | None = None
    initial_health: bool = True  # the health record each pod's agent finds when it starts
    tgw: str = ns_name("tgw")
    tgwb: str = ns_name("tgwb")
    inet: str = ns_name("inet")
    _sysctl_restore: dict[str, str] = field(default_factory=dict)
    _nveth: int = 0

    # --- building ------------------------------------------------------------------------------
    @property
    def is_connect(self) -> bool:
        return bool(podconfig.transport(self.tfvars)["type"] == "connect")

    def namespaces(self) -> list[str]:
        out = [self.tgw, self.inet, *(w.ns for w in self.workloads.values())]
        out += [self.tgwb] if self.is_connect else []
        for p in self.pods.values():
            out += [p.vpn, p.fw, p.fn]
        return out

    def _add_ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        STATE.mkdir(parents=True, exist_ok=True)
        with (STATE / "namespaces").open("a") as f:
            f.write(name + "\n")

    def _veth(
        self,
        a_ns: str,
        a_name: str,
        b_ns: str,
        b_name: str,
        a_mac: str | None = None,
        b_mac: str | None = None,
    ) -> None:
        self._nveth += 1
        ta, tb = f"mslA{self._nveth}", f"mslB{self._nveth}"
        cmd = ["ip", "link", "add", ta]
        if a_mac:
            cmd += ["address", a_mac]
        cmd += ["type", "veth", "peer", "name", tb]
        if b_mac:
            cmd += ["address", b_mac]
        sh(*cmd)
        sh("ip", "link", "set", ta, "netns", a_ns)
        sh("ip", "link", "set", tb, "netns", b_ns)
        sh("ip", "link", "set", ta, "name", a_name, ns=a_ns)
        sh("ip", "link", "set", tb, "name", b_name, ns=b_ns)
        sh("ip", "link", "set", a_name, "up", ns=a_ns)
        sh("ip", "link", "set", b_name, "up", ns=b_ns)

    def _script(self, ns: str, content: str, name: str) -> str:
        path = self.workdir / f"{ns}-{name}"
        path.write_text(content)
        return sh("sh", str(path), ns=ns)

    def build(self) -> None:
        cleanup_stale()
        self.workdir.mkdir(parents=True, exist_ok=True)
        rendered = self.rendered or podconfig.render(self.tfvars, self.workdir / "render")
        for key in sorted(self.tfvars["pods"]):
            idx = self.tfvars["pods"][key]["index"]
            self.pods[key] = Pod(
                key,
                podconfig.template_data(self.tfvars, key),
                {role: podconfig.files(rendered[key][role]) for role in ("vpn", "fw")},
                vpn=ns_name(f"p{idx}", "vpn"),
                fw=ns_name(f"p{idx}", "fw"),
                fn=ns_name(f"p{idx}", "fn"),
            )
        # Drop logs from non-initial namespaces reach the kernel log only with this switch.
        self._set_sysctl("net.netfilter.nf_log_all_netns", "1")
        if self.is_connect:
            sh("modprobe", "ip_gre")  # `ip tunnel add` in a namespace needs the module loaded
        self._build_tgw_and_internet()
        if self.is_connect:
            self._build_tgwb()
        for pod in self.pods.values():
            self._build_pod(pod)
        self._start_tgw_bgp()
        if self.is_connect:
            self._start_tgw_bgp(second=True)
        for pod in self.pods.values():
            self._start_pod_bgp(pod)

    def _set_sysctl(self, key: str, value: str) -> None:
        path = Path("/proc/sys") / key.replace(".", "/")
        self._sysctl_restore.setdefault(key, path.read_text().strip())
        path.write_text(value)

    def _build_tgw_and_internet(self) -> None:
        self._add_ns(self.tgw)
        self._add_ns(self.inet)
        # ECMP on the L4 5-tuple, like the TGW. Policy 3 (custom fields: addresses, protocol, ports)
        # rather than 1: with 1 the kernel reuses a hash a local socket already put on the packet
        # (random per socket, re-drawn on TCP retransmits), which veths carry into this namespace.
        for k, v in (
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.fib_multipath_hash_policy", "3"),
            ("net.ipv4.fib_multipath_hash_fields", "0x0037"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
        ):
            sh("sysctl", "-q", "-w", f"{k}={v}", ns=self.tgw)
        # The TGW's hash is not the pods' (AWS's is its own): a seed of its own (kernel >= 6.11). Else the
        # kernel's one random seed and its symmetric flow hash would correlate the TGW's choice of a pod
        # with the vpn's choice of the reply tunnel (pod 1 of 3 would only ever reply on tunnel 1).
        if Path("/proc/sys/net/ipv4/fib_multipath_hash_seed").exists():
            sh("sysctl", "-q", "-w", "net.ipv4.fib_multipath_hash_seed=1297305927", ns=self.tgw)
        # The core VPC's internal subnets (fw internal ENIs) and public subnets (fw public ENIs):
        # one bridge each, holding the VPC router addresses (cidrhost(subnet, 1)) of every AZ.
        sh("ip", "link", "add", "core-int", "type", "bridge", ns=self.tgw)
        sh("ip", "link", "add", "pub", "type", "bridge", ns=self.inet)
        for sub in self.tfvars["core"]["subnets"].values():
            net = ipaddress.ip_network(sub["internal"])
            sh(
                "ip",
                "addr",
                "add",
                f"{podconfig.host(sub['internal'], 1)}/{net.prefixlen}",
                "dev",
                "core-int",
                ns=self.tgw,
            )
            net = ipaddress.ip_network(sub["public"])
            sh(
                "ip",
                "addr",
                "add",
                f"{podconfig.host(sub['public'], 1)}/{net.prefixlen}",
                "dev",
                "pub",
                ns=self.inet,
            )
        sh("ip", "link", "set", "core-int", "up", ns=self.tgw)
        sh("ip", "link", "set", "pub", "up", ns=self.inet)
        sh("ip", "addr", "add", f"{INTERNET_SERVER}/32", "dev", "lo", ns=self.inet)
        sh("ip", "rule", "add", "iif", "core-int", "lookup", str(CORE_TABLE), "priority", "100", ns=self.tgw)
        for name, w in sorted(self.tfvars["workloads"].items()):
            subnet = w["subnets"][self.tfvars["azs"][0]]["workload"]
            ns = ns_name("w", name)
            wl = Workload(name, w["cidr"], podconfig.host(subnet, 10), podconfig.host(subnet, 1), ns)
            self.workloads[name] = wl
            self._add_ns(ns)
            dev = f"w-{name}"[:15]
            self._veth(self.tgw, dev, ns, "eth0")
            # A /32 on the TGW side: no connected workload route in the main ("workloads") table.
            sh("ip", "addr", "add", f"{wl.gateway}/32", "dev", dev, ns=self.tgw)
            sh("ip", "route", "add", w["cidr"], "dev", dev, "table", str(CORE_TABLE), ns=self.tgw)
            sh("ip", "addr", "add", f"{wl.ip}/{ipaddress.ip_network(subnet).prefixlen}", "dev", "eth0", ns=ns)
            sh("ip", "route", "add", "default", "via", wl.gateway, ns=ns)

    def _build_pod(self, pod: Pod) -> None:
        d = pod.data
        self._add_ns(pod.vpn)
        self._add_ns(pod.fw)
        self._add_ns(pod.fn)
        idx = d["pod_index"]
        for t in [] if pod.is_connect else d["tunnels"]:
            dev = f"p{idx}t{t['number']}"
            self._veth(self.tgw, dev, pod.vpn, f"tgw{t['number']}")
            sh(
                "ip",
                "addr",
                "add",
                f"{t['peer_inside_ip']}/{t['inside_prefix_length']}",
                "dev",
                dev,
                ns=self.tgw,
            )
            sh(
                "ip",
                "addr",
                "add",
                f"{t['local_inside_ip']}/{t['inside_prefix_length']}",
                "dev",
                f"tgw{t['number']}",
                ns=pod.vpn,
            )
            sh("ip", "rule", "add", "iif", dev, "lookup", str(CORE_TABLE), "priority", "100", ns=self.tgw)
        nics = d["interfaces"]
        # The bridge subnet: vpn, fw and the health-check Lambda's ENI on one L2 segment (a bridge in the
        # TGW namespace, no address on it). The NICs carry the ENI MACs, so the rendered microseg-net
        # finds and names them as on EC2.
        br = f"p{idx}br"
        sh("ip", "link", "add", br, "type", "bridge", ns=self.tgw)
        sh("ip", "link", "set", br, "up", ns=self.tgw)
        for ns, dev, peer, nic_mac in (
            (pod.vpn, "eth1", f"p{idx}bv", nics["vpn"]["bridge"]["mac"]),
            (pod.fw, "eth1", f"p{idx}bf", nics["fw"]["bridge"]["mac"]),
            (pod.fn, "eth0", f"p{idx}bl", None),
        ):
            self._veth(ns, dev, self.tgw, peer, nic_mac)
            sh("ip", "link", "set", peer, "master", br, ns=self.tgw)
        # The Lambda ENI: cidrhost(bridge, 6), default route = the bridge route table's 0.0.0.0/0 -> fw.
        plen = d["bridge"]["prefix_length"]
        sh("ip", "addr", "add", f"{pod.fn_ip}/{plen}", "dev", "eth0", ns=pod.fn)
        sh("ip", "route", "add", "default", "via", d["bridge"]["fw_ip"], ns=pod.fn)
        self._veth(pod.fw, "eth2", self.tgw, f"p{idx}int", nics["fw"]["internal"]["mac"])
        sh("ip", "link", "set", f"p{idx}int", "master", "core-int", ns=self.tgw)
        self._veth(pod.fw, "eth3", self.inet, f"p{idx}pub", nics["fw"]["public"]["mac"])
        sh("ip", "link", "set", f"p{idx}pub", "master", "pub", ns=self.inet)
        self._script(pod.vpn, pod.files["vpn"]["/usr/local/sbin/microseg-net"], "microseg-net")
        if pod.is_connect:
            self._build_connect(pod)
        self._script(pod.fw, pod.files["fw"]["/usr/local/sbin/microseg-net"], "microseg-net")
        sh("nft", "-f", "-", ns=pod.fw, input=pod.files["fw"]["/etc/nftables.conf"])
        self._script(pod.vpn, pod.files["vpn"]["/usr/local/sbin/microseg-qos"], "microseg-qos")
        # Observation only (not part of the pod): which flows entered from / left to the TGW here.
        sh("nft", "-f", "-", ns=pod.vpn, input=OBSERVE_NFT)

    def _build_tgwb(self) -> None:
        self._add_ns(self.tgwb)
        for ns in (self.tgw, self.tgwb):
            sh(
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
                ns=ns,
            )
        a, b = TGWB_LINK
        self._veth(self.tgw, "tgwb", self.tgwb, "tgwa")
        sh("ip", "addr", "add", f"{a}/30", "dev", "tgwb", ns=self.tgw)
        sh("ip", "addr", "add", f"{b}/30", "dev", "tgwa", ns=self.tgwb)

    def _build_connect(self, pod: Pod) -> None:
        """The vpn's device 0 on the AZ's internal subnet (DHCP on AWS: its connect_address and the
        subnet's router as default route), its rendered GRE tunnels, and the TGW's side of each: the
        peer's GRE address, a GRE tunnel back, the /29's second host here and its third in tgwb."""
        d, idx = pod.data, pod.data["pod_index"]
        nic = d["interfaces"]["vpn"]["internal"]
        self._veth(pod.vpn, "eth0", self.tgw, f"p{idx}vi", nic["mac"])
        sh("ip", "link", "set", f"p{idx}vi", "master", "core-int", ns=self.tgw)
        sh("ip", "addr", "add", f"{nic['ip']}/{nic['prefix_length']}", "dev", "eth0", ns=pod.vpn)
        sh("ip", "route", "add", "default", "via", podconfig.host(nic["cidr"], 1), ns=pod.vpn)
        self._script(pod.vpn, pod.files["vpn"]["/usr/local/sbin/microseg-tunnels"], "microseg-tunnels")
        for t in pod.tunnels:
            dev = f"p{idx}t{t['number']}"
            second, third = t["peer_inside_ips"]
            sh("ip", "addr", "add", f"{t['outside_ip']}/32", "dev", "lo", ns=self.tgw)
            remote = d["connect"]["address"]
            sh(
                "ip",
                "tunnel",
                "add",
                dev,
                "mode",
                "gre",
                "local",
                t["outside_ip"],
                "remote",
                remote,
                ns=self.tgw,
            )
            sh("ip", "addr", "add", f"{second}/{t['inside_prefix_length']}", "dev", dev, ns=self.tgw)
            sh("ip", "link", "set", dev, "up", ns=self.tgw)
            sh("sysctl", "-q", "-w", f"net.ipv4.conf.{dev}.rp_filter=0", ns=self.tgw)
            sh("ip", "rule", "add", "iif", dev, "lookup", str(CORE_TABLE), "priority", "100", ns=self.tgw)
            sh("ip", "route", "add", f"{third}/32", "via", TGWB_LINK[1], ns=self.tgw)
            sh("ip", "addr", "add", f"{third}/32", "dev", "lo", ns=self.tgwb)
            sh("ip", "route", "add", t["inside_cidr"], "via", TGWB_LINK[0], ns=self.tgwb)

    # --- FRR -----------------------------------------------------------------------------------
    def _start_frr(self, ns: str, conf: str) -> None:
        rundir = Path("/var/run/frr") / ns
        rundir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "frr:frr", str(rundir)], check=True)
        for daemon in ("zebra", "bgpd"):
            sh(f"/usr/lib/frr/{daemon}", "-d", "-N", ns, "-i", str(rundir / f"{daemon}.pid"), ns=ns)
        for _ in range(50):
            if (rundir / "bgpd.vty").exists():
                break
            time.sleep(0.1)
        path = self.workdir / f"{ns}-frr.conf"
        path.write_text(conf)
        out = sh("vtysh", "-N", ns, "-f", str(path), ns=ns)
        if "% " in out:
            raise LabError(f"{ns}: vtysh -f frr.conf: {out}")

    def _start_tgw_bgp(self, second: bool = False) -> None:
        """The TGW's BGP (hold 30 s, as AWS). Connect: `second` is the speaker of each peer's third
        /29 host (in tgwb), the other one speaks from the second host."""
        asn = self.tfvars["asn"]
        lines = [
            "frr defaults traditional",
            f"hostname {'tgwb' if second else 'tgw'}",
            f"router bgp {asn['transit_gateway']}",
            f" bgp router-id 169.254.0.{2 if second else 1}",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
            " timers bgp 10 30",
        ]
        for pod in self.pods.values():
            for t in pod.tunnels:
                peer = t["local_inside_ip"]
                lines += [
                    f" neighbor {peer} remote-as {asn['pods']}",
                    f" neighbor {peer} timers 10 30",
                    f" neighbor {peer} timers connect 1",
                ]
                if pod.is_connect:
                    lines.append(f" neighbor {peer} update-source {t['peer_inside_ips'][1 if second else 0]}")
                if second:
                    lines.append(f" neighbor {peer} ebgp-multihop 2")
        lines += [" address-family ipv4 unicast", "  maximum-paths 64"]
        # The core route table's propagated workload CIDRs, advertised to the pods as AWS does.
        lines += [f"  network {w['cidr']}" for w in self.tfvars["workloads"].values()]
        lines += [" exit-address-family", "exit"]
        self._start_frr(self.tgwb if second else self.tgw, "\n".join(lines) + "\n")

    def agent_argv(self, pod: Pod) -> list[str]:
        """The agent's command line from the rendered unit and pod.env (so the lab runs the rendered
        local-check cadence), with the lab's record source, record poll and vtysh."""
        unit = pod.files["vpn"][AGENT_UNIT]
        (line,) = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
        env = dict(
            ln.split("=", 1) for ln in pod.files["vpn"]["/etc/microseg/pod.env"].splitlines() if "=" in ln
        )
        argv = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a) for a in shlex.split(line[10:])]
        assert argv[:2] == ["/usr/bin/python3", "/usr/local/lib/microseg/health_agent.py"], argv
        args = argv[2:]
        for opt in ("--source", "--region", "--interval"):  # replaced below
            i = args.index(opt)
            del args[i : i + 2]
        return [
            sys.executable,
            str(AGENT),
            *args,
            "--source",
            f"file:{pod.health}",
            "--interval",
            str(RECORD_POLL_SECONDS),
            "--vtysh",
            f"vtysh -N {pod.vpn}",
        ]

    def _start_pod_bgp(self, pod: Pod) -> None:
        self._start_frr(pod.vpn, pod.files["vpn"]["/etc/frr/frr.conf"])
        pod.health = self.workdir / f"{pod.key}.health.json"
        self.set_health(pod.key, self.initial_health)
        self.start_agent(pod.key)

    def start_agent(self, pod: str) -> None:
        p = self.pods[pod]
        # In the vpn's namespace: the local check pings the fw and probes through it from there.
        p.agent = subprocess.Popen(
            ["ip", "netns", "exec", p.vpn, *self.agent_argv(p)],
            stdout=(self.workdir / f"{p.key}.agent.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.procs.append(p.agent)

    def stop_agent(self, pod: str) -> None:
        agent = self.pods[pod].agent
        assert agent is not None
        agent.terminate()
        agent.wait(timeout=10)

    def restart_frr(self, pod: str) -> None:
        """Stop the vpn's FRR and start it again from the rendered frr.conf, as a reboot or a crash
        of frr.service would (the agent's `network` statement is not in the saved file)."""
        p = self.pods[pod]
        rundir = Path("/var/run/frr") / p.vpn
        pids = [int(f.read_text().strip()) for f in rundir.glob("*.pid")]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.wait_for(
            f"{pod}: FRR stopped", lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 10
        )
        for f in rundir.iterdir():
            f.unlink()
        self._start_frr(p.vpn, p.files["vpn"]["/etc/frr/frr.conf"])

    def bgp_established(self, peers: list[str]) -> bool:
        """The TGW side's BGP sessions with these peers are up."""
        summary = json.loads(
            sh("vtysh", "-N", self.tgw, "-c", "show bgp ipv4 unicast summary json", ns=self.tgw)
        )
        states = {k: v.get("state") for k, v in summary.get("peers", {}).items()}
        return all(states.get(p) == "Established" for p in peers)

    # --- the health-check Lambda, run for real in each pod's bridge subnet ----------------------
    def start_health_checks(self, interval: float = 1.0, **env: str) -> None:
        """Run modules/pod-health's check code in each pod's `fn` namespace every `interval` s, writing
        the pod's record (the file the agent reads) and its metrics (a JSON-lines file)."""
        for pod in self.pods.values():
            targets = {t: {"host": w.ip, "port": 443} for t, w in sorted(self.workloads.items())}
            cfg = {
                "POD": pod.key,
                "HEALTH_PARAMETER": str(pod.health),
                "INTERNET_URL": f"https://{INTERNET_SERVER}/",
                "EXPECTED_PUBLIC_IP": pod.public_ip,  # no IGW in the lab: the fw's public ENI address
                "WORKLOAD_PROBES": json.dumps(targets),
                # An address the fw must drop from the bridge subnet, answered if it were let through.
                "DENIED_PROBE": json.dumps({"host": self.workloads["payments"].ip, "port": 22}),
                "TIMEOUT_SECONDS": "0.5",
                **env,
            }
            pod.checker = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    pod.fn,
                    sys.executable,
                    str(HERE / "health_runner.py"),
                    json.dumps(cfg),
                    str(self.metrics_file(pod.key)),
                    str(interval),
                ],
                stdout=(self.workdir / f"{pod.key}.checks.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
            self.procs.append(pod.checker)

    def stop_health_checks(self) -> None:
        for pod in self.pods.values():
            if pod.checker is not None:
                pod.checker.terminate()
                pod.checker.wait(timeout=10)
                pod.checker = None

    def metrics_file(self, pod: str) -> Path:
        return self.workdir / f"{pod}.metrics.jsonl"

    def metrics(self, pod: str) -> list[dict[str, Any]]:
        path = self.metrics_file(pod)
        return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []

    def record(self, pod: str) -> dict[str, Any]:
        return dict(json.loads(self.pods[pod].health.read_text()))

    def wait_converged(self, pods: int, timeout: float = 60) -> float:
        """Until `pods` pods are in the TGW's ECMP set and every vpn has the routes back to the workloads."""

        def ok() -> bool:
            if len(self.pods_in_ecmp()) != pods:
                return False
            for p in self.pods.values():
                routes = sh("ip", "route", "show", "proto", "bgp", ns=p.vpn)
                if not all(w.cidr in routes for w in self.workloads.values()):
                    return False
            return True

        took = self.wait_for(f"{pods} pods in ECMP", ok, timeout)
        time.sleep(1.0)  # let the FIB settle: a next-hop set changing mid-handshake re-hashes the flow
        return took

    def set_health(self, pod: str, healthy: bool) -> None:
        p = self.pods[pod]
        doc = {"status": "healthy"} if healthy else {"status": "unhealthy", "reason": "lab: marked unhealthy"}
        tmp = p.health.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.rename(p.health)

    # --- observing -----------------------------------------------------------------------------
    def default_nexthops(self) -> set[str]:
        """Next hops of the TGW's ECMP default route (pod tunnel addresses)."""
        routes = json.loads(sh("ip", "-j", "route", "show", "0.0.0.0/0", ns=self.tgw) or "[]")
        hops: set[str] = set()
        for r in routes:
            if "gateway" in r:
                hops.add(r["gateway"])
            for nh in r.get("nexthops", []):
                hops.add(nh["gateway"])
        return hops

    def pods_in_ecmp(self) -> set[str]:
        hops = self.default_nexthops()
        return {k for k, p in self.pods.items() if set(p.tunnel_peers) <= hops}

    def wait_for(self, what: str, cond: Any, timeout: float, interval: float = 0.1) -> float:
        start = time.monotonic()
        while not cond():
            if time.monotonic() - start > timeout:
                raise LabError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)
        return time.monotonic() - start

    def serve(self, ns: str, addr: str, ports: list[int]) -> None:
        p = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                str(HERE / "probe.py"),
                "serve",
                addr,
                *map(str, ports),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        assert p.stdout is not None
        line = p.stdout.readline().decode()
        if "ready" not in line:
            raise LabError(f"probe server in {ns} failed: {line}")

    def connect(
        self, src: str, dst: str, port: int, n: int, timeout: float = 2.0, sports: list[int] | None = None
    ) -> list[dict[str, Any]]:
        extra = [",".join(map(str, sports))] if sports else []
        out = sh(
            sys.executable,
            str(HERE / "probe.py"),
            "connect",
            dst,
            str(port),
            str(n),
            str(timeout),
            *extra,
            ns=self.workloads[src].ns,
            timeout=n * timeout + 30,
        )
        return list(json.loads(out))

    def pod_by_address(self) -> dict[str, str]:
        out = {}
        for k, p in self.pods.items():
            out[p.internal_ip] = k
            out[p.public_ip] = k
        return out

    def observed(self, pod: str) -> dict[str, set[tuple[str, int]]]:
        """Flows (workload address, port) seen entering from the TGW ("in") and replies seen leaving to
        it ("out"; "tgw1"/"tgw2": on that tunnel)."""
        doc = json.loads(sh("nft", "-j", "list", "table", "ip", "observe", ns=self.pods[pod].vpn))
        names = {"flows_in": "in", "replies_out": "out", "replies_tgw1": "tgw1", "replies_tgw2": "tgw2"}
        out: dict[str, set[tuple[str, int]]] = {k: set() for k in names.values()}
        for item in doc["nftables"]:
            s = item.get("set")
            if s and s["name"] in names:
                for e in s.get("elem", []):
                    val = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
                    addr, port = val["concat"]
                    out[names[s["name"]]].add((addr, int(port)))
        return out

    def reset_observed(self) -> None:
        for p in self.pods.values():
            for name in ("flows_in", "replies_out", "replies_tgw1", "replies_tgw2"):
                sh("nft", "flush", "set", "ip", "observe", name, ns=p.vpn)

    def pin_flows(self, src: str, dst: str, ports: list[int]) -> dict[tuple[str, str], tuple[int, int]]:
        """For each (pod, reply tunnel), one (server port, client port) whose flow the TGW hashes onto
        that pod and whose replies the pod's vpn hashes onto that tunnel; each server port used once.

        Measured: the probe server answers with the SNAT address (the pod), the vpn's observe sets
        record the tunnel each SYN-ACK left on.
        """
        where, src_ip = self.pod_by_address(), self.workloads[src].ip
        wanted = {(p, t) for p in self.pods for t in ("tgw1", "tgw2")}
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.inet if dst == INTERNET_SERVER else self.workloads[dst].ns,
                sys.executable,
                str(HERE / "probe.py"),
                "serve",
                "0.0.0.0",
                *map(str, ports),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        found: dict[tuple[str, str], tuple[int, int]] = {}
        try:
            assert server.stdout is not None
            server.stdout.readline()
            for i, port in enumerate(ports):
                sports = list(range(21000 + 100 * i, 21064 + 100 * i))
                self.reset_observed()
                results = self.connect(src, dst, port, len(sports), sports=sports)
                seen = {k: self.observed(k) for k in self.pods}
                for r in results:
                    pod = where.get(str(r["peer"]))
                    if pod is None:
                        continue
                    tun = next((t for t in ("tgw1", "tgw2") if (src_ip, r["sport"]) in seen[pod][t]), None)
                    if tun and (pod, tun) in wanted - set(found):
                        found[(pod, tun)] = (port, int(r["sport"]))
                        break
            return found
        finally:
            server.kill()
            server.wait()

    def iperf(
        self, pinned: dict[tuple[str, str], tuple[int, int]], seconds: int, reverse: bool
    ) -> dict[str, float]:
        """Run one iperf3 per pinned flow at once; Mbit/s received per pod (sum of its flows)."""
        servers = [
            subprocess.Popen(
                ["ip", "netns", "exec", self.inet, "iperf3", "-s", "-p", str(port), "-1"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for port, _ in pinned.values()
        ]
        self.procs.extend(servers)
        time.sleep(0.5)
        procs = {}
        for key, (port, cport) in pinned.items():
            argv = ["iperf3", "-c", INTERNET_SERVER, "-p", str(port), "--cport", str(cport)]
            argv += ["-t", str(seconds), "-O", "1", "-J", *(["-R"] if reverse else [])]
            procs[key] = subprocess.Popen(
                ["ip", "netns", "exec", self.workloads["orders"].ns, *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        out: dict[str, float] = {}
        for (pod, tunnel), p in procs.items():
            stdout, stderr = p.communicate(timeout=seconds + 30)
            doc = json.loads(stdout)
            assert "error" not in doc, f"{pod} {tunnel}: iperf3: {doc.get('error')} {stderr}"
            out[pod] = out.get(pod, 0.0) + doc["end"]["sum_received"]["bits_per_second"] / 1e6
        for srv in servers:
            srv.wait(timeout=10)
        return out

    def tunnel_tx_bytes(self, pod: str) -> dict[str, int]:
        links = json.loads(sh("ip", "-j", "-s", "link", "show", ns=self.pods[pod].vpn))
        return {
            ln["ifname"]: int(ln["stats64"]["tx"]["bytes"])
            for ln in links
            if ln["ifname"] in ("tgw1", "tgw2")
        }

    def qos_class(self, workload: str) -> str:
        """The workload's HTB class on the vpn (microseg-qos numbers them 0x10 + sorted index)."""
        return f"1:{sorted(self.tfvars['workloads']).index(workload) + 16:x}"

    def tc_class_bytes(self, pod: str, dev: str = "bridge") -> dict[str, int]:
        # Text, not -j: this iproute2 prints no JSON for htb class stats.
        text = sh("tc", "-s", "class", "show", "dev", dev, ns=self.pods[pod].vpn)
        return {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"^class htb (\S+) .*?\n\s*Sent (\d+) bytes", text, re.M | re.S)
        }

    # --- teardown ------------------------------------------------------------------------------
    def close(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        cleanup_stale()
        for k, v in self._sysctl_restore.items():
            (Path("/proc/sys") / k.replace(".", "/")).write_text(v)


OBSERVE_NFT = """\
table ip observe {
  set flows_in { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set replies_out { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set replies_tgw1 { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set replies_tgw2 { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  chain seen {
    type filter hook forward priority 10; policy accept;
    iifname "tgw*" tcp flags & (syn | ack) == syn add @flows_in { ip saddr . tcp sport }
    oifname "tgw*" tcp flags & (syn | ack) == syn | ack add @replies_out { ip daddr . tcp dport }
    oifname "tgw1" tcp flags & (syn | ack) == syn | ack add @replies_tgw1 { ip daddr . tcp dport }
    oifname "tgw2" tcp flags & (syn | ack) == syn | ack add @replies_tgw2 { ip daddr . tcp dport }
  }
}
"""


def cleanup_stale() -> None:
    """Stop the FRR daemons and delete the namespaces of this (or an aborted earlier) lab run."""
    names: list[str] = []
    if (STATE / "namespaces").exists():
        names = [n for n in (STATE / "namespaces").read_text().split() if n.startswith(PREFIX)]
    names += [n.split()[0] for n in sh("ip", "netns", "list").splitlines() if n.startswith(PREFIX)]
    for name in dict.fromkeys(names):
        rundir = Path("/var/run/frr") / name
        for pidfile in rundir.glob("*.pid") if rundir.exists() else []:
            with contextlib.suppress(ValueError, ProcessLookupError, OSError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        # Anything else still running inside (probes, iperf3) is stopped by its pid.
        pids = sh("ip", "netns", "pids", name, check=False).split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", name, check=False)
        if rundir.exists():
            for f in rundir.iterdir():
                f.unlink()
            rundir.rmdir()
    if (STATE / "namespaces").exists():
        (STATE / "namespaces").unlink()


def main(argv: list[str]) -> int:
    """For a guest of the VM lab (tests/vmlab/test_connect.py): `up JOB` builds the lab of JOB (JSON:
    tfvars, rendered configs, the pods' initial health) and leaves it running, printing where its
    parts are; `down` stops and removes it."""
    if argv[0] == "down":
        cleanup_stale()
        # The lab set it for its fw namespaces' drop logs; the guest goes on with other work.
        Path("/proc/sys/net/netfilter/nf_log_all_netns").write_text("0\n")
        return 0
    job = json.loads(Path(argv[1]).read_text())
    work = Path(tempfile.mkdtemp(prefix="microseg-lab-"))
    lab = Lab(job["tfvars"], work, rendered=job["rendered"], initial_health=job.get("healthy", True))
    lab.build()
    pods = {
        k: {"vpn": p.vpn, "fw": p.fw, "health": str(p.health), "index": p.data["pod_index"]}
        for k, p in lab.pods.items()
    }
    print(json.dumps({"tgw": lab.tgw, "tgwb": lab.tgwb, "pods": pods}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
