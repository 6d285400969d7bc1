#!/usr/bin/env python3
"""microseg-audit: the fw's audit log, from the journal to the pod's CloudWatch log group.

The fw's ruleset logs the first packet of every approved flow ("microseg-accept <pod> <flow id> ")
and every drop ("microseg-drop <pod> <reason> ") from the forward and input hooks, which see the
packet before SNAT (postrouting). The kernel's line lands in the journal; this reader turns each one
into a JSON record (docs/audit.md): the original 5-tuple, the rule and its change ticket, and the
SNAT address of the interface the flow leaves by (/etc/microseg/audit.json, rendered with the
ruleset). It sends them with PutLogEvents through the regional `logs` endpoint (the core VPC's
interface endpoint) and keeps the journal cursor of the last record CloudWatch accepted: a restart
or a reboot resumes after it (the journal is persistent), so nothing is lost and at most the batch
in flight when the process died is sent twice. The journal is read with `journalctl -o json
--follow` (systemd's own reader and cursor format: no library beyond the image's boto3).

Drop logging shares one nft limit; the drops it left unlogged are counted by the named counter
`drops_unlogged`, which this reader reports as `suppressed` records.

Runs with python3-boto3 from the pod image (modules/pod-image/packages.txt) and systemd's journalctl.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import select
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("microseg-audit")

LINE = re.compile(r"^microseg-(accept|drop) (\S+) (\S+) (.*)$")
FIELD = re.compile(r"\b([A-Z]+)=(\S*)")
# PutLogEvents: at most 10,000 events and 1 MiB a call (each event counts its bytes + 26), an event
# at most 256 KiB, and one call's events within 24 hours.
MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_SPAN_MS = 23 * 3600 * 1000


def record(message: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """The audit record of one kernel log line of the ruleset, None for any other line."""
    m = LINE.match(message)
    if not m:
        return None
    action, pod, rule, rest = m.groups()
    f = dict(FIELD.findall(rest))
    proto = f.get("PROTO", "")
    out = f.get("OUT") or None
    rec: dict[str, Any] = {
        "action": action,
        "pod": pod,
        "rule": rule,
        "reference": config.get("rules", {}).get(rule),
        "protocol": int(proto) if proto.isdigit() else proto.lower() or None,
        "src": f.get("SRC"),
        "sport": int(f["SPT"]) if "SPT" in f else None,
        "dst": f.get("DST"),
        "dport": int(f["DPT"]) if "DPT" in f else None,
        "in": f.get("IN") or None,
        "out": out,
        "snat": None,
    }
    if proto == "ICMP":
        rec["icmp_type"], rec["icmp_code"] = int(f.get("TYPE", -1)), int(f.get("CODE", -1))
    if action == "accept" and out:
        # The postrouting rule of the interface the flow leaves by is the SNAT it gets.
        rec["snat"] = config.get("snat", {}).get(out)
        if out == "public":
            rec["snat_public_ip"] = config.get("public_ip")
    return rec


def batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Events ({timestamp, message}, sorted) split into PutLogEvents calls within every limit."""
    out: list[list[dict[str, Any]]] = []
    cur: list[dict[str, Any]] = []
    size = 0
    for e in events:
        n = len(e["message"].encode()) + EVENT_OVERHEAD
        span = e["timestamp"] - cur[0]["timestamp"] if cur else 0
        if cur and (len(cur) >= MAX_EVENTS or size + n > MAX_BYTES or span > MAX_SPAN_MS):
            out.append(cur)
            cur, size = [], 0
        cur.append(e)
        size += n
    if cur:
        out.append(cur)
    return out


def suppressed(packets: int, state: dict[str, Any], boot_id: str) -> int:
    """How many drops went unlogged since the last report: the counter restarts at every boot and
    every ruleset load."""
    last = state.get("counter", {})
    if last.get("boot_id") != boot_id or packets < last.get("packets", 0):
        return packets
    return packets - last.get("packets", 0)


