"""The pod-health Lambda: pure decision logic, and its effects on SSM and CloudWatch (moto, in-process).

Probes are injected functions, so every network outcome (connected, refused, timeout, wrong SNAT
address, HTTP failure) is exercised without a network; the AWS side is moto's SSM and CloudWatch.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SRC = Path(__file__).resolve().parents[2] / "modules" / "pod-health" / "src" / "health_check.py"
_spec = importlib.util.spec_from_file_location("health_check", SRC)
assert _spec and _spec.loader
hc = importlib.util.module_from_spec(_spec)
sys.modules["health_check"] = hc
_spec.loader.exec_module(hc)

REGION = "us-east-1"
PARAM = "/microseg/pods/pod-01/health"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
FW_EIP = "198.51.100.21"

ENV = {
    "POD": "pod-01",
    "HEALTH_PARAMETER": PARAM,
    "METRIC_NAMESPACE": "microseg/pods",
    "INTERNET_URL": "https://checkip.amazonaws.com/",
    "EXPECTED_PUBLIC_IP": FW_EIP,
    "WORKLOAD_PROBES": json.dumps(
        {"payments": {"host": "10.64.0.10", "port": 443}, "orders": {"host": "10.65.0.10", "port": 8443}}
    ),
    "DENIED_PROBE": json.dumps({"host": "checkip.amazonaws.com", "port": 80}),
    "TIMEOUT_SECONDS": "1",
    "HEALTHY_THRESHOLD": "2",
    "UNHEALTHY_THRESHOLD": "2",
}


def probes(
    internet: str | Exception = FW_EIP + "\n",
    workloads: dict[tuple[str, int], str] | None = None,
    denied: str = "timeout",
) -> hc.Probes:
    """A network where the fw works unless told otherwise."""
    answers = {("10.64.0.10", 443): "connected", ("10.65.0.10", 8443): "refused", **(workloads or {})}

    def http_get(url: str, timeout: float) -> str:
        if isinstance(internet, Exception):
            raise internet
        return internet

    def tcp_connect(host: str, port: int, timeout: float) -> str:
        if (host, port) == ("checkip.amazonaws.com", 80):
            return denied
        return answers[(host, port)]

    return hc.Probes(http_get, tcp_connect)


CFG = hc.Config.from_env(ENV)


# --- configuration ------------------------------------------------------------------------------


def test_config_from_env_parses_targets_in_sorted_order() -> None:
    assert list(CFG.workload_probes) == ["orders", "payments"]
    assert CFG.workload_probes["payments"] == hc.Target("10.64.0.10", 443)
    assert CFG.denied_probe == hc.Target("checkip.amazonaws.com", 80)
    assert CFG.expected_public_ip == FW_EIP and CFG.timeout_seconds == 1.0


def test_config_without_optional_probes() -> None:
    cfg = hc.Config.from_env(
        {"POD": "p", "HEALTH_PARAMETER": "/x", "DENIED_PROBE": "null", "EXPECTED_PUBLIC_IP": ""}
    )
    assert cfg.workload_probes == {} and cfg.denied_probe is None and cfg.expected_public_ip is None


# --- evaluate -----------------------------------------------------------------------------------


def test_all_probes_pass_when_the_fw_works() -> None:
    results = hc.evaluate(CFG, probes())
    assert sorted(results) == ["denied", "internet", "workload:orders", "workload:payments"]
    assert all(r.ok for r in results.values()), results


def test_refused_connection_proves_the_path_but_timeout_does_not() -> None:
    results = hc.evaluate(CFG, probes(workloads={("10.65.0.10", 8443): "timeout"}))
    assert results["workload:payments"].ok
    assert not results["workload:orders"].ok
    assert "timeout" in results["workload:orders"].detail


def test_socket_error_is_a_failure() -> None:
    results = hc.evaluate(CFG, probes(workloads={("10.64.0.10", 443): "error: [Errno 113] No route to host"}))
    assert not results["workload:payments"].ok


@pytest.mark.parametrize("outcome", ["connected", "refused", "error: [Errno 113] No route to host"])
def test_denied_flow_must_time_out(outcome: str) -> None:
    """Connected/refused: the fw let it through; an ICMP error: it rejected instead of dropping."""
    results = hc.evaluate(CFG, probes(denied=outcome))
    assert not results["denied"].ok
    assert "must be dropped" in results["denied"].detail


def test_internet_egress_must_be_snat_to_the_fw_eip() -> None:
    results = hc.evaluate(CFG, probes(internet="203.0.113.99"))
    assert not results["internet"].ok
    assert "not the fw EIP" in results["internet"].detail


def test_internet_failure_is_reported() -> None:
    results = hc.evaluate(CFG, probes(internet=TimeoutError("timed out")))
    assert not results["internet"].ok and "timed out" in results["internet"].detail


# --- blast radius ---------------------------------------------------------------------------------


def test_checks_are_scoped_by_blast_radius() -> None:
    results = hc.evaluate(CFG, probes())
    assert results["internet"].scope == hc.SHARED
    assert {results[k].scope for k in ("denied", "workload:orders", "workload:payments")} == {hc.POD}


def test_internet_outage_is_shared_and_does_not_fail_the_pod() -> None:
    results = hc.evaluate(CFG, probes(internet=TimeoutError("timed out")))
    assert hc.verdict(results, CFG) == (True, [], ["internet"])
    # The wrong SNAT address is still the internet probe: shared, reported, not withdrawing.
    assert hc.verdict(hc.evaluate(CFG, probes(internet="203.0.113.99")), CFG) == (True, [], ["internet"])


def test_withdrawing_on_shared_failures_is_opt_in() -> None:
    cfg = hc.Config.from_env({**ENV, "WITHDRAW_ON_SHARED_FAILURE": "true"})
    assert cfg.withdraw_on_shared_failure and not CFG.withdraw_on_shared_failure
    results = hc.evaluate(cfg, probes(internet=TimeoutError("timed out")))
    assert hc.verdict(results, cfg) == (False, [], ["internet"])


def test_a_pod_fault_fails_the_pod_whatever_the_shared_checks_say() -> None:
    results = hc.evaluate(CFG, probes(workloads={("10.64.0.10", 443): "timeout"}))
    assert hc.verdict(results, CFG) == (False, ["workload:payments"], [])
    results = hc.evaluate(CFG, probes(denied="connected", internet=TimeoutError("x")))
    assert hc.verdict(results, CFG) == (False, ["denied"], ["internet"])


def test_unresolvable_denied_probe_is_a_shared_failure_not_a_pod_fault() -> None:
    results = hc.evaluate(CFG, probes(denied="unresolved: [Errno -3] Temporary failure in name resolution"))
    assert results["denied"].scope == hc.SHARED
    assert hc.verdict(results, CFG) == (True, [], ["denied"])


def test_tcp_connect_reports_an_unresolvable_name() -> None:
    assert hc.tcp_connect("name.invalid", 80, 1).startswith("unresolved")


def test_http_get_refuses_non_https() -> None:
    with pytest.raises(ValueError, match="https"):
        hc.http_get("http://checkip.amazonaws.com/", 1)


def test_tcp_connect_distinguishes_refused_and_timeout() -> None:
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]
        # Bound but not listening: the kernel answers with RST.
        assert hc.tcp_connect("127.0.0.1", port, 1) == "refused"
        srv.listen(1)
        assert hc.tcp_connect("127.0.0.1", port, 1) == "connected"


# --- state machine ------------------------------------------------------------------------------


def test_hysteresis_needs_consecutive_results() -> None:
    s = hc.State()  # a new pod: unhealthy
    s = hc.next_state(s, True, CFG)
    assert (s.status, s.streak) == ("unhealthy", 1)
    s = hc.next_state(s, True, CFG)
    assert (s.status, s.streak) == ("healthy", 0)
    s = hc.next_state(s, False, CFG)
    assert (s.status, s.streak) == ("healthy", 1)
    s = hc.next_state(s, True, CFG)  # a pass resets the streak: one lost probe never withdraws
    assert (s.status, s.streak) == ("healthy", 0)
    s = hc.next_state(hc.next_state(s, False, CFG), False, CFG)
    assert (s.status, s.streak) == ("unhealthy", 0)


def test_threshold_one_flips_immediately() -> None:
    cfg = hc.Config.from_env({**ENV, "HEALTHY_THRESHOLD": "1", "UNHEALTHY_THRESHOLD": "1"})
    assert hc.next_state(hc.State(), True, cfg).status == "healthy"
    assert hc.next_state(hc.State("healthy", 0), False, cfg).status == "unhealthy"


@pytest.mark.parametrize("value", [None, "", "not json", "[]", '{"status": "maybe"}', '{"streak": "x"}'])
def test_unreadable_parameter_fails_closed(value: str | None) -> None:
    state = hc.parse_parameter(value)
    assert state.status == "unhealthy"


def test_parameter_round_trip_and_size_limit() -> None:
    results = {f"workload:w{i:03d}": hc.ProbeResult(i % 2 == 0, "x" * 300) for i in range(60)}
    text = hc.render_parameter(hc.State("healthy", 1), results, NOW)
    assert len(text) <= hc.MAX_PARAMETER_CHARS
    doc = json.loads(text)
    assert doc["status"] == "healthy" and doc["streak"] == 1 and doc["truncated"] is True
    assert doc["checked_at"] == "2026-11-25T12:00:00Z"
    assert all(not c["ok"] for c in doc["checks"].values())  # failures are what is kept
    assert hc.parse_parameter(text) == hc.State("healthy", 1)


# --- effects on AWS (moto) ----------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        cw = boto3.client("cloudwatch", region_name=REGION)
        # What the pod module creates: unhealthy until proven.
        ssm.put_parameter(
            Name=PARAM, Type="String", Value=json.dumps({"status": "unhealthy", "reason": "not checked yet"})
        )
        yield ssm, cw


def _param(ssm) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(ssm.get_parameter(Name=PARAM)["Parameter"]["Value"])


def _metric(cw, name: str) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(minimum, maximum, samples) over everything written (both runs fall in one period)."""
    data = cw.get_metric_statistics(
        Namespace="microseg/pods",
        MetricName=name,
        Dimensions=[{"Name": "Pod", "Value": "pod-01"}],
        StartTime=datetime(2020, 1, 1, tzinfo=UTC),
        EndTime=datetime(2100, 1, 1, tzinfo=UTC),
        Period=60,
        Statistics=["Minimum", "Maximum", "SampleCount"],
    )["Datapoints"]
    return (
        min(d["Minimum"] for d in data),
        max(d["Maximum"] for d in data),
        sum(d["SampleCount"] for d in data),
    )


