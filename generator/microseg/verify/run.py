"""`microseg verify`: read the deployed network, trace every path out of every workload, report.

Exit codes: 0 every path crosses a pod (or is dropped), 1 at least one path bypasses inspection,
4 the network could not be read (AWS error, no credentials, nothing tagged for this network).
"""

from __future__ import annotations

import json
import os
import sys

from rich.console import Console

from .collect import CollectError, collect
from .model import BYPASS, TAG_NETWORK, TAG_ROLE
from .render import print_human, to_json
from .trace import trace_network

EXIT_OK = 0
EXIT_BYPASS = 1
EXIT_UNREADABLE = 4


def _fail(message: str, as_json: bool) -> int:
    Console(stderr=True, highlight=False).print(
        f"microseg verify: {message}", style="red", soft_wrap=True, markup=False
    )
    if as_json:  # same shape as the other commands' failures, so pipelines parse one format
        doc = {"ok": False, "exit_code": EXIT_UNREADABLE, "errors": [{"message": message}]}
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return EXIT_UNREADABLE


def run_verify(region: str, name: str, endpoint_url: str | None, as_json: bool) -> int:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return _fail("boto3 is not installed (pip install boto3)", as_json)

    try:
        # Few retries and short timeouts: a wrong endpoint should fail in seconds, not minutes.
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        ec2 = boto3.session.Session(region_name=region).client(
            "ec2", endpoint_url=endpoint_url, config=config
        )
        net = collect(ec2, region, name)
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
