"""VM lab: the fw's audit trail, from a packet through the booted fw to moto's CloudWatch Logs.

examples/pod is applied on moto; the fw boots its user_data (read back from the state) in a QEMU VM
on the stock Debian kernel, as in test_pod_boot.py. A second VM from the same image plays the fw's
neighbours, each in its own network namespace on the segment of one fw ENI: the vpn (the bridge
subnet's .5, handing over traffic of a workload of `orders`), the VPC router of the internal subnet
with a `payments` host behind it, and the public subnet's router with an internet host behind it.
Both servers record the source address they see, i.e. the SNAT address the fw used.

The fw's microseg-audit ships to the pod's log group through the emulated `logs` endpoint (TLS,
real hostname, tests/vmlab/endpoints.py); the records are read back from moto.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import endpoints
import pytest
from tfharness import free_port
from vm import VM, Image, Nic, accel, primary_network_config, seed_iso

pytestmark = pytest.mark.vmlab
POD = 'module.pod["pod-01"]'
AWS_API = "10.0.2.100"
FW_ENIS = ["fw-management", "fw-bridge", "fw-internal", "fw-public"]
STREAM = "fw/audit"
# examples/pod's flows: f001 orders -> payments tcp/443 (CHG-1234), f002 orders -> internet tcp/443
# (CHG-1235). Hosts in the workloads' CIDRs and a documentation address for the internet.
ORDERS = "10.65.0.10"
PAYMENTS = "10.64.0.10"
INTERNET = "198.51.100.10"
SILENT = "198.51.100.11"  # routed to the internet stand-in, which does not answer for it
# The neighbours' NICs (bridge, internal, public): locally administered MACs.
NEIGHBOUR_MACS = {
    "bridge": "52:54:00:a0:00:01",
    "internal": "52:54:00:a0:00:02",
    "public": "52:54:00:a0:00:03",
}

# A TCP server that writes each client's address to a file: what the destination sees.
SERVER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind((sys.argv[1], 443)); s.listen(64)\n"
    "while True:\n"
    "    c, a = s.accept()\n"
    "    open(sys.argv[2], 'a').write('%s %d\\n' % a); c.close()\n"
)
# Connects from ORDERS:sport; prints 'ok' or the error.
CLIENT = (
    "import socket,sys\n"
    "s=socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(float(sys.argv[5]))\n"
    "try:\n"
    "    s.connect((sys.argv[3], int(sys.argv[4]))); print('ok')\n"
    "except OSError as e:\n"
    "    print('failed', e)\n"
)
# Sends N UDP datagrams, ~1000/s at most (20x the fw's drop-log budget; a faster burst only loses
# frames on the emulated segment before the fw sees them); prints the seconds it took.
FLOOD = (
    "import socket,sys,time\n"
    "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); t=time.monotonic()\n"
    "for i in range(int(sys.argv[4])):\n"
    "    s.sendto(b'x', (sys.argv[2], int(sys.argv[3])))\n"
    "    if i % 10 == 9: time.sleep(0.01)\n"
    "print(time.monotonic()-t)\n"
)


@pytest.fixture(scope="module")
def applied(pod_example) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """examples/pod applied on moto (tests/vmlab/conftest.py): the fw's user_data, ENI MACs and the
    module's template data."""
    applied = pod_example()
    res = applied["resources"]
    return {
        **applied,
        "user_data": base64.b64decode(res[f'{POD}.aws_instance.this["fw"]']["user_data_base64"]),
        "macs": [res[f'{POD}.aws_network_interface.this["{k}"]']["mac_address"] for k in FW_ENIS],
        "data": applied["output"]["template_data"]["pod-01"],
    }