def test_new_pod_becomes_healthy_after_two_passing_runs(aws) -> None:  # type: ignore[no-untyped-def]
    ssm, cw = aws
    first = hc.run(CFG, probes(), ssm, cw, NOW)
    assert first["status"] == "unhealthy" and first["passed"] is True
    assert _param(ssm)["status"] == "unhealthy" and _param(ssm)["streak"] == 1
    second = hc.run(CFG, probes(), ssm, cw, NOW)
    assert second["status"] == "healthy"
    doc = _param(ssm)
    assert doc["status"] == "healthy" and doc["streak"] == 0
    assert set(doc["checks"]) == {"denied", "internet", "workload:orders", "workload:payments"}
    assert _metric(cw, "Healthy") == (0.0, 1.0, 2.0)  # unhealthy, then healthy
    assert _metric(cw, "ProbesPassed") == (1.0, 1.0, 2.0)


def test_healthy_pod_withdraws_after_two_failing_runs(aws) -> None:  # type: ignore[no-untyped-def]
    ssm, cw = aws
    ssm.put_parameter(
        Name=PARAM, Type="String", Overwrite=True, Value=json.dumps({"status": "healthy", "streak": 0})
    )
    broken = probes(denied="connected")  # the fw lets a denied flow through
    assert hc.run(CFG, broken, ssm, cw, NOW)["status"] == "healthy"
    result = hc.run(CFG, broken, ssm, cw, NOW)
    assert result["status"] == "unhealthy" and result["checks"]["denied"] is False
    doc = _param(ssm)
    assert doc["status"] == "unhealthy" and doc["checks"]["denied"]["ok"] is False
    failures = cw.get_metric_statistics(
        Namespace="microseg/pods",
        MetricName="ProbeFailures",
        Dimensions=[{"Name": "Pod", "Value": "pod-01"}],
        StartTime=datetime(2020, 1, 1, tzinfo=UTC),
        EndTime=datetime(2100, 1, 1, tzinfo=UTC),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in failures) == 2.0


