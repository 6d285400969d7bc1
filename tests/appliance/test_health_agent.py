"""The health agent's decision logic and its vtysh conversation (the real vtysh runs in the lab)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "modules" / "pod" / "agent" / "health_agent.py"
spec = importlib.util.spec_from_file_location("health_agent", SRC)
assert spec and spec.loader
ha = importlib.util.module_from_spec(spec)
sys.modules["health_agent"] = ha
spec.loader.exec_module(ha)

RUNNING = """\
frr version 8.4.4
router bgp 65001
 bgp router-id 10.0.8.5
 address-family ipv4 unicast
{network} neighbor 169.254.10.1 activate
 exit-address-family
exit
!
router bgp 65099 vrf other
 address-family ipv4 unicast
  network 0.0.0.0/0
 exit-address-family
exit
"""


class FakeFrr:
    """Records vtysh calls and keeps the `network` statement state like bgpd does."""

    def __init__(self, advertised: bool = False, fail: bool = False) -> None:
        self.advertised = advertised
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.calls.append(list(argv))
        if self.fail:
            raise RuntimeError("vtysh: bgpd is not running")
        if "show running-config" in argv:
            return RUNNING.format(network="  network 0.0.0.0/0\n" if self.advertised else "")
        if "network 0.0.0.0/0" in argv:
            self.advertised = True
        elif "no network 0.0.0.0/0" in argv:
            self.advertised = False
        return ""


@pytest.mark.parametrize(
    ("raw", "healthy"),
    [
        ('{"status": "healthy", "checked_at": "2026-11-25T12:00:00Z"}', True),
        ('{"status": "unhealthy", "reason": "not checked yet"}', False),
        ('{"status": "HEALTHY"}', False),
        ('"healthy"', False),
        ("healthy", False),
        ("", False),
        ("[]", False),
    ],
)
def test_only_a_healthy_status_is_healthy(raw: str, healthy: bool) -> None:
    assert ha.parse_health(raw)[0] is healthy


def test_reason_names_the_failed_checks() -> None:
    ok, reason = ha.parse_health(
        json.dumps(
            {
                "status": "unhealthy",
                "checks": {"internet": {"ok": False}, "payments": {"ok": True}, "denied": {"ok": False}},
            }
        )
    )
    assert not ok and "denied, internet" in reason


def test_gate_needs_rise_healthy_and_fall_unhealthy_in_a_row() -> None:
    g = ha.Gate(rise=2, fall=2)
    assert [g.observe(h) for h in (True, False, True, True, False, True, False, False, True)] == [
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_agent_advertises_then_withdraws_and_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "health.json"
    frr = FakeFrr()
    agent = ha.Agent(
        ha.FileSource(state), ha.Gate(rise=1, fall=1), ha.Bgp(65001, ("vtysh", "-N", "x"), run=frr)
    )
    state.write_text('{"status": "healthy"}')
    assert agent.step() is True and frr.advertised
    assert frr.calls[-1] == [
        "vtysh",
        "-N",
        "x",
        "-c",
        "configure terminal",
        "-c",
        "router bgp 65001",
        "-c",
        "address-family ipv4 unicast",
        "-c",
        "network 0.0.0.0/0",
    ]
    assert agent.step() is None  # no change, no configuration call
    assert frr.calls[-1][-1] == "show running-config"
    state.write_text('{"status": "unhealthy", "reason": "internet probe failed"}')
    assert agent.step() is False and not frr.advertised
    assert "withdrawing 0.0.0.0/0: status 'unhealthy' (internet probe failed)" in caplog.text
    assert "advertising 0.0.0.0/0" in caplog.text


def test_a_pod_kept_withdrawn_says_why_once_per_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A pod that never joins must say why in its journal, without a line per poll."""
    state, frr = tmp_path / "h", FakeFrr()
    agent = ha.Agent(ha.FileSource(state), ha.Gate(rise=2, fall=2), ha.Bgp(65001, run=frr))
    state.write_text('{"status": "unhealthy", "reason": "not checked yet"}')
    assert agent.step() is None and agent.step() is None and not frr.advertised
    assert caplog.text.count("not advertising 0.0.0.0/0: status 'unhealthy' (not checked yet)") == 1
    state.write_text('{"status": "healthy"}')
    assert agent.step() is None  # rise 2: one healthy read is not enough
    assert "not advertising 0.0.0.0/0: healthy (1 of 2 in a row)" in caplog.text
    assert agent.step() is True and frr.advertised
    assert caplog.text.count("not advertising") == 2


