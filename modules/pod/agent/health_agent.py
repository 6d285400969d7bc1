#!/usr/bin/env python3
"""microseg health agent: the pod advertises 0.0.0.0/0 to the TGW only while it is proven healthy.

Two judges, and the pod advertises only while both say healthy (docs/health.md):
- the record: the pod-health Lambda writes the pod's state (JSON, `{"status": "healthy", ...}`) to
  an SSM parameter, a full proof (SNAT, workloads through the TGW, a denied flow dropped) that
  only counts the pod's own faults; polled every --interval seconds;
- the local check, fast: every --check-interval seconds this agent pings the fw across the bridge
  (--fw) and, from its own bridge address (--probe-source), opens TCP to the --forward targets
  through the fw (a connect or a refusal from any target proves the fw forwards);
  --check-fall failures in a row withdraw, --check-rise passes in a row are needed to rejoin.

Either judge saying "faulty" withdraws; the pod rejoins only once both say healthy, the record in a
read made since the withdrawal (else a fault a full check also saw would move its flows twice: back
on the local check, out again on the record). The agent adds
or removes the `network 0.0.0.0/0` statement of the pod's BGP instance through vtysh; withdrawing
takes the pod out of the TGW's ECMP set for new flows. The running configuration is never saved,
so a restarted FRR starts withdrawn (fail closed) until this agent has seen the pod healthy again.
A record older than --stale-after seconds is logged (the Lambda stopped writing; the pod-health
stale-record alarm fires) but is not by itself a reason to withdraw: a broken Lambda must not take
the whole fleet down, and the local check still guards the data path.

Runs with the standard library only (boto3 only for the `ssm:` source), so it ships as one file
in the vpn instance's user_data.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

DEFAULT_PREFIX = "0.0.0.0/0"
log = logging.getLogger("microseg-health-agent")


class SourceError(Exception):
    """The health state could not be read (counts as not healthy)."""


class Source(Protocol):
    def read(self) -> str: ...


@dataclass(frozen=True)
class FileSource:
    """Reads the state from a file: the lab's stand-in for the SSM parameter, same format."""

    path: Path

    def read(self) -> str:
        try:
            return self.path.read_text()
        except OSError as e:
            raise SourceError(f"{self.path}: {e.strerror}") from e


@dataclass(frozen=True)
class SsmSource:
    """Reads the state from the SSM parameter written by the pod-health Lambda."""

    name: str
    region: str | None = None

    def read(self) -> str:
        import boto3  # only the ssm: source needs it
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = boto3.client("ssm", region_name=self.region)
            return str(client.get_parameter(Name=self.name)["Parameter"]["Value"])
        except (BotoCoreError, ClientError) as e:
            raise SourceError(f"ssm {self.name}: {e}") from e


def make_source(spec: str, region: str | None) -> Source:
    kind, _, value = spec.partition(":")
    if kind == "file" and value:
        return FileSource(Path(value))
    if kind == "ssm" and value:
        return SsmSource(value, region)
    raise ValueError(f"--source: expected file:PATH or ssm:NAME, got {spec!r}")


