"""The fw's audit trail: the rendered ruleset logs what the shipper expects, and the shipper's
records, batches, cursor and suppressed-drop count (CloudWatch Logs calls against the moto server).
The whole path through a booted fw is tests/vmlab/test_fw_audit.py."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from appliance import podconfig

SRC = Path(__file__).resolve().parents[2] / "modules" / "pod" / "agent" / "fw_audit.py"
spec = importlib.util.spec_from_file_location("fw_audit", SRC)
assert spec and spec.loader
fa = importlib.util.module_from_spec(spec)
sys.modules["fw_audit"] = fa
spec.loader.exec_module(fa)

# Kernel lines as the fw's journal holds them (nf_log_syslog, from the VM lab's fw).
ACCEPT = (
    "microseg-accept pod-01 f001 IN=bridge OUT=internal MAC=52:54:00:40:23:7c:52:54:00:a0:00:01:08:00 "
    "SRC=10.65.0.10 DST=10.64.0.10 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=12873 DF PROTO=TCP SPT=40443 DPT=443 "
    "WINDOW=64240 RES=0x00 SYN URGP=0 "
)
NORTH = (
    ACCEPT.replace("f001", "f002")
    .replace("OUT=internal", "OUT=public")
    .replace("10.64.0.10", "198.51.100.10")
)
DROP = (
    "microseg-drop pod-01 forward IN=bridge OUT=internal MAC=52:54:00:40:23:7c:52:54:00:a0:00:01:08:00 "
    "SRC=10.65.0.10 DST=10.64.0.10 LEN=29 TOS=0x00 PREC=0x00 TTL=64 ID=3 DF "
    "PROTO=UDP SPT=51234 DPT=9999 LEN=9 "
)
PING = (
    "microseg-drop pod-01 input IN=bridge OUT= MAC=52:54:00:40:23:7c:52:54:00:a0:00:01:08:00 SRC=10.0.8.6 "
    "DST=10.0.8.4 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=13 CODE=0 ID=7 SEQ=1 "
)
CONFIG = {
    "region": "us-east-1",
    "log_group": "/microseg/pods/pod-01",
    "stream": "fw/audit",
    "pod": "pod-01",
    "snat": {"internal": "10.0.3.11", "public": "10.0.0.21"},
    "public_ip": "3.80.1.2",
    "rules": {"f001": "CHG-1234", "f002": "CHG-1235", "forward": "default deny", "input": "default deny"},
}


def test_accepted_flow_record_has_the_original_tuple_ticket_and_snat() -> None:
    assert fa.record(ACCEPT, CONFIG) == {
        "action": "accept",
        "pod": "pod-01",
        "rule": "f001",
        "reference": "CHG-1234",
        "protocol": "tcp",
        "src": "10.65.0.10",
        "sport": 40443,
        "dst": "10.64.0.10",
        "dport": 443,
        "in": "bridge",
        "out": "internal",
        "snat": "10.0.3.11",
    }
    north = fa.record(NORTH, CONFIG)
    assert (north["snat"], north["snat_public_ip"], north["reference"]) == (
        "10.0.0.21",
        "3.80.1.2",
        "CHG-1235",
    )


def test_drops_are_not_translated_and_other_lines_are_not_records() -> None:
    drop = fa.record(DROP, CONFIG)
    assert (drop["action"], drop["rule"], drop["protocol"], drop["dport"], drop["snat"]) == (
        "drop",
        "forward",
        "udp",
        9999,
        None,
    )
    ping = fa.record(PING, CONFIG)
    assert (ping["out"], ping["icmp_type"], ping["sport"], ping["reference"]) == (
        None,
        13,
        None,
        "default deny",
    )
    assert fa.record("nft: something else IN=bridge SRC=1.2.3.4", CONFIG) is None
    assert fa.record("microseg-drop pod-01", CONFIG) is None


def test_batches_keep_putlogevents_limits() -> None:
    events = [{"timestamp": 1_000 + i, "message": "x" * 10} for i in range(10_001)]
    assert [len(b) for b in fa.batches(events)] == [10_000, 1]
    big = [{"timestamp": 1_000 + i, "message": "x" * 200_000} for i in range(11)]
    sizes = [sum(len(e["message"]) + 26 for e in b) for b in fa.batches(big)]
    assert max(sizes) <= 1_048_576 and sum(len(b) for b in fa.batches(big)) == 11
    day = [{"timestamp": 0, "message": "a"}, {"timestamp": 24 * 3600 * 1000, "message": "b"}]
    assert len(fa.batches(day)) == 2


@pytest.mark.parametrize(
    ("state", "packets", "boot", "want"),
    [
        ({}, 40, "b1", 40),  # first report
        ({"counter": {"boot_id": "b1", "packets": 40}}, 65, "b1", 25),  # since the last report
        ({"counter": {"boot_id": "b1", "packets": 40}}, 40, "b1", 0),
        ({"counter": {"boot_id": "b1", "packets": 40}}, 7, "b1", 7),  # ruleset reloaded
        ({"counter": {"boot_id": "b0", "packets": 40}}, 90, "b1", 90),  # rebooted
    ],
)
def test_suppressed_counts_each_unlogged_drop_once(
    state: dict[str, Any], packets: int, boot: str, want: int
) -> None:
    assert fa.suppressed(packets, state, boot) == want


def _entry(message: str, cursor: str, usec: int) -> bytes:
    return json.dumps({"MESSAGE": message, "__CURSOR": cursor, "__REALTIME_TIMESTAMP": str(usec)}).encode()


def test_shipper_puts_records_and_keeps_the_cursor_of_the_last_accepted(moto_server, tmp_path: Path) -> None:
    moto_server.reset()
    logs = boto3.client(
        "logs",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    state = tmp_path / "state.json"
    shipper = fa.Shipper(CONFIG, state, logs)
    now = int(datetime.now(UTC).timestamp() * 1e6)
    shipper.read(_entry(ACCEPT, "c1", now))
    shipper.read(_entry("some other kernel line", "c2", now + 1))
    # No log group (yet): the call fails, nothing is marked shipped.
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        shipper.flush()
    assert not state.exists() and len(shipper.pending) == 1
    logs.create_log_group(logGroupName=CONFIG["log_group"])
    shipper.stream_ready = False
    shipper.read(_entry(DROP, "c3", now + 2))
    shipper.flush()
    assert json.loads(state.read_text())["cursor"] == "c3" and not shipper.pending
    events = logs.get_log_events(
        logGroupName=CONFIG["log_group"], logStreamName="fw/audit", startFromHead=True
    )
    recs = [json.loads(e["message"]) for e in events["events"]]
    assert [(r["action"], r["rule"], r["sport"]) for r in recs] == [
        ("accept", "f001", 40443),
        ("drop", "forward", 51234),
    ]
    assert recs[0]["time"] == datetime.fromtimestamp(now / 1e6, UTC).isoformat(timespec="milliseconds")
    # A new process starts from the saved state (the cursor and the counter already reported).
    assert fa.Shipper(CONFIG, state, logs).state["cursor"] == "c3"


def test_rendered_ruleset_logs_every_rule_the_shipper_knows(tmp_path: Path) -> None:
    """Every approved rule logs its own flow id once (ct mark) before it accepts, every drop path
    logs within the shared budget or counts in drops_unlogged, and audit.json holds a ticket for
    every logged rule and the SNAT address of each postrouting rule."""
    if not shutil.which(podconfig.TOFU):
        pytest.fail("tofu not on PATH: run scripts/toolchain.sh")
    tfvars = podconfig.load_tfvars()
    for pod, roles in podconfig.render(tfvars, tmp_path).items():
        files = podconfig.files(roles["fw"])
        ruleset, config = files["/etc/nftables.conf"], json.loads(files["/etc/microseg/audit.json"])
        assert config["pod"] == pod and config["stream"] == "fw/audit"
        approved = ruleset[ruleset.index("chain approved {") : ruleset.index("chain output {")]
        accepts = [line for line in approved.splitlines() if re.search(r"\baccept comment \"", line)]
        assert accepts
        logged = set()
        for line in accepts:
            m = re.search(
                rf'log prefix "microseg-accept {pod} (\S+) " level info ct mark set 0x00000001 accept', line
            )
            assert m, line
            logged.add(m.group(1))
        flows = {f["id"] for f in tfvars["flows"] if f["source"] != "internet"}
        assert flows <= logged and logged <= set(config["rules"]), (flows, logged)
        for f in tfvars["flows"]:
            if f["id"] in flows:
                assert config["rules"][f["id"]] == f["reference"]
        drops = re.findall(rf'limit name "drop_log" log prefix "microseg-drop {pod} (\S+) "', ruleset)
        assert set(drops) == {"invalid", "input", "forward"} and set(drops) <= set(config["rules"])
        assert ruleset.count('counter name "drops_unlogged" drop') == len(drops)
        snat = dict(re.findall(r'oifname "(\w+)" snat ip to (\S+)', ruleset))
        assert snat == config["snat"], (snat, config["snat"])
