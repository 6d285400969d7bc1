"""modules/flow-log: plan against a YAML inventory, the encryption and least-privilege promises, apply
on the sandbox, re-plan clean, destroy clean. (Its moves out of the VPC modules are proven in
test_workload_vpc.py's apply test.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/flow-log"
MODULE = "modules/flow-log"
MODULE_VARS = {"name": "orders", "vpc_id": "vpc-0123456789abcdef0"}


def _after(plan: dict) -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan.get("resource_changes", [])
        if rc["mode"] == "managed"
    }


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "flow_log.yaml")


@pytest.mark.plan
def test_plan_key_and_role_serve_this_log_group_only(tfroot, aws_env) -> None:
    plan = tfroot(MODULE, aws_env).plan(MODULE_VARS)
    after = _after(plan)
    key_policy = json.loads(after["aws_kms_key.this[0]"]["policy"])
    logs = next(s for s in key_policy["Statement"] if s["Sid"] == "FlowLogGroupOnly")
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/aws/vpc-flow-logs/orders"
    )
    assume = json.loads(after["aws_iam_role.this[0]"]["assume_role_policy"])["Statement"][0]
    assert assume["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert set(assume["Condition"]) == {"StringEquals", "ArnLike"}  # this account's flow logs only


@pytest.mark.plan
def test_plan_refuses_an_unencrypted_group_and_creates_nothing_when_off(tfroot, aws_env) -> None:
    with pytest.raises(TofuError, match=r"flow logs are\s+always encrypted"):
        tfroot(MODULE, aws_env).plan({**MODULE_VARS, "create_kms_key": False})
    assert _after(tfroot(MODULE, aws_env).plan({**MODULE_VARS, "create": False})) == {}


@pytest.mark.apply
def test_apply_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        logs = sandbox.client("ec2").describe_flow_logs(
            Filters=[{"Name": "resource-id", "Values": [out["vpc_id"]]}]
        )["FlowLogs"]
        assert len(logs) == 1 and logs[0]["TrafficType"] == "ALL"
        assert logs[0]["LogDestination"].endswith(f":log-group:{out['log_group_name']}")
        group = sandbox.client("logs").describe_log_groups(logGroupNamePrefix=out["log_group_name"])[
            "logGroups"
        ][0]
        assert group["kmsKeyId"] == out["kms_key_arn"]
        tf.assert_no_changes()
    finally:
        tf.destroy()
    assert not sandbox.client("logs").describe_log_groups(
        logGroupNamePrefix="/aws/vpc-flow-logs/flow-log-example"
    )["logGroups"]
