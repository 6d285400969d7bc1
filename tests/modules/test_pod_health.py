"""modules/pod-health: one health-check function per pod, in that pod's bridge subnet.

Plan: inventory of examples/pod-health (package, VPC placement, schedule, alarms, hysteresis settings).
Apply on the sandbox: functions, schedules, permissions, least-privilege roles and alarms read back with
boto3; re-plan; destroy. What the function *does* is tested in tests/unit_lambda (moto in-process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tfharness import CLIS, REPO, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/pod-health"
MODULE = "modules/pod-health"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
EMULATOR_DIFFS: dict[str, str] = {}
# Not checked on the sandbox, with the reason:
# - invoking the function: moto runs Lambda code only inside Docker, which this sandbox lacks; the
#   handler is exercised against moto's SSM/CloudWatch in tests/unit_lambda instead.


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("lambda") / "pod-health.zip"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_lambda.py"), "--out", str(out)], check=True)
    return str(out)


def _after(plan: dict, prefix: str = "") -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["address"].startswith(prefix)
    }


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, lambda_zip, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan({"lambda_zip_path": lambda_zip})
    assert_inventory(plan_summary(plan), HERE / "inventories" / "pod_health.yaml")


@pytest.mark.plan
def test_plan_probe_configuration_reaches_each_function(tfroot, aws_env, lambda_zip) -> None:
    plan = tfroot(EXAMPLE, aws_env).plan({"lambda_zip_path": lambda_zip})
    after = _after(plan, "module.pod_health.")
    for pod, eip in (("pod-01", "198.51.100.21"), ("pod-02", "198.51.100.22")):
        env = after[f'module.pod_health.aws_lambda_function.this["{pod}"]']["environment"][0]["variables"]
        assert env["POD"] == pod and env["EXPECTED_PUBLIC_IP"] == eip
        assert env["HEALTH_PARAMETER"] == f"/microseg/pods/{pod}/health"
        assert json.loads(env["WORKLOAD_PROBES"]) == {"payments": {"host": "10.64.0.10", "port": 443}}
        assert json.loads(env["DENIED_PROBE"]) == {"host": "checkip.amazonaws.com", "port": 80}
        sg = after[f'module.pod_health.aws_security_group.this["{pod}"]']
        assert not sg.get("ingress")  # no inline ingress: nothing may open a connection to the function
        egress = sorted((r["from_port"], tuple(r["cidr_blocks"])) for r in sg["egress"])
        # 443 for the internet probe, 80 for the denied probe (it must reach the fw to be dropped there),
        # the workload target only to its host.
        assert egress == [(80, ("0.0.0.0/0",)), (443, ("0.0.0.0/0",)), (443, ("10.64.0.10/32",))]


@pytest.mark.plan
def test_plan_source_hash_follows_the_package(tfroot, aws_env, lambda_zip, tmp_path) -> None:
    import base64
    import hashlib

    plan = tfroot(EXAMPLE, aws_env).plan({"lambda_zip_path": lambda_zip})
    fn = _after(plan)['module.pod_health.aws_lambda_function.this["pod-01"]']
    expected = base64.b64encode(hashlib.sha256(Path(lambda_zip).read_bytes()).digest()).decode()
    assert fn["source_code_hash"] == expected


def _module_vars(zip_path: str, **over: object) -> dict:
    return {
        "name": "microseg",
        "vpc_id": "vpc-0123456789abcdef0",
        "pods": {
            "pod-01": {
                "bridge_subnet_id": "subnet-0123456789abcdef0",
                "health_parameter_name": "/microseg/pods/pod-01/health",
            }
        },
        "lambda_zip_path": zip_path,
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
    } | over


@pytest.mark.plan
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"internet_url": "http://checkip.amazonaws.com/"}, "https:// URL"),
        ({"workload_probes": {"payments": {"host": "payments.internal", "port": 443}}}, "IPv4 addresses"),
        (
            {"pods": {"pod-01": {"bridge_subnet_id": "subnet-1", "health_parameter_name": "health"}}},
            "starting with /",
        ),
        ({"log_retention_days": 30}, "at least 365"),
    ],
)
def test_module_rejects_invalid_settings(tfroot, aws_env, lambda_zip, override: dict, message: str) -> None:
    with pytest.raises(TofuError, match=message):
        tfroot(MODULE, aws_env).plan(_module_vars(lambda_zip, **override))


@pytest.mark.plan
def test_module_without_alarms_or_denied_probe(tfroot, aws_env, lambda_zip) -> None:
    plan = tfroot(MODULE, aws_env).plan(_module_vars(lambda_zip, create_alarms=False, denied_probe=None))
    after = _after(plan)
    assert not [a for a in after if a.startswith("aws_cloudwatch_metric_alarm.")]
    assert (
        after['aws_lambda_function.this["pod-01"]']["environment"][0]["variables"]["DENIED_PROBE"] == "null"
    )
    assert [r["from_port"] for r in after['aws_security_group.this["pod-01"]']["egress"]] == [443]


@pytest.mark.apply
@pytest.mark.slow
def test_apply_pod_health_replan_destroy(tfroot, sandbox, lambda_zip) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    vars = {"lambda_zip_path": lambda_zip}
    tf.apply(vars)
    try:
        out = tf.output()
        lam, events, cw, iam = (sandbox.client(s) for s in ("lambda", "events", "cloudwatch", "iam"))
        for pod, fn_name in out["function_names"].items():
            fn = lam.get_function(FunctionName=fn_name)
            cfg = fn["Configuration"]
            # The ENI goes into this pod's bridge subnet, so the probes cross this pod's fw.
            assert cfg["VpcConfig"]["SubnetIds"] == [out["bridge_subnet_ids"][pod]]
            assert cfg["VpcConfig"]["SecurityGroupIds"] == [out["security_group_ids"][pod]]
            assert cfg["Handler"] == "health_check.handler" and cfg["Runtime"].startswith("python3")
            assert cfg["Environment"]["Variables"]["HEALTH_PARAMETER"] == out["health_parameter_names"][pod]
            assert cfg["KMSKeyArn"].startswith("arn:aws:kms:")
            assert cfg["TracingConfig"]["Mode"] == "Active"
            assert fn["Concurrency"]["ReservedConcurrentExecutions"] == 1

            rule = events.describe_rule(Name=out["schedule_rule_names"][pod])
            assert rule["ScheduleExpression"] == "rate(1 minute)" and rule["State"] == "ENABLED"
            targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            assert [t["Arn"] for t in targets] == [cfg["FunctionArn"]]
            policy = json.loads(lam.get_policy(FunctionName=fn_name)["Policy"])
            stmt = policy["Statement"][0]
            assert stmt["Principal"]["Service"] == "events.amazonaws.com"
            assert stmt["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]

            # Least privilege: this pod's parameter only, metrics only into the pods' namespace.
            role = cfg["Role"].split("/")[-1]
            doc = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
            stmts = {s["Sid"]: s for s in (json.loads(doc) if isinstance(doc, str) else doc)["Statement"]}
            assert stmts["OwnHealthParameter"]["Resource"].endswith(f":parameter/microseg/pods/{pod}/health")
            assert stmts["OwnMetrics"]["Condition"]["StringEquals"]["cloudwatch:namespace"] == "microseg/pods"
            assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

        alarms = {
            a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="microseg-pod-")["MetricAlarms"]
        }
        for pod in out["function_names"]:
            a = alarms[f"microseg-{pod}-unhealthy"]
            assert (a["Namespace"], a["MetricName"]) == ("microseg/pods", "Healthy")
            assert a["Dimensions"] == [{"Name": "Pod", "Value": pod}]
            assert a["ComparisonOperator"] == "LessThanThreshold" and a["Threshold"] == 1
            assert a["TreatMissingData"] == "breaching"  # a check that stopped reporting alarms too
            assert a["AlarmActions"] == [out["alarm_topic_arn"]]
            assert alarms[f"microseg-{pod}-health-check-errors"]["MetricName"] == "Errors"
            # The record going stale (the function stopped writing it) alarms on its own.
            stale = alarms[f"microseg-{pod}-health-record-stale"]
            assert (stale["MetricName"], stale["Dimensions"]) == (
                "RecordWritten",
                [{"Name": "Pod", "Value": pod}],
            )
            assert stale["TreatMissingData"] == "breaching" and stale["AlarmActions"] == [
                out["alarm_topic_arn"]
            ]
        # One fleet-wide alarm for shared dependencies (the internet probe): no Pod dimension.
        (shared,) = cw.describe_alarms(AlarmNames=["microseg-health-shared-dependency"])["MetricAlarms"]
        assert (shared["MetricName"], shared.get("Dimensions", [])) == ("SharedDependencyFailures", [])
        assert shared["TreatMissingData"] == "notBreaching" and shared["AlarmActions"] == [
            out["alarm_topic_arn"]
        ]

        logs = sandbox.client("logs")
        for fn_name in out["function_names"].values():
            lg = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{fn_name}")["logGroups"][0]
            assert lg["retentionInDays"] == 365 and "kmsKeyId" in lg

        allowed = tf.assert_no_changes(vars, emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")
    finally:
        tf.destroy(vars)

    assert not [
        f
        for f in sandbox.client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith("microseg-pod-")
    ]