def test_internet_outage_keeps_a_healthy_pod_and_raises_the_shared_metric(aws) -> None:  # type: ignore[no-untyped-def]
    ssm, cw = aws
    ssm.put_parameter(
        Name=PARAM, Type="String", Overwrite=True, Value=json.dumps({"status": "healthy", "streak": 0})
    )
    down = probes(internet=TimeoutError("timed out"))
    for _ in range(3):
        result = hc.run(CFG, down, ssm, cw, NOW)
        assert result["status"] == "healthy" and result["shared_failures"] == ["internet"]
    doc = _param(ssm)
    assert doc["status"] == "healthy" and doc["faults"] == [] and doc["shared_failures"] == ["internet"]
    assert doc["checks"]["internet"] == {
        "ok": False,
        "scope": "shared",
        "detail": doc["checks"]["internet"]["detail"],
    }
    assert _metric(cw, "SharedDependencyFailures") == (1.0, 1.0, 3.0)
    assert _metric(cw, "PodFaults") == (0.0, 0.0, 3.0)
    assert _metric(cw, "RecordWritten") == (1.0, 1.0, 3.0)
    # The fleet-wide series (no Pod dimension) that the one shared-dependency alarm watches. (moto's
    # statistics ignore the dimension filter, so the series is found with list_metrics.)
    series = cw.list_metrics(Namespace="microseg/pods", MetricName="SharedDependencyFailures")["Metrics"]
    assert {len(m.get("Dimensions", [])) for m in series} == {0, 1}


