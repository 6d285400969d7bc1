"""The pod-health Lambda's code, run in the lab.

    ip netns exec <pod fn namespace> python3 health_runner.py CFG_JSON METRICS INTERVAL

Runs modules/pod-health/src/health_check.py's `run()` every INTERVAL seconds from the pod's bridge
subnet (the namespace's default route is the fw, as the bridge route table makes it on AWS), with:
- SSM: the health record is the file named by HEALTH_PARAMETER (the file the vpn's agent reads);
- CloudWatch: each put_metric_data call is one JSON line in METRICS;
  (METRICS `aws`: both are the real SSM and CloudWatch APIs through boto3 instead: the VM lab, where
  the AWS endpoints are moto's behind their regional names);
- the internet probe: the lab has no TLS service, so "GET https://HOST/" reads the line the lab's
  probe server answers with (the source address it sees: the fw's SNAT address, like checkip).
Everything else (the TCP probes, the scopes, the hysteresis, the record format) is the Lambda's code.
A failed invocation (e.g. SSM unreachable) is printed and the next one runs on schedule, as the
Lambda's schedule would invoke it again.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "modules" / "pod-health" / "src"))
import health_check as hc  # the Lambda's own module, imported as its runtime does


class FileSsm:
    class exceptions:
        class ParameterNotFound(Exception):
            pass

    def get_parameter(self, Name: str) -> dict[str, Any]:
        try:
            return {"Parameter": {"Value": Path(Name).read_text()}}
        except FileNotFoundError as e:
            raise self.exceptions.ParameterNotFound(Name) from e

    def put_parameter(self, Name: str, Value: str, **_: Any) -> None:
        tmp = Path(Name + ".tmp")
        tmp.write_text(Value)
        os.replace(tmp, Name)


class FileCloudWatch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        line = {"time": time.time(), **{m["MetricName"]: m["Value"] for m in MetricData if m["Dimensions"]}}
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")


class PrintWrites:
    """The SSM client, printing each record right after it was written: the lab's timeline of what the
    agent could read (the invocation may still fail after the write, e.g. at CloudWatch)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_parameter(self, **kw: Any) -> Any:
        out = self._client.put_parameter(**kw)
        print(json.dumps({"written": json.loads(kw["Value"]).get("status")}), flush=True)
        return out


def lab_http_get(url: str, timeout: float) -> str:
    host = urlparse(url).hostname or ""
    with socket.create_connection((host, 443), timeout=timeout) as s:
        s.settimeout(timeout)
        return s.recv(256).decode()


def main() -> int:
    cfg = hc.Config.from_env(json.loads(sys.argv[1]))
    metrics, interval = Path(sys.argv[2]), float(sys.argv[3])
    probes = hc.Probes(lab_http_get, hc.tcp_connect)
    ssm: Any
    cw: Any
    if str(metrics) == "aws":
        import boto3

        ssm, cw = boto3.client("ssm"), boto3.client("cloudwatch")
    else:
        ssm, cw = FileSsm(), FileCloudWatch(metrics)
    ssm = PrintWrites(ssm)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        start = time.monotonic()
        try:
            out = hc.run(cfg, probes, ssm, cw, datetime.now(UTC))
        except Exception as e:  # one failed invocation; the schedule goes on
            # As on AWS: a failed invocation writes no record (the stale-record alarm's business) and
            # the schedule invokes the function again next time. Ending here instead would leave the
            # record as it was forever (a pod that never joins, with nothing in its agent's log).
            out = {"pod": cfg.pod, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
        time.sleep(max(0.0, interval - (time.monotonic() - start)))


if __name__ == "__main__":
    sys.exit(main())