def test_missing_state_withdraws(tmp_path: Path) -> None:
    frr = FakeFrr(advertised=True)
    agent = ha.Agent(
        ha.FileSource(tmp_path / "absent"), ha.Gate(rise=1, fall=1, advertise=True), ha.Bgp(65001, run=frr)
    )
    assert agent.step() is False and not frr.advertised


def test_reconciles_when_frr_restarted_without_the_statement(tmp_path: Path) -> None:
    state = tmp_path / "h"
    state.write_text('{"status": "healthy"}')
    frr = FakeFrr(advertised=False)
    agent = ha.Agent(ha.FileSource(state), ha.Gate(rise=1, fall=1, advertise=True), ha.Bgp(65001, run=frr))
    assert agent.step() is True and frr.advertised


def test_other_bgp_instances_do_not_count() -> None:
    frr = FakeFrr(advertised=False)
    assert ha.Bgp(65001, run=frr).advertised() is False
    assert ha.Bgp(65099, run=frr).advertised() is True


def test_vtysh_failure_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "h"
    state.write_text('{"status": "healthy"}')
    agent = ha.Agent(ha.FileSource(state), ha.Gate(rise=1, fall=1), ha.Bgp(65001, run=FakeFrr(fail=True)))
    assert agent.step() is None
    assert "cannot advertise" in caplog.text


def test_cli_rejects_bad_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert ha.main(["--source", "http://x", "--asn", "65001", "--once"]) == 2
    assert "expected file:PATH or ssm:NAME" in capsys.readouterr().err


# --- the local check: the fw across the bridge --------------------------------------------------


def _local(ping: str = "ok", answers: dict[tuple[str, int], str] | None = None) -> ha.LocalCheck:
    answers = (
        answers if answers is not None else {("10.64.0.10", 443): "refused", ("10.64.16.10", 443): "timeout"}
    )
    calls: list[tuple[str, int, str | None]] = []

    def connect(host: str, port: int, source: str | None, timeout: float) -> str:
        calls.append((host, port, source))
        return answers[(host, port)]

    check = ha.LocalCheck("10.0.8.4", "10.0.8.5", list(answers), 1.0, lambda d, s, t: ping, connect)
    check.calls = calls  # type: ignore[attr-defined]
    return check


def test_local_check_passes_when_the_fw_answers_and_any_target_answers_through_it() -> None:
    check = _local()
    assert check.run() == (True, "fw answers and forwards")
    # Every forwarded probe leaves from the vpn's bridge address (routed to the fw, not the tunnels).
    assert {c[2] for c in check.calls} == {"10.0.8.5"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ping", "answers", "why"),
    [
        ("timeout", None, "does not answer across the bridge"),
        ("ok", {("10.64.0.10", 443): "timeout", ("10.64.16.10", 443): "error: no route"}, "does not forward"),
    ],
)
def test_local_check_fails_on_a_silent_or_non_forwarding_fw(
    ping: str, answers: dict[tuple[str, int], str] | None, why: str
) -> None:
    ok, reason = _local(ping, answers).run()
    assert not ok and why in reason


def _advertising_agent(state: Path, record: str, frr: FakeFrr, **kw: object) -> ha.Agent:
    """An agent whose pod is advertised, reading `record` from `state` (rise/fall 1 on the record)."""
    state.write_text(record)
    return ha.Agent(
        ha.FileSource(state), ha.Gate(rise=1, fall=1, advertise=True), ha.Bgp(65001, run=frr), **kw
    )


