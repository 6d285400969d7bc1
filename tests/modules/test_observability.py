"""modules/observability: alarms (tunnels, instances, TGW attachments, fleet), dashboard, topic, log groups.

Plan: inventory of examples/observability and the dashboard's content. Apply on the sandbox: every
alarm's metric, dimensions and action, the encrypted topic and its policy, the dashboard body and the
log groups read back with boto3; re-plan; destroy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/observability"
MODULE = "modules/observability"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
EMULATOR_DIFFS: dict[str, str] = {}


def _after(plan: dict, prefix: str = "") -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["address"].startswith(prefix)
    }


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "observability.yaml")


@pytest.mark.plan
def test_plan_dashboard_shows_every_watched_thing(tfroot, aws_env) -> None:
    plan = tfroot(EXAMPLE, aws_env).plan()
    body = json.loads(_after(plan)["module.observability.aws_cloudwatch_dashboard.this[0]"]["dashboard_body"])
    metrics = [tuple(m[:2]) for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert metrics.count(("microseg/pods", "Healthy")) == 2
    assert metrics.count(("AWS/VPN", "TunnelState")) == 4
    # Chargeback: bytes of every attachment, workloads included (they have no alarm).
    assert metrics.count(("AWS/TransitGateway", "BytesIn")) == 4
    assert metrics.count(("AWS/EC2", "CPUUtilization")) == 4
    assert metrics.count(("AWS/Lambda", "Errors")) == 2


@pytest.mark.plan
def test_plan_without_pods_has_no_empty_widgets(tfroot, aws_env) -> None:
    plan = tfroot(MODULE, aws_env).plan(
        {
            "name": "x",
            "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
            "instances": {"a": {"instance_id": "i-0123456789abcdef0"}},
        }
    )
    after = _after(plan)
    body = json.loads(after["aws_cloudwatch_dashboard.this[0]"]["dashboard_body"])
    assert body["widgets"] and all(w["properties"]["metrics"] for w in body["widgets"])
    assert "aws_cloudwatch_metric_alarm.fleet_capacity[0]" not in after


@pytest.mark.plan
def test_plan_rejects_short_log_retention(tfroot, aws_env) -> None:
    with pytest.raises(TofuError, match="at least 365"):
        tfroot(EXAMPLE, aws_env).plan({"log_groups": {"/x": {"retention_in_days": 30}}})


@pytest.mark.apply
@pytest.mark.slow
def test_apply_observability_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        cw, sns, logs = sandbox.client("cloudwatch"), sandbox.client("sns"), sandbox.client("logs")
        alarms = {
            a["AlarmName"]: a
            for a in cw.describe_alarms(AlarmNamePrefix="microseg-", MaxRecords=100)["MetricAlarms"]
        }
        topic = out["sns_topic_arn"]

        tunnel = alarms["microseg-pod-01-tunnel2-down"]
        assert (tunnel["Namespace"], tunnel["MetricName"]) == ("AWS/VPN", "TunnelState")
        assert tunnel["Dimensions"] == [{"Name": "TunnelIpAddress", "Value": "203.0.113.11"}]
        assert (
            tunnel["TreatMissingData"] == "breaching" and tunnel["ComparisonOperator"] == "LessThanThreshold"
        )
        assert len([a for a in alarms if a.endswith("-down")]) == 4

        for inst in ("pod-01-vpn", "pod-01-fw", "pod-02-vpn", "pod-02-fw"):
            assert alarms[f"microseg-{inst}-status-check"]["MetricName"] == "StatusCheckFailed"
            assert alarms[f"microseg-{inst}-cpu"]["Threshold"] == 80
        # 600 Mbps for one minute = 600e6 / 8 * 60 bytes.
        assert alarms["microseg-pod-02-fw-NetworkOut"]["Threshold"] == 600e6 / 8 * 60
        assert alarms["microseg-pod-01-vpn-NetworkIn"]["Threshold"] == 800e6 / 8 * 60

        tgw = alarms["microseg-tgw-pod-01-BytesIn"]
        assert tgw["Namespace"] == "AWS/TransitGateway"
        assert {d["Name"]: d["Value"] for d in tgw["Dimensions"]} == {
            "TransitGateway": "tgw-0123456789abcdef0",
            "TransitGatewayAttachment": "tgw-attach-0123456789abcdef2",
        }
        assert not [a for a in alarms if a.startswith("microseg-tgw-payments")]  # dashboard only

        fleet = alarms["microseg-fleet-below-required"]
        assert fleet["Threshold"] == 1 and fleet["Metrics"][0]["Expression"].startswith("SELECT SUM(Healthy)")

        for a in alarms.values():
            assert a["AlarmActions"] == [topic], a["AlarmName"]

        attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        assert attrs["KmsMasterKeyId"] == out["kms_key_arn"]
        policy = json.loads(attrs["Policy"])
        assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "cloudwatch.amazonaws.com"}]

        body = json.loads(cw.get_dashboard(DashboardName=out["dashboard_name"])["DashboardBody"])
        assert len(body["widgets"]) == 8

        lg = logs.describe_log_groups(logGroupNamePrefix="/microseg/appliances")["logGroups"][0]
        assert lg["retentionInDays"] == 365 and lg["kmsKeyId"] == out["kms_key_arn"]

        allowed = tf.assert_no_changes(emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")
    finally:
        tf.destroy()

    cw = sandbox.client("cloudwatch")
    assert cw.describe_alarms(AlarmNamePrefix="microseg-")["MetricAlarms"] == []