def test_no_record_written_no_record_metric(aws) -> None:  # type: ignore[no-untyped-def]
    """RecordWritten follows the write: a Lambda that cannot write its record sends no datapoint."""
    ssm, cw = aws

    class Broken:
        exceptions = ssm.exceptions

        def get_parameter(self, **kw):  # type: ignore[no-untyped-def]
            return ssm.get_parameter(**kw)

        def put_parameter(self, **kw):  # type: ignore[no-untyped-def]
            raise RuntimeError("AccessDenied")

    with pytest.raises(RuntimeError):
        hc.run(CFG, probes(), Broken(), cw, NOW)
    assert not cw.list_metrics(Namespace="microseg/pods", MetricName="RecordWritten")["Metrics"]


def test_missing_parameter_is_created_unhealthy(aws) -> None:  # type: ignore[no-untyped-def]
    ssm, cw = aws
    ssm.delete_parameter(Name=PARAM)
    assert hc.run(CFG, probes(), ssm, cw, NOW)["status"] == "unhealthy"
    assert _param(ssm)["streak"] == 1


def test_handler_reads_its_configuration_from_the_environment(aws, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ssm, _ = aws
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(hc, "http_get", lambda url, timeout: FW_EIP)
    monkeypatch.setattr(hc, "tcp_connect", probes().tcp_connect)
    out = hc.handler({}, None)
    assert out["pod"] == "pod-01" and out["passed"] is True
    assert _param(ssm)["streak"] == 1


def test_build_is_reproducible(tmp_path: Path) -> None:
    import zipfile

    sys.path.insert(0, str(SRC.parents[3] / "scripts"))
    import build_lambda

    a = build_lambda.build(SRC.parent, tmp_path / "a.zip")
    b = build_lambda.build(SRC.parent, tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert zf.namelist() == ["health_check.py"]
        assert zf.read("health_check.py") == SRC.read_bytes()
    assert build_lambda.main(["--source", str(tmp_path / "empty"), "--out", str(tmp_path / "c.zip")]) == 1
