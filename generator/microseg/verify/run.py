"""`microseg verify`: read the deployed network, trace every path out of every workload, report.

Exit codes: 0 every path crosses a pod (or is dropped), 1 at least one path bypasses inspection,
4 the network could not be read (AWS error, no credentials, nothing tagged for this network).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from .collect import CollectError, collect
from .model import BYPASS, TAG_NETWORK, TAG_ROLE
from .render import print_human, to_json
from .trace import trace_network

EXIT_OK = 0
EXIT_BYPASS = 1
EXIT_USAGE = 2
EXIT_UNREADABLE = 4
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


def _fail(message: str | list[str], as_json: bool, code: int = EXIT_UNREADABLE) -> int:
    messages = [message] if isinstance(message, str) else message
    console = Console(stderr=True, highlight=False)
    for m in messages:
        console.print(f"microseg verify: {m}", style="red", soft_wrap=True, markup=False)
    if as_json:  # same shape as the other commands' failures, so pipelines parse one format
        doc = {"ok": False, "exit_code": code, "errors": [{"message": m} for m in messages]}
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return code


def _usage_problems(role_name: str | None, accounts: Sequence[str]) -> list[str]:
    problems = [
        f"--account {a!r}: an AWS account id is 12 digits" for a in accounts if not ACCOUNT_ID.match(a)
    ]
    if accounts and not role_name:
        problems.append("--account needs --role-name (the role verify assumes in that account)")
    if role_name is not None and not re.fullmatch(r"[\w+=,.@/-]{1,512}", role_name):
        problems.append(f"--role-name {role_name!r}: not an IAM role name or path")
    return problems


def run_verify(
    region: str,
    name: str,
    endpoint_url: str | None,
    as_json: bool,
    role_name: str | None = None,
    accounts: Sequence[str] = (),
) -> int:
    """`role_name`: assume this role in every other account that owns a workload attachment to the
    network's TGW (and in `accounts`) to read its VPCs; without it those workloads are seen only
    through their attachments."""
    if problems := _usage_problems(role_name, accounts):
        return _fail(problems, as_json, EXIT_USAGE)
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return _fail("boto3 is not installed (pip install boto3)", as_json)

    try:
        # Few retries and short timeouts: a wrong endpoint should fail in seconds, not minutes.
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        session = boto3.session.Session(region_name=region)
        ec2 = session.client("ec2", endpoint_url=endpoint_url, config=config)
        opener = None
        if role_name:
            sts = session.client("sts", endpoint_url=endpoint_url, config=config)
            partition = sts.get_caller_identity()["Arn"].split(":")[1]

            def opener(account: str) -> Any:
                arn = f"arn:{partition}:iam::{account}:role/{role_name}"
                try:
                    creds = sts.assume_role(RoleArn=arn, RoleSessionName="microseg-verify")["Credentials"]
                except ClientError as exc:
                    err = exc.response.get("Error", {})
                    raise CollectError(
                        f"could not assume {arn}: {err.get('Code', 'error')}: {err.get('Message', exc)}"
                    ) from exc
                return boto3.session.Session(
                    region_name=region,
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                ).client("ec2", endpoint_url=endpoint_url, config=config)

        net = collect(ec2, region, name, opener, accounts)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, text = err.get("Code", "error"), err.get("Message", exc)
        return _fail(f"could not read the network in {region}: {code}: {text}", as_json)
    except (BotoCoreError, CollectError, ValueError) as exc:
        return _fail(f"could not read the network in {region}: {exc}", as_json)
    except Exception as exc:  # a response shape we did not expect: still no traceback for the user
        if os.environ.get("MICROSEG_DEBUG"):
            raise
        return _fail(
            f"could not read the network in {region}: {type(exc).__name__}: {exc} "
            "(set MICROSEG_DEBUG=1 for details)",
            as_json,
        )

    if not net.workloads():
        return _fail(
            f"no workload VPC of network {name!r} in {region}: expected VPCs tagged {TAG_ROLE}=workload and "
            f"{TAG_NETWORK}={name} (or named {name}-*); see docs/tags.md",
            as_json,
        )

    paths = trace_network(net)
    if as_json:
        sys.stdout.write(json.dumps(to_json(net, paths), indent=2, sort_keys=True) + "\n")
    else:
        print_human(net, paths, Console(highlight=False))
    return EXIT_BYPASS if any(p.verdict == BYPASS for p in paths) else EXIT_OK