def _neighbours_script(d: dict[str, Any]) -> str:
    """The fw's neighbours, one network namespace per fw ENI segment (addresses from the module)."""
    fw = d["interfaces"]["fw"]
    lines = [
        "set -ex",
        'by_mac() { for n in /sys/class/net/*; do [ "$(cat $n/address)" != "$1" ] || basename $n; done; }',
    ]

    def ns(name: str, mac: str, cidr_ip: str, prefix: int, host: str) -> None:
        lines.extend(
            [
                f"ip netns add {name}",
                f"dev=$(by_mac {mac}); ip link set $dev netns {name}",
                f"ip -n {name} link set $dev name seg",
                f"ip -n {name} addr add {cidr_ip}/{prefix} dev seg",
                f"ip -n {name} addr add {host}/32 dev lo",
                f"ip -n {name} link set lo up",
                f"ip -n {name} link set seg up",
            ]
        )

    # The vpn's bridge address, with a workload of `orders` behind it; its traffic goes to the fw.
    ns("vpn", NEIGHBOUR_MACS["bridge"], d["bridge"]["vpn_ip"], d["bridge"]["prefix_length"], ORDERS)
    lines.append(f"ip -n vpn route add default via {d['bridge']['fw_ip']} dev seg")
    # The internal subnet's VPC router (the TGW behind it) with a `payments` host.
    ns(
        "tgw",
        NEIGHBOUR_MACS["internal"],
        fw["internal"]["gateway"],
        fw["internal"]["prefix_length"],
        PAYMENTS,
    )
    # The public subnet's router (the IGW) with an internet host.
    ns("inet", NEIGHBOUR_MACS["public"], fw["public"]["gateway"], fw["public"]["prefix_length"], INTERNET)
    lines += [
        "mkdir -p /lab",
        f"printf %s {base64.b64encode(SERVER.encode()).decode()} | base64 -d > /lab/server.py",
        f"printf %s {base64.b64encode(CLIENT.encode()).decode()} | base64 -d > /lab/client.py",
        f"printf %s {base64.b64encode(FLOOD.encode()).decode()} | base64 -d > /lab/flood.py",
        f"systemd-run --unit=lab-tgw ip netns exec tgw python3 /lab/server.py {PAYMENTS} /lab/tgw.seen",
        f"systemd-run --unit=lab-inet ip netns exec inet python3 /lab/server.py {INTERNET} /lab/inet.seen",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(applied, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The booted fw and its neighbours; yields {fw, net, data, logs}."""
    image = Image.current()
    work = tmp_path_factory.mktemp("vmlab-audit-boot")
    eps = endpoints.start(work / "endpoints", applied["region"], applied["port"], free_port(), AWS_API)
    mode = accel(image, work)
    segment = {sub: free_port() for sub in ("bridge", "internal", "public")}
    fw_nics = [Nic(applied["macs"][0], user=True, guestfwd=((f"{AWS_API}:443", eps.tls_port),))]
    fw_nics += [
        Nic(mac, segment=segment[k.split("-", 1)[1]])
        for k, mac in zip(FW_ENIS[1:], applied["macs"][1:], strict=True)
    ]
    fw = VM(
        "audit-fw",
        image,
        work,
        accel=mode,
        nics=fw_nics,
        seed=seed_iso(
            work / "fw-seed.iso",
            "i-lab-audit-fw",
            applied["user_data"],
            eps.vendor_data(),
            primary_network_config(applied["macs"][0]),
        ),
    )
    net_primary = "52:54:00:a0:00:00"
    net = VM(
        "audit-net",
        image,
        work,
        accel=mode,
        memory_mb=512,
        nics=[Nic(net_primary, user=True)] + [Nic(NEIGHBOUR_MACS[s], segment=segment[s]) for s in segment],
        seed=seed_iso(
            work / "net-seed.iso",
            "i-lab-audit-net",
            b"#cloud-config\nlocale: C.UTF-8\n",
            None,
            primary_network_config(net_primary),
        ),
    )
    logs = boto3.client(
        "logs",
        endpoint_url=applied["endpoint"],
        region_name=applied["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        for vm in (fw, net):
            vm.start()
        for vm in (fw, net):
            vm.wait_agent(timeout=1200)
        fw.sh("cloud-init status --wait >/dev/null || true", timeout=900)
        net.sh("cloud-init status --wait >/dev/null || true", timeout=900)
        net.sh(_neighbours_script(applied["data"]), timeout=120)
        fw.sh("systemctl is-system-running --wait >/dev/null || true", timeout=600)
        yield {"fw": fw, "net": net, "data": applied["data"], "logs": logs}
    finally:
        for vm in (fw, net):
            vm.stop()
        eps.stop()


def _connect(net: VM, sport: int, dst: str, dport: int, timeout: float = 5) -> str:
    return net.sh(
        f"ip netns exec vpn python3 /lab/client.py {ORDERS} {sport} {dst} {dport} {timeout}", timeout=60
    ).stdout.strip()


def _records(logs: Any, group: str) -> list[dict[str, Any]]:
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=STREAM, startFromHead=True)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(e["message"]) for e in events]


def _wait_records(lab: dict[str, Any], want, timeout: float = 120) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Polls moto until `want(records)` holds; returns the records."""
    deadline = time.monotonic() + timeout
    while True:
        recs = _records(lab["logs"], lab["data"]["log_group"])
        if want(recs) or time.monotonic() > deadline:
            return recs
        time.sleep(3)


def _diagnose(fw: VM) -> str:
    return fw.sh(
        "systemctl status --no-pager microseg-audit | tail -20;"
        " journalctl -b --no-pager -k | grep microseg- | tail -20",
        check=False,
    ).stdout


def _by_sport(recs: list[dict[str, Any]], sport: int) -> list[dict[str, Any]]:
    return [r for r in recs if r.get("src") == ORDERS and r.get("sport") == sport]


def test_accepted_flows_and_drops_reach_cloudwatch_with_tuple_ticket_and_snat(lab) -> None:  # type: ignore[no-untyped-def]
    fw, net, d = lab["fw"], lab["net"], lab["data"]
    fw_ifs = d["interfaces"]["fw"]
    assert _connect(net, 40443, PAYMENTS, 443) == "ok", _diagnose(fw)
    assert _connect(net, 40444, INTERNET, 443) == "ok", _diagnose(fw)
    assert _connect(net, 40445, PAYMENTS, 8443, timeout=3).startswith("failed")  # no flow approves 8443
    # Approved, but nobody answers: the SYN is sent again and again, one flow all the same.
    assert _connect(net, 40446, SILENT, 443, timeout=4).startswith("failed")
    # What the destinations saw: the fw's SNAT address of each side, not the workload.
    seen = {s: net.sh(f"cat /lab/{s}.seen").stdout.split() for s in ("tgw", "inet")}
    assert seen["tgw"][0] == fw_ifs["internal"]["ip"] and seen["inet"][0] == fw_ifs["public"]["ip"], seen

    t0 = time.monotonic()
    recs = _wait_records(lab, lambda rs: all(_by_sport(rs, p) for p in (40443, 40444, 40445, 40446)))
    print(f"audit: records of 4 flows in moto {time.monotonic() - t0:.1f} s after the last one")
    east = _by_sport(recs, 40443)
    assert len(east) == 1, (east, _diagnose(fw))  # logged once per flow
    assert east[0] | {"time": None} == {
        "time": None,
        "action": "accept",
        "pod": "pod-01",
        "rule": "f001",
        "reference": "CHG-1234",
        "protocol": "tcp",
        "src": ORDERS,
        "sport": 40443,
        "dst": PAYMENTS,
        "dport": 443,
        "in": "bridge",
        "out": "internal",
        "snat": seen["tgw"][0],
    }
    north = _by_sport(recs, 40444)
    assert len(north) == 1, north
    assert (north[0]["rule"], north[0]["reference"], north[0]["dst"], north[0]["dport"]) == (
        "f002",
        "CHG-1235",
        INTERNET,
        443,
    )
    assert north[0]["snat"] == seen["inet"][0] and north[0]["snat_public_ip"] == d["fw_public_ip"], north
    silent = _by_sport(recs, 40446)
    assert [(r["action"], r["rule"]) for r in silent] == [("accept", "f002")], silent
    drops = _by_sport(recs, 40445)
    # The SYN and its retransmissions: each one dropped and logged, none translated.
    assert drops and all(
        (r["action"], r["rule"], r["dst"], r["dport"], r["snat"]) == ("drop", "forward", PAYMENTS, 8443, None)
        for r in drops
    ), drops


def _unlogged(fw: VM) -> int:
    out = json.loads(fw.sh("nft -j list counter inet microseg drops_unlogged").stdout)["nftables"]
    return int(next(o["counter"]["packets"] for o in out if "counter" in o))


def test_drop_flood_is_logged_within_the_budget_and_the_rest_counted(lab) -> None:  # type: ignore[no-untyped-def]
    fw, net = lab["fw"], lab["net"]
    n = 3000

    def rx() -> int:
        return int(fw.sh("cat /sys/class/net/bridge/statistics/rx_packets").stdout)

    unlogged_before, rx_before = _unlogged(fw), rx()
    took = float(
        net.sh(f"ip netns exec vpn python3 /lab/flood.py {ORDERS} {PAYMENTS} 9999 {n}", timeout=300).stdout
    )
    time.sleep(2)
    logged = int(
        fw.sh(
            "journalctl -k -b --no-pager | grep -c 'microseg-drop pod-01 forward .*DPT=9999 ' || true"
        ).stdout
    )
    total = _unlogged(fw)
    unlogged, arrived = total - unlogged_before, rx() - rx_before
    print(f"audit: flood of {n} in {took:.2f} s, {arrived} at the fw: {logged} logged, {unlogged} unlogged")
    # nft's budget: a burst of 100, then 50/s (+ slack for the seconds the flood and this read took).
    assert logged <= 100 + 50 * (took + 5), (logged, took)
    assert unlogged >= 100, (logged, unlogged, arrived)  # the flood went well over the budget
    # Every packet of the flood that reached the fw is either a log line or counted (a few frames of
    # the neighbours' own, ARP and IPv6 neighbour discovery, aside).
    assert arrived * 0.98 - 20 <= logged + unlogged <= arrived, (logged, unlogged, arrived)
    # microseg-audit reports every drop the budget left unlogged this boot (every 30 s).
    recs = _wait_records(lab, lambda rs: sum(r.get("drops_unlogged", 0) for r in rs) >= total)
    reported = sum(r.get("drops_unlogged", 0) for r in recs if r["action"] == "suppressed")
    assert reported == total, (reported, total, logged, _diagnose(fw))


def test_shipper_resumes_after_a_restart_and_a_reboot_without_loss_or_duplicates(lab) -> None:  # type: ignore[no-untyped-def]
    fw, net = lab["fw"], lab["net"]
    assert _connect(net, 40450, PAYMENTS, 443) == "ok"
    _wait_records(lab, lambda rs: _by_sport(rs, 40450))
    # Stopped while a flow is accepted: the flow is in the journal, shipped once it is back.
    fw.sh("systemctl stop microseg-audit")
    assert _connect(net, 40451, PAYMENTS, 443) == "ok"
    fw.sh("systemctl start microseg-audit")
    recs = _wait_records(lab, lambda rs: _by_sport(rs, 40451))
    assert len(_by_sport(recs, 40451)) == 1 and len(_by_sport(recs, 40450)) == 1, _diagnose(fw)
    # A reboot: the shipper comes back with the pod's target and goes on after its cursor.
    fw.reboot()
    fw.sh("systemctl is-system-running --wait >/dev/null || true", timeout=600)
    assert _connect(net, 40452, PAYMENTS, 443) == "ok", _diagnose(fw)
    recs = _wait_records(lab, lambda rs: _by_sport(rs, 40452))
    for sport in (40443, 40450, 40451, 40452):
        assert len(_by_sport(recs, sport)) == 1, (sport, _by_sport(recs, sport), _diagnose(fw))