def parse_health(raw: str) -> tuple[bool, str]:
    """(healthy, reason). Only a JSON object whose status is "healthy" is healthy."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return False, "state is not valid JSON"
    if not isinstance(doc, dict):
        return False, "state is not a JSON object"
    status = doc.get("status")
    if status == "healthy":
        return True, "healthy"
    reason = doc.get("reason")
    failed = sorted(
        k for k, v in (doc.get("checks") or {}).items() if isinstance(v, dict) and v.get("ok") is False
    )
    detail = reason or (f"failed checks: {', '.join(failed)}" if failed else None)
    return False, f"status {status!r}" + (f" ({detail})" if detail else "")


def record_age(raw: str, now: datetime) -> float | None:
    """Seconds since the record's `checked_at`, None when it has none (or an unreadable one)."""
    try:
        doc = json.loads(raw)
        at = datetime.strptime(doc["checked_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, TypeError, KeyError):
        return None
    return (now - at).total_seconds()


# ---------------------------------------------------------------------------------------------
# The local check: the fw across the bridge, every few seconds
# ---------------------------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_echo(dst: str, source: str | None, timeout: float) -> str:
    """One ICMP echo (raw socket: the agent runs as root). "ok" or why not."""
    ident, seq = os.getpid() & 0xFFFF, int(time.monotonic() * 1000) & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    payload = b"microseg-health"
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
            if source:
                s.bind((source, 0))
            s.sendto(packet, (dst, 0))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                data, (addr, _) = s.recvfrom(2048)
                ihl = (data[0] & 0x0F) * 4
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl : ihl + 8])
                if addr == dst and kind == 0 and (rid, rseq) == (ident, seq):
                    return "ok"
    except TimeoutError:
        pass
    except OSError as e:
        return f"error: {e}"
    return "timeout"


def tcp_probe(host: str, port: int, source: str | None, timeout: float) -> str:
    """ "connected" | "refused" (both: an answer came back through the fw) | "timeout" | "error: ..."."""
    try:
        with socket.socket() as s:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.connect((host, port))
            return "connected"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as e:
        return f"error: {e}"


@dataclass
class LocalCheck:
    """The pod's own data path as the vpn sees it: the fw answers across the bridge and forwards.

    The forwarded probes leave from `source` (the vpn's bridge address, routed to the fw) and pass
    if ANY target answers, so one workload host being down is not taken for a broken fw.
    """

    fw: str
    source: str | None = None
    forward: Sequence[tuple[str, int]] = ()
    timeout: float = 1.0
    ping: Callable[[str, str | None, float], str] = icmp_echo
    connect: Callable[[str, int, str | None, float], str] = tcp_probe

    def run(self) -> tuple[bool, str]:
        answer = self.ping(self.fw, self.source, self.timeout)
        if answer != "ok":
            return False, f"fw {self.fw} does not answer across the bridge ({answer})"
        if not self.forward:
            return True, "fw answers"
        with ThreadPoolExecutor(max_workers=min(8, len(self.forward))) as pool:
            outcomes = list(
                pool.map(lambda t: self.connect(t[0], t[1], self.source, self.timeout), self.forward)
            )
        if any(o in ("connected", "refused") for o in outcomes):
            return True, "fw answers and forwards"
        detail = ", ".join(f"{h}:{p} {o}" for (h, p), o in zip(self.forward, outcomes, strict=True))
        return False, f"fw does not forward ({detail})"


def parse_target(spec: str) -> tuple[str, int]:
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--forward: expected HOST:PORT, got {spec!r}")
    return host, int(port)


@dataclass
class Gate:
    """Hysteresis: `rise` healthy readings in a row to advertise, `fall` unhealthy ones to withdraw.

    Pure (no I/O) so the decision logic is unit-tested; one transient bad read does not flap
    the whole pod out of ECMP when fall > 1.
    """

    rise: int = 2
    fall: int = 2
    advertise: bool = False
    _streak: int = 0

    def observe(self, healthy: bool) -> bool:
        if healthy == self.advertise:
            self._streak = 0
        else:
            self._streak += 1
            if self._streak >= (self.rise if healthy else self.fall):
                self.advertise = healthy
                self._streak = 0
        return self.advertise