def test_either_judge_withdraws_and_both_are_needed_to_rejoin(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state, frr, fw = tmp_path / "h", FakeFrr(advertised=True), {"ping": "ok"}
    check = ha.LocalCheck("10.0.8.4", None, (), 1.0, lambda d, s, t: fw["ping"])
    agent = _advertising_agent(
        state, '{"status": "healthy"}', frr, local=check, local_gate=ha.Gate(rise=2, fall=2, advertise=True)
    )
    assert agent.step() is None and frr.advertised
    fw["ping"] = "timeout"  # the fw dies; the record (written once a minute) still says healthy
    assert agent.step(record=False) is None  # one failure is not enough
    assert agent.step(record=False) is False and not frr.advertised
    assert "local check: fw 10.0.8.4 does not answer" in caplog.text
    fw["ping"] = "ok"
    assert agent.step(record=False) is None  # rise 2
    state.write_text('{"status": "unhealthy"}')  # meanwhile the full proof failed too
    assert agent.step() is None and not frr.advertised
    state.write_text('{"status": "healthy"}')
    assert agent.step() is True and frr.advertised  # both healthy again


class CountingSource(ha.FileSource):
    """A file source that counts its reads (the SSM API is shared by every pod)."""

    reads = 0

    def read(self) -> str:
        type(self).reads += 1
        return super().read()


def test_after_a_local_withdrawal_the_pod_rejoins_only_on_a_record_read_since(tmp_path: Path) -> None:
    """A fw fault the local check withdrew for and a full check also saw: on repair the pod stays out
    until the record says healthy again, instead of rejoining and leaving again on the record's
    verdict (its flows moved twice). One extra read per withdrawal, not one per local check."""
    state, frr, fw = tmp_path / "h", FakeFrr(advertised=True), {"ping": "ok"}
    state.write_text('{"status": "healthy"}')
    check = ha.LocalCheck("10.0.8.4", None, (), 1.0, lambda d, s, t: fw["ping"])
    source, now = CountingSource(state), [0.0]
    agent = ha.Agent(
        source,
        ha.Gate(rise=2, fall=2, advertise=True),
        ha.Bgp(65001, run=frr),
        local=check,
        local_gate=ha.Gate(rise=2, fall=2, advertise=True),
        monotonic=lambda: now[0],
    )
    assert agent.step() is None and frr.advertised
    fw["ping"] = "timeout"
    for _ in range(2):
        now[0] += 2
        agent.step(record=False)
    assert not frr.advertised
    state.write_text('{"status": "unhealthy", "reason": "fw does not forward"}')  # a full check ran
    fw["ping"] = "ok"
    reads = CountingSource.reads
    for _ in range(5):  # repaired: the local check passes again and again
        now[0] += 2
        assert agent.step(record=False) is None and not frr.advertised
    assert CountingSource.reads == reads + 1
    state.write_text('{"status": "healthy"}')  # the next full check, after the repair
    now[0] += 2
    assert agent.step() is True and frr.advertised


def test_a_record_fault_withdraws_while_the_local_check_passes(tmp_path: Path) -> None:
    frr = FakeFrr(advertised=True)
    check = ha.LocalCheck("10.0.8.4", None, (), 1.0, lambda d, s, t: "ok")
    agent = _advertising_agent(
        tmp_path / "h", '{"status": "unhealthy", "faults": ["denied"]}', frr, local=check
    )
    assert agent.step() is False and not frr.advertised


def test_a_stale_record_is_logged_once_and_keeps_the_verdict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime

    frr = FakeFrr(advertised=True)
    agent = _advertising_agent(
        tmp_path / "h",
        '{"status": "healthy", "checked_at": "2026-11-25T12:00:00Z"}',
        frr,
        stale_after=300,
        clock=lambda: datetime(2026, 11, 25, 12, 10, 0, tzinfo=UTC),
    )
    assert agent.step() is None and agent.step() is None and frr.advertised
    assert caplog.text.count("health record is stale (600 s old)") == 1


def test_record_age() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)
    assert ha.record_age('{"checked_at": "2026-11-25T12:00:00Z"}', now) == 30
    assert ha.record_age('{"status": "healthy"}', now) is None


def test_icmp_echo_and_tcp_probe_on_loopback() -> None:
    import os
    import socket

    if os.geteuid() != 0:
        pytest.fail("ICMP needs root (the agent runs as root)")
    assert ha.icmp_echo("127.0.0.1", None, 1.0) == "ok"
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]
        assert ha.tcp_probe("127.0.0.1", port, "127.0.0.1", 1.0) == "refused"


def test_cli_rejects_a_bad_forward_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ha.parse_args(["--source", "file:/x", "--asn", "65001", "--fw", "10.0.8.4", "--forward", "10.0.0.1"])
    assert "expected HOST:PORT" in capsys.readouterr().err
    args = ha.parse_args(["--source", "file:/x", "--asn", "1", "--fw", "f", "--forward", "10.0.0.1:443"])
    assert args.forward == [("10.0.0.1", 443)] and args.check_interval == 2.0 and args.check_fall == 2
