#!/usr/bin/env python3
"""microseg health agent: the pod advertises 0.0.0.0/0 to the TGW only while it is proven healthy.

The pod-health Lambda writes the pod's state (JSON, `{"status": "healthy", ...}`) to an SSM
parameter; this daemon polls it and adds or removes the `network 0.0.0.0/0` statement of the pod's
BGP instance through vtysh. Withdrawing the route takes the pod out of the TGW's ECMP set for new
flows. The running configuration is never saved, so a restarted FRR starts withdrawn (fail closed)
until this agent has seen the pod healthy again.

Runs with the standard library only (boto3 only for the `ssm:` source), so it ships as one file
in the vpn instance's user_data.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

    def step(self) -> bool | None:
        """One poll: read, decide, make FRR match. Returns the new state when it changed FRR."""
        try:
            healthy, reason = parse_health(self.source.read())
        except SourceError as e:
            healthy, reason = False, f"cannot read state: {e}"
        want = self.gate.observe(healthy)
        try:
            have = self.bgp.advertised()
            if have == want:
                return None
            self.bgp.set(want)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            log.error("cannot %s %s: %s", "advertise" if want else "withdraw", self.bgp.prefix, e)
            return None
        if want:
            log.warning("advertising %s: pod is healthy", self.bgp.prefix)
        else:
            log.warning("withdrawing %s: %s", self.bgp.prefix, reason)
        return want


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
    args = p.parse_args(argv)
    if args.interval <= 0 or args.rise < 1 or args.fall < 1:
        p.error("--interval must be > 0, --rise and --fall >= 1")
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
    try:  # start from what FRR does now, so restarting the agent never flaps the pod
        gate.advertise = bgp.advertised()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        log.error("cannot read the BGP state yet: %s", e)
    agent = Agent(source, gate, bgp)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("watching %s every %ss (rise %d, fall %d)", args.source, args.interval, args.rise, args.fall)
    while True:
        agent.step()
        if args.once or stop:
            return 0
        deadline = time.monotonic() + args.interval
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.1, args.interval))
        if stop:
            return 0


if __name__ == "__main__":
    sys.exit(main())