Runner = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(argv)}: exit {done.returncode}: {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


@dataclass
class Bgp:
    """The pod's BGP advertisement, read and changed through vtysh."""

    asn: int
    vtysh: Sequence[str] = ("vtysh",)
    prefix: str = DEFAULT_PREFIX
    run: Runner = run_command

    def advertised(self) -> bool:
        """Whether the running config of `router bgp <asn>` has `network <prefix>`."""
        text = self.run([*self.vtysh, "-c", "show running-config"])
        in_router = False
        for line in text.splitlines():
            if line.startswith("router bgp "):
                in_router = line.split()[2] == str(self.asn)
            elif in_router and line.strip() == f"network {self.prefix}":
                return True
            elif line.startswith("exit") and not line.startswith(" "):
                in_router = False
        return False

    def set(self, advertise: bool) -> None:
        statement = f"network {self.prefix}" if advertise else f"no network {self.prefix}"
        self.run(
            [
                *self.vtysh,
                "-c",
                "configure terminal",
                "-c",
                f"router bgp {self.asn}",
                "-c",
                "address-family ipv4 unicast",
                "-c",
                statement,
            ]
        )


@dataclass
class Agent:
    source: Source
    gate: Gate
    bgp: Bgp
    local: LocalCheck | None = None
    local_gate: Gate = field(default_factory=Gate)
    stale_after: float = 300.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    monotonic: Callable[[], float] = time.monotonic
    reasons: dict[str, str] = field(default_factory=dict)
    _stale: bool = False
    _withheld: str | None = None
    _record_healthy: bool = False  # what the last read of the record said (the gate lags it)
    _record_read_at: float = float("-inf")
    _withdrawn_at: float = float("-inf")

    def read_record(self) -> None:
        try:
            raw = self.source.read()
            healthy, reason = parse_health(raw)
        except SourceError as e:
            raw, healthy, reason = "", False, f"cannot read state: {e}"
        self.gate.observe(healthy)
        self._record_healthy, self._record_read_at = healthy, self.monotonic()
        self.reasons["record"] = reason
        age = record_age(raw, self.clock()) if raw else None
        stale = age is not None and age > self.stale_after
        if stale and not self._stale:
            log.warning("health record is stale (%.0f s old): the health check stopped writing it", age)
        self._stale = stale

    def check_local(self) -> None:
        if self.local is None:
            return
        ok, reason = self.local.run()
        self.local_gate.observe(ok)
        self.reasons["local"] = reason

    def step(self, record: bool = True, local: bool = True) -> bool | None:
        """One poll: read the record and/or run the local check, decide, make FRR match.

        Returns the new state when it changed FRR. Advertise only while both judges say healthy.
        """
        if record:
            self.read_record()
        if local:
            self.check_local()
        want = self.gate.advertise and (self.local is None or self.local_gate.advertise)
        if not self.gate.advertise:
            reason, gate = self.reasons.get("record", ""), self.gate
        else:
            reason, gate = f"local check: {self.reasons.get('local', '')}", self.local_gate
        try:
            have = self.bgp.advertised()
            if want and not have:
                # Rejoining needs the record to say healthy now. After a withdrawal by the local
                # check, the last read may predate a check that saw the same fault: the pod would
                # rejoin, then leave again on that record (its flows moved twice). So read it once
                # more (once per withdrawal: the SSM API is shared by every pod) and hold on anything
                # but healthy.
                if self._record_read_at <= self._withdrawn_at:
                    self.read_record()
                if not self._record_healthy:
                    want, reason, gate = False, self.reasons.get("record", ""), self.gate
            if have == want:
                if not want:
                    self._log_withheld(reason, gate)
                return None
            self.bgp.set(want)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            log.error("cannot %s %s: %s", "advertise" if want else "withdraw", self.bgp.prefix, e)
            return None
        if want:
            log.warning("advertising %s: pod is healthy", self.bgp.prefix)
            self._withheld = None
        else:
            log.warning("withdrawing %s: %s", self.bgp.prefix, reason)
            self._withheld = reason
            self._withdrawn_at = self.monotonic()
        return want

    def _log_withheld(self, reason: str, gate: Gate) -> None:
        # Once per reason: a pod that never joins must say why, without a line per poll.
        if reason != self._withheld:
            self._withheld = reason
            rise = f" ({gate._streak} of {gate.rise} in a row)" if gate._streak else ""
            log.warning("not advertising %s: %s%s", self.bgp.prefix, reason, rise)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--source", required=True, help="ssm:PARAMETER_NAME or file:PATH")
    p.add_argument("--region", default=None)
    p.add_argument("--asn", type=int, required=True, help="the pods' BGP ASN (router bgp <asn>)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    p.add_argument("--rise", type=int, default=2, help="healthy polls in a row before advertising")
    p.add_argument("--fall", type=int, default=2, help="unhealthy polls in a row before withdrawing")
    p.add_argument("--vtysh", default="vtysh", help="vtysh command, e.g. 'vtysh -N pod-01'")
    p.add_argument("--prefix", default=DEFAULT_PREFIX)
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument("--stale-after", type=float, default=300.0, help="seconds before a record is stale")
    local = p.add_argument_group("local check (off without --fw)")
    local.add_argument("--fw", help="the fw's bridge address, pinged every --check-interval")
    local.add_argument("--probe-source", help="our bridge address: the probes leave from it, to the fw")
    local.add_argument(
        "--forward", action="append", default=[], metavar="HOST:PORT", help="TCP target through the fw"
    )
    local.add_argument("--check-interval", type=float, default=2.0)
    local.add_argument("--check-timeout", type=float, default=1.0)
    local.add_argument("--check-rise", type=int, default=2, help="passing checks in a row to rejoin")
    local.add_argument("--check-fall", type=int, default=2, help="failing checks in a row to withdraw")
    args = p.parse_args(argv)
    if args.interval <= 0 or args.rise < 1 or args.fall < 1:
        p.error("--interval must be > 0, --rise and --fall >= 1")
    if args.check_interval <= 0 or args.check_timeout <= 0 or args.check_rise < 1 or args.check_fall < 1:
        p.error("--check-interval and --check-timeout must be > 0, --check-rise and --check-fall >= 1")
    try:
        args.forward = [parse_target(t) for t in args.forward]
    except ValueError as e:
        p.error(str(e))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        source = make_source(args.source, args.region)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bgp = Bgp(args.asn, tuple(shlex.split(args.vtysh)), args.prefix)
    gate = Gate(rise=args.rise, fall=args.fall)
    local_gate = Gate(rise=args.check_rise, fall=args.check_fall)
    try:  # start from what FRR does now, so restarting the agent never flaps the pod
        gate.advertise = local_gate.advertise = bgp.advertised()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        log.error("cannot read the BGP state yet: %s", e)
    local = LocalCheck(args.fw, args.probe_source, args.forward, args.check_timeout) if args.fw else None
    agent = Agent(source, gate, bgp, local, local_gate, args.stale_after)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("watching %s every %ss (rise %d, fall %d)", args.source, args.interval, args.rise, args.fall)
    if local:
        log.info(
            "checking fw %s (forward %s) every %ss (rise %d, fall %d)",
            args.fw,
            ", ".join(f"{h}:{p}" for h, p in args.forward) or "-",
            args.check_interval,
            args.check_rise,
            args.check_fall,
        )
    next_record = next_local = time.monotonic()
    while True:
        now = time.monotonic()
        due_record, due_local = now >= next_record, local is not None and now >= next_local
        if due_record or due_local:
            agent.step(record=due_record, local=due_local)
        # Schedule from the planned time, not the end of a slow check, so the cadence holds.
        if due_record:
            next_record = max(next_record + args.interval, now)
        if due_local:
            next_local = max(next_local + args.check_interval, now)
        if args.once or stop:
            return 0
        wake = min(next_record, next_local if local else next_record)
        # Straight to the next due time, in steps of at most a second so a stop is seen within one
        # (waking every few ms between checks only costs the vpn CPU).
        while not stop and (left := wake - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))
        if stop:
            return 0


if __name__ == "__main__":
    sys.exit(main())
