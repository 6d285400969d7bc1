"""Health check of one pod, run by the pod-health Lambda from the pod's bridge subnet.

The bridge subnet's default route is the pod's fw, so every probe below crosses that fw:
- internet: an HTTPS GET must succeed, and (when configured) the body must be the fw's EIP,
  which proves the fw SNATs north-south traffic to its own public address;
- workloads: a TCP connect to one target per workload must get an answer (connected or refused:
  a refusal also came back through the fw and the TGW);
- denied: a TCP connect the fw policy must drop has to time out.

Checks are judged by blast radius (docs/health.md). The workload and denied probes test the pod's
own fw (scope "pod"): one failing makes this pod unhealthy. The internet probe depends on a service
every pod shares (scope "shared"): when it fails on every pod the fault is not the pods', so by
default it only raises the shared-dependency alarm and never withdraws a pod (opt in with
WITHDRAW_ON_SHARED_FAILURE). A denied probe whose name does not resolve proves nothing about the
fw (DNS is shared too) and counts as a shared failure, not a pod fault.

The pod's state is written to its SSM parameter (read by the vpn's health agent, which advertises
the pod's default route only while it is healthy) and to CloudWatch metrics (alarms, dashboard):
`Healthy`, `PodFaults`, `SharedDependencyFailures` (also without the Pod dimension: one fleet-wide
alarm) and `RecordWritten` (missing = the record is going stale: the stale-record alarm).
Hysteresis: the state flips only after `threshold` consecutive results the other way, so one lost
probe does not pull a pod out of ECMP.

The core (`evaluate`, `next_state`, `render_parameter`) is pure; probes and AWS clients are injected.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
POD = "pod"  # a fault of this pod's fw: withdraws this pod
SHARED = "shared"  # a dependency every pod shares: alarms, withdraws only when opted in
# Standard-tier SSM parameters hold at most 4096 characters.
MAX_PARAMETER_CHARS = 4096


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str
    scope: str = POD


@dataclass(frozen=True)
class Target:
    host: str
    port: int


@dataclass(frozen=True)
class Config:
    pod: str
    health_parameter: str
    metric_namespace: str
    internet_url: str
    expected_public_ip: str | None
    workload_probes: dict[str, Target]
    denied_probe: Target | None
    timeout_seconds: float = 3.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    withdraw_on_shared_failure: bool = False

    @staticmethod
    def from_env(env: Mapping[str, str]) -> Config:
        workloads = json.loads(env.get("WORKLOAD_PROBES", "{}") or "{}")
        denied = json.loads(env.get("DENIED_PROBE", "null") or "null")
        return Config(
            pod=env["POD"],
            health_parameter=env["HEALTH_PARAMETER"],
            metric_namespace=env.get("METRIC_NAMESPACE", "microseg/pods"),
            internet_url=env.get("INTERNET_URL", "https://checkip.amazonaws.com/"),
            expected_public_ip=env.get("EXPECTED_PUBLIC_IP") or None,
            workload_probes={k: Target(v["host"], int(v["port"])) for k, v in sorted(workloads.items())},
            denied_probe=Target(denied["host"], int(denied["port"])) if denied else None,
            timeout_seconds=float(env.get("TIMEOUT_SECONDS", "3")),
            healthy_threshold=int(env.get("HEALTHY_THRESHOLD", "2")),
            unhealthy_threshold=int(env.get("UNHEALTHY_THRESHOLD", "2")),
            withdraw_on_shared_failure=env.get("WITHDRAW_ON_SHARED_FAILURE", "false").lower() == "true",
        )


@dataclass(frozen=True)
class Probes:
    """The network side, injectable so the logic is testable without a network."""

    http_get: Callable[[str, float], str]
    # "connected" | "refused" | "timeout" | "unresolved: ..." | "error: ..."
    tcp_connect: Callable[[str, int, float], str]


@dataclass
class State:
    status: str = UNHEALTHY
    streak: int = 0  # consecutive results disagreeing with `status`
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Pure core
# ---------------------------------------------------------------------------------------------


def evaluate(cfg: Config, probes: Probes) -> dict[str, ProbeResult]:
    """Run every probe (concurrently: the denied probe always waits for its full timeout)."""

    def internet() -> ProbeResult:
        try:
            body = probes.http_get(cfg.internet_url, cfg.timeout_seconds).strip()
        except Exception as exc:  # any failure to get an answer means no egress
            return ProbeResult(False, f"GET {cfg.internet_url} failed: {exc}", SHARED)
        if cfg.expected_public_ip and body != cfg.expected_public_ip:
            return ProbeResult(
                False, f"egress address {body!r} is not the fw EIP {cfg.expected_public_ip}", SHARED
            )
        return ProbeResult(True, f"GET {cfg.internet_url} ok ({body[:64]})", SHARED)

    def workload(t: Target) -> ProbeResult:
        outcome = probes.tcp_connect(t.host, t.port, cfg.timeout_seconds)
        # A refusal is an answer from the workload side: the path through the fw works.
        return ProbeResult(outcome in ("connected", "refused"), f"tcp {t.host}:{t.port} {outcome}")

    def denied(t: Target) -> ProbeResult:
        outcome = probes.tcp_connect(t.host, t.port, cfg.timeout_seconds)
        # No address, no packet: the fw was not tested, the (shared) name service failed.
        scope = SHARED if outcome.startswith("unresolved") else POD
        return ProbeResult(outcome == "timeout", f"tcp {t.host}:{t.port} {outcome} (must be dropped)", scope)

    jobs: dict[str, Callable[[], ProbeResult]] = {"internet": internet}
    for name, target in cfg.workload_probes.items():
        jobs[f"workload:{name}"] = lambda t=target: workload(t)
    if cfg.denied_probe is not None:
        jobs["denied"] = lambda: denied(cfg.denied_probe)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=min(16, len(jobs))) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: futures[name].result() for name in sorted(futures)}


def next_state(previous: State, passed: bool, cfg: Config) -> State:
    """Flip only after `threshold` consecutive results that disagree with the current status."""
    observed = HEALTHY if passed else UNHEALTHY
    if observed == previous.status:
        return State(previous.status, 0)
    streak = previous.streak + 1
    threshold = cfg.healthy_threshold if observed == HEALTHY else cfg.unhealthy_threshold
    if streak >= threshold:
        return State(observed, 0)
    return State(previous.status, streak)


def parse_parameter(value: str | None) -> State:
    """Anything unreadable counts as unhealthy with no streak (fail closed)."""
    try:
        data = json.loads(value or "")
        status = data["status"] if data.get("status") in (HEALTHY, UNHEALTHY) else UNHEALTHY
        return State(status, max(0, int(data.get("streak", 0))))
    except (ValueError, TypeError, AttributeError, KeyError):
        return State()


def verdict(results: Mapping[str, ProbeResult], cfg: Config) -> tuple[bool, list[str], list[str]]:
    """(passed, pod faults, shared failures): passed unless a pod-scope check failed, or a shared one
    did and the user opted in to withdrawing on shared failures."""
    faults = sorted(k for k, r in results.items() if not r.ok and r.scope == POD)
    shared = sorted(k for k, r in results.items() if not r.ok and r.scope == SHARED)
    return not faults and not (shared and cfg.withdraw_on_shared_failure), faults, shared


def render_parameter(state: State, results: Mapping[str, ProbeResult], now: datetime) -> str:
    checks = {k: {"ok": r.ok, "scope": r.scope, "detail": r.detail[:200]} for k, r in results.items()}
    doc: dict[str, Any] = {
        "status": state.status,
        "streak": state.streak,
        "checked_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "faults": sorted(k for k, r in results.items() if not r.ok and r.scope == POD),
        "shared_failures": sorted(k for k, r in results.items() if not r.ok and r.scope == SHARED),
        "checks": checks,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_PARAMETER_CHARS:
        # Keep the verdict and the failures; drop the passing details first.
        doc["checks"] = {k: v for k, v in checks.items() if not v["ok"]}
        doc["truncated"] = True
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))[:MAX_PARAMETER_CHARS]
        if not text.endswith("}"):
            doc["checks"] = {}
            text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return text


# ---------------------------------------------------------------------------------------------
# Side effects
# ---------------------------------------------------------------------------------------------


def run(cfg: Config, probes: Probes, ssm: Any, cloudwatch: Any, now: datetime) -> dict[str, Any]:
    results = evaluate(cfg, probes)
    passed, faults, shared = verdict(results, cfg)
    try:
        current = ssm.get_parameter(Name=cfg.health_parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        current = None
    state = next_state(parse_parameter(current), passed, cfg)
    ssm.put_parameter(
        Name=cfg.health_parameter,
        Value=render_parameter(state, results, now),
        Type="String",
        Overwrite=True,
    )
    dimensions = [{"Name": "Pod", "Value": cfg.pod}]
    cloudwatch.put_metric_data(
        Namespace=cfg.metric_namespace,
        MetricData=[
            {
                "MetricName": "Healthy",
                "Dimensions": dimensions,
                "Value": 1.0 if state.status == HEALTHY else 0.0,
            },
            {"MetricName": "ProbesPassed", "Dimensions": dimensions, "Value": 1.0 if passed else 0.0},
            {
                "MetricName": "ProbeFailures",
                "Dimensions": dimensions,
                "Value": float(sum(not r.ok for r in results.values())),
                "Unit": "Count",
            },
            {
                "MetricName": "PodFaults",
                "Dimensions": dimensions,
                "Value": float(len(faults)),
                "Unit": "Count",
            },
            # Per pod, and once more without the dimension for the one fleet-wide alarm.
            *(
                {
                    "MetricName": "SharedDependencyFailures",
                    "Dimensions": d,
                    "Value": float(len(shared)),
                    "Unit": "Count",
                }
                for d in (dimensions, [])
            ),
            # Only after the record was written: no datapoint means the record goes stale.
            {"MetricName": "RecordWritten", "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"},
        ],
    )
    return {
        "pod": cfg.pod,
        "status": state.status,
        "passed": passed,
        "faults": faults,
        "shared_failures": shared,
        "checks": {k: r.ok for k, r in results.items()},
    }


def http_get(url: str, timeout: float) -> str:
    # Only https URLs are configured (the module validates it); the scheme check keeps it that way.
    if not url.startswith("https://"):
        raise ValueError("only https:// URLs are probed")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read(256).decode("utf-8", "replace")


def tcp_connect(host: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "connected"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except socket.gaierror as exc:
        return f"unresolved: {exc}"
    except OSError as exc:
        return f"error: {exc}"


def handler(event: Any, context: Any) -> dict[str, Any]:
    import boto3  # provided by the Lambda runtime; imported here so the core needs no AWS SDK

    cfg = Config.from_env(os.environ)
    return run(
        cfg, Probes(http_get, tcp_connect), boto3.client("ssm"), boto3.client("cloudwatch"), datetime.now(UTC)
    )
