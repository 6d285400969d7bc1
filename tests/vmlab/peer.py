"""The host side of the VM lab's multi-pod fabric (tests/vmlab/fabric.py runs inside the VM).

`apply_pods` applies examples/pod with several pods on the moto server; `spec_from_state` reads back
only what the module produced: each instance's user_data (decoded as cloud-init would, the files
exactly as rendered), the ENIs' MACs and addresses, the EIPs, and each VPN connection's tunnels
(outside address, inside /30, tunnel options, the PSK parameter names). `FabricVM` boots one VM of
the pod image with the repository and the spec shared read-only (9p) and drives fabric.py in it.
Reused by other VM-lab tests (e.g. a TGW Connect variant): everything here is per spec.
"""

from __future__ import annotations

import base64
import gzip
import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import endpoints
import yaml
from tfharness import REPO, TfRoot, free_port, moto_env
from vm import VM, Image, Nic, accel, primary_network_config, seed_iso

EXAMPLE = "examples/pod"
# Emulator difference: moto has no Debian AMI parameter (see tests/modules/test_pod.py).
AMI = "ami-04681a1dbd79675a5"
AWS_API = "10.0.2.100"  # where the guest resolves the AWS endpoints (tests/vmlab/endpoints.py)
GUEST_REPO = "/mnt/repo"
GUEST_RUN = "/mnt/run"

# Three pods in one AZ; a workload pinned outside the workload supernet (ledger) with flows both ways;
# the health probes target a workload server the fabric runs (host 10 of payments).
WORKLOADS = {
    "payments": {"cidr": "10.64.0.0/20", "qos_mbps_per_pod": 250, "internet_egress": False},
    "orders": {"cidr": "10.65.0.0/20", "qos_mbps_per_pod": 100, "internet_egress": True},
    "ledger": {"cidr": "10.32.0.0/22", "qos_mbps_per_pod": 50, "internet_egress": False},
}


def flow(fid: str, src: str, dst: str, port: int, ref: str) -> dict[str, Any]:
    return {
        "id": fid,
        "source": src,
        "destination": dst,
        "source_cidrs": [WORKLOADS[src]["cidr"]],
        "destination_cidrs": ["0.0.0.0/0" if dst == "internet" else WORKLOADS[dst]["cidr"]],
        "protocol": "tcp",
        "from_port": port,
        "to_port": port,
        "reference": ref,
    }


FLOWS = [
    flow("f001", "orders", "payments", 443, "CHG-1234"),
    flow("f002", "orders", "internet", 443, "CHG-1235"),
    flow("f003", "orders", "ledger", 443, "CHG-1236"),
    flow("f004", "ledger", "payments", 443, "CHG-1237"),
]
HEALTH_TARGET = {"host": "10.64.0.10", "port": 443}
# The fabric's tunnel options, narrowed inside what modules/pod allows: one phase 1 integrity and group,
# another phase 2 group. The vpn's proposals and the AWS side's both come from them.
NARROWED_TUNNEL_OPTIONS = {
    "phase1_integrity_algorithms": ["SHA2-512"],
    "phase1_dh_group_numbers": [21],
    "phase2_dh_group_numbers": [20],
}


def pod_vars(n: int, tunnel_options: dict[str, Any] | None = None) -> dict[str, Any]:
    pods = {
        f"pod-0{i}": {
            "index": i,
            "az": "us-east-1a",
            "bridge_cidr": f"10.0.8.{16 * (i - 1)}/28",
            "tunnel_inside_cidrs": [f"169.254.1{i}.0/30", f"169.254.1{i}.4/30"],
        }
        for i in range(1, n + 1)
    }
    out: dict[str, Any] = {
        "ami_id": AMI,
        "pods": pods,
        "active_pods": sorted(pods),
        "workloads": WORKLOADS,
        "flows": FLOWS,
        "health_probes": {"internet_ports": [443], "workload_targets": [HEALTH_TARGET]},
    }
    if tunnel_options is not None:
        out["tunnel_options"] = tunnel_options
    return out


def apply_pods(moto_endpoint: str, workdir: Path, n: int = 3, **kw: Any) -> TfRoot:
    tf = TfRoot(REPO / EXAMPLE, workdir, moto_env(moto_endpoint))
    tf.apply(pod_vars(n, **kw))
    return tf


def rendered_files(user_data_b64: str) -> dict[str, dict[str, str]]:
    """The files of a user_data as cloud-init's write_files would write them: path -> content, mode."""
    doc = yaml.safe_load(gzip.decompress(base64.b64decode(user_data_b64)))
    out = {}
    for f in doc["write_files"]:
        content = f["content"]
        if f.get("encoding") == "b64":
            content = base64.b64decode(content).decode()
        out[f["path"]] = {"content": content, "mode": str(f.get("permissions", "0644"))}
    return out