class Shipper:
    def __init__(self, config: dict[str, Any], state_path: Path, client: Any) -> None:
        self.config = config
        self.state_path = state_path
        self.state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.is_file() else {}
        self.client = client
        self.pending: list[dict[str, Any]] = []  # {timestamp, message}
        self.pending_cursor: str | None = None
        self.pending_counter: dict[str, Any] | None = None
        self.stream_ready = False

    def add(self, rec: dict[str, Any], when: datetime) -> None:
        rec = {"time": when.astimezone(UTC).isoformat(timespec="milliseconds"), **rec}
        self.pending.append({"timestamp": int(when.timestamp() * 1000), "message": json.dumps(rec)})

    def read(self, line: bytes) -> None:
        """One journal entry (journalctl -o json): a record if it is the ruleset's, and its cursor."""
        entry = json.loads(line)
        msg = entry.get("MESSAGE") or ""
        if isinstance(msg, list):  # not valid UTF-8: journalctl gives the bytes
            msg = bytes(msg).decode(errors="replace")
        self.pending_cursor = entry["__CURSOR"]
        rec = record(msg, self.config)
        if rec:
            self.add(rec, datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, UTC))

    def _put(self, events: list[dict[str, Any]]) -> None:
        group, stream = self.config["log_group"], self.config["stream"]
        if not self.stream_ready:
            with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
                self.client.create_log_stream(logGroupName=group, logStreamName=stream)
            self.stream_ready = True
        resp = self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        if resp.get("rejectedLogEventsInfo"):
            log.error("CloudWatch rejected some events: %s", resp["rejectedLogEventsInfo"])

    def flush(self) -> None:
        """Sends what is pending, then saves the cursor; raises (keeping everything) if a call fails."""
        if self.pending:
            events = sorted(self.pending, key=lambda e: e["timestamp"])
            for batch in batches(events):
                self._put(batch)
                sent = {id(e) for e in batch}
                self.pending = [e for e in self.pending if id(e) not in sent]
            log.info("shipped %d records", len(events))
        before = dict(self.state)
        if self.pending_cursor:
            self.state["cursor"] = self.pending_cursor
        if self.pending_counter:
            self.state["counter"] = self.pending_counter
            self.pending_counter = None
        if self.state == before:
            return
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(self.state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def check_counter(self, boot_id: str) -> None:
        out = subprocess.run(
            ["nft", "-j", "list", "counter", "inet", "microseg", "drops_unlogged"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            return  # no ruleset loaded (yet): nothing was dropped by it
        packets = next(o["counter"]["packets"] for o in json.loads(out.stdout)["nftables"] if "counter" in o)
        n = suppressed(packets, {"counter": self.pending_counter or self.state.get("counter", {})}, boot_id)
        if n:
            self.add(
                {"action": "suppressed", "pod": self.config["pod"], "rule": "drop_log", "drops_unlogged": n},
                datetime.now(UTC),
            )
        self.pending_counter = {"boot_id": boot_id, "packets": packets}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--flush-seconds", type=float, default=5.0)
    ap.add_argument("--counter-seconds", type=float, default=30.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import boto3
    from botocore.config import Config

    config = json.loads(args.config.read_text())
    client = boto3.client(
        "logs",
        region_name=config["region"],
        config=Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3}),
    )
    shipper = Shipper(config, args.state, client)
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cursor = shipper.state.get("cursor")
    # After the cursor of the last record CloudWatch accepted, or the whole journal the first time.
    where = [f"--after-cursor={cursor}"] if cursor else ["--no-tail"]
    reader = subprocess.Popen(
        ["journalctl", "--follow", "--output=json", "--no-pager", *where, "_TRANSPORT=kernel"],
        stdout=subprocess.PIPE,
    )
    assert reader.stdout is not None
    fd = reader.stdout.fileno()
    os.set_blocking(fd, False)

    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    log.info("shipping to %s:%s from %s", config["log_group"], config["stream"], where[0].split("=")[0])
    last_flush = last_counter = 0.0
    backoff = 1.0
    buf = b""
    while not stop:
        # Read while there is room (CloudWatch unreachable: the journal keeps the rest).
        if len(shipper.pending) < MAX_EVENTS and select.select([fd], [], [], 1.0)[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                log.error("journalctl exited (%s)", reader.wait())
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.strip():
                    shipper.read(line)
        now = time.monotonic()
        if now - last_counter >= args.counter_seconds:
            shipper.check_counter(boot_id)
            last_counter = now
        if now - last_flush >= args.flush_seconds or len(shipper.pending) >= MAX_EVENTS:
            try:
                shipper.flush()
                last_flush, backoff = now, 1.0
            except Exception as e:  # any failure: keep the records and the cursor, retry
                log.warning("PutLogEvents failed, retrying in %.0f s: %s", backoff, e)
                shipper.stream_ready = False  # the stream may be gone: create it again
                time.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
    reader.terminate()
    try:
        shipper.flush()
    except Exception as e:
        log.warning("final flush failed; the cursor stays before these records: %s", e)
        return 1
    return 0 if stop else 1


if __name__ == "__main__":
    raise SystemExit(main())