def spec_from_state(tf: TfRoot, region: str) -> dict[str, Any]:
    res = tf.resources()
    variables = json.loads((Path(tf.tmp_path) / "test.tfvars.json").read_text())
    pods: dict[str, Any] = {}
    for key, pv in sorted(variables["pods"].items()):
        mod = f'module.pod["{key}"]'
        # count = 1 for the vpn transport (modules/pod: no VPN connection for connect).
        vpn = res[f"{mod}.aws_vpn_connection.this[0]"]
        nics = {
            k.split('"')[3]: {"mac": r["mac_address"], "ip": r["private_ip"]}
            for k, r in res.items()
            if k.startswith(f"{mod}.aws_network_interface.this[")
        }
        tunnels = []
        for n in (1, 2):
            t = f"tunnel{n}"
            tunnels.append(
                {
                    "number": n,
                    "outside_ip": vpn[f"{t}_address"],
                    "inside_cidr": vpn[f"{t}_inside_cidr"],
                    "psk_parameter": res[f'{mod}.aws_ssm_parameter.psk["{t}"]']["name"],
                    "ike_versions": vpn[f"{t}_ike_versions"],
                    "phase1": {
                        "encryption": vpn[f"{t}_phase1_encryption_algorithms"],
                        "integrity": vpn[f"{t}_phase1_integrity_algorithms"],
                        "dh_groups": vpn[f"{t}_phase1_dh_group_numbers"],
                        "lifetime": vpn[f"{t}_phase1_lifetime_seconds"],
                    },
                    "phase2": {
                        "encryption": vpn[f"{t}_phase2_encryption_algorithms"],
                        "integrity": vpn[f"{t}_phase2_integrity_algorithms"],
                        "dh_groups": vpn[f"{t}_phase2_dh_group_numbers"],
                        "lifetime": vpn[f"{t}_phase2_lifetime_seconds"],
                    },
                }
            )
        pods[key] = {
            "index": pv["index"],
            "bridge_cidr": pv["bridge_cidr"],
            "files": {
                role: rendered_files(res[f'{mod}.aws_instance.this["{role}"]']["user_data_base64"])
                for role in ("vpn", "fw")
            },
            "nics": nics,
            "vpn_eip": res[f'{mod}.aws_eip.this["vpn"]']["public_ip"],
            "fw_eip": res[f'{mod}.aws_eip.this["fw"]']["public_ip"],
            "cgw_ip": res[f"{mod}.aws_customer_gateway.this[0]"]["ip_address"],
            "health_parameter": res[f"{mod}.aws_ssm_parameter.health"]["name"],
            "tunnels": tunnels,
        }
    tgw = res["module.transit_gateway.aws_ec2_transit_gateway.this"]
    cgw = res[f'module.pod["{sorted(pods)[0]}"].aws_customer_gateway.this[0]']
    az = variables["pods"][sorted(pods)[0]]["az"]
    subnet = {
        kind: res[f'module.core.aws_subnet.this["{kind}-{az}"]']["cidr_block"]
        for kind in ("public", "internal")
    }
    return {
        "region": region,
        "asn": {"transit_gateway": int(tgw["amazon_side_asn"]), "pods": int(cgw["bgp_asn"])},
        "public_cidr": subnet["public"],
        "internal_cidr": subnet["internal"],
        "workloads": {k: {"cidr": w["cidr"]} for k, w in variables["workloads"].items()},
        "pods": pods,
        "health_targets": variables["health_probes"]["workload_targets"],
    }


@dataclass
class FabricVM:
    """One VM of the pod image running fabric.py for a spec; the AWS endpoints emulated as for the pods."""

    workdir: Path
    region: str
    moto_port: int
    vm: VM | None = None
    eps: endpoints.Endpoints | None = None
    times: dict[str, float] = field(default_factory=dict)

    def start(self, memory_mb: int = 1536, cpus: int = 2) -> None:
        image = Image.current()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "share").mkdir(exist_ok=True)
        self.eps = endpoints.start(
            self.workdir / "endpoints", self.region, self.moto_port, free_port(), AWS_API
        )
        mac = "02:00:00:00:00:01"
        seed = seed_iso(
            self.workdir / "fabric-seed.iso",
            "i-lab-fabric",
            b"#cloud-config\n{}\n",
            self.eps.vendor_data(),
            primary_network_config(mac),
        )
        self.vm = VM(
            "fabric",
            image,
            self.workdir,
            accel=accel(image, self.workdir),
            memory_mb=memory_mb,
            cpus=cpus,
            nics=[Nic(mac, user=True, guestfwd=((f"{AWS_API}:443", self.eps.tls_port),))],
            seed=seed,
            shares=[(REPO, "repo"), (self.workdir / "share", "run")],
        )
        start = time.monotonic()
        self.vm.start()
        self.vm.wait_agent(timeout=900)
        self.vm.sh("cloud-init status --wait >/dev/null || true", timeout=900)
        self.times["vm_boot_s"] = time.monotonic() - start
        self.vm.mount_shares()

    def fabric(self, *args: str, timeout: float = 600, check: bool = True) -> Any:
        assert self.vm is not None
        cmd = shlex.join(["python3", f"{GUEST_REPO}/tests/vmlab/fabric.py", *args])
        out = self.vm.sh(cmd, timeout=timeout, check=check)
        return json.loads(out.stdout) if out.stdout.strip().startswith(("{", "[")) else out

    def up(self, spec: dict[str, Any]) -> dict[str, Any]:
        (self.workdir / "share" / "spec.json").write_text(json.dumps(spec))
        return dict(self.fabric("up", f"{GUEST_RUN}/spec.json", timeout=900))

    def stop(self) -> None:
        if self.vm is not None:
            self.vm.stop()
        if self.eps is not None:
            self.eps.stop()
