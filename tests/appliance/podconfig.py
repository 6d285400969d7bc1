"""Pod appliance configuration as the instances get it: template data -> real tofu templatefile() -> files.

`template_data()` builds, from the generator's tfvars (docs/tfvars-contract.md), the object
modules/pod passes to its templates (modules/pod/TEMPLATE_DATA.md). Values that only exist once
AWS has created things (MACs, EIPs, tunnel outside IPs) get stable documentation-range stand-ins.
`render()` runs the real tofu on tests/appliance/render; `files()` unpacks cloud-init write_files.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RENDER_ROOT = HERE / "render"
FIXTURE = HERE / "fixtures" / "lab.auto.tfvars.json"
TOFU = os.environ.get("MICROSEG_TOFU", "tofu")


def host(cidr: str, n: int) -> str:
    """tofu's cidrhost()."""
    return str(ipaddress.ip_network(cidr).network_address + n)


def _nic(cidr: str, ip: str, mac: str, device_index: int) -> dict[str, Any]:
    net = ipaddress.ip_network(cidr)
    return {
        "device_index": device_index,
        "mac": mac,
        "ip": ip,
        "cidr": cidr,
        "prefix_length": net.prefixlen,
        "gateway": host(cidr, 1),
    }


def mac(index: int, role: int, device_index: int) -> str:
    # Locally administered, unique per pod/instance/ENI.
    return f"02:00:00:{index:02x}:{role:02x}:{device_index:02x}"


def workload_cidrs(tfvars: dict[str, Any]) -> list[str]:
    """modules/pod's local.workload_cidrs: the supernet, then every workload CIDR outside it, sorted."""
    supernet = ipaddress.ip_network(tfvars["workload_supernet"])
    outside = {
        w["cidr"]
        for w in tfvars["workloads"].values()
        if not ipaddress.ip_network(w["cidr"]).subnet_of(supernet)  # type: ignore[arg-type]
    }
    return [str(supernet), *sorted(outside)]


def template_data(tfvars: dict[str, Any], pod: str) -> dict[str, Any]:
    """The template data of one pod, derived as modules/pod does (TEMPLATE_DATA.md)."""
    p = tfvars["pods"][pod]
    idx, az = p["index"], p["az"]
    sub = tfvars["core"]["subnets"][az]
    bridge = p["bridge_cidr"]
    name = tfvars["name"]
    connect = transport(tfvars)["type"] == "connect"
    psk = [] if connect else [f"/{name}/pods/{pod}/tunnel{n}/psk" for n in (1, 2)]
    tunnels = []
    for n, inside in enumerate(p.get("tunnel_inside_cidrs") or [], start=1):
        tunnels.append(
            {
                "number": n,
                "inside_cidr": inside,
                "local_inside_ip": host(inside, 2),
                "peer_inside_ip": host(inside, 1),
                "inside_prefix_length": ipaddress.ip_network(inside).prefixlen,
                "outside_ip": f"192.0.2.{2 * idx + n - 2 + 1}",  # TEST-NET-1 stand-in for the TGW endpoint
                "psk_parameter": psk[n - 1],
                **tunnel_crypto(TUNNEL_OPTIONS),
            }
        )
    return {
        "name": name,
        "region": tfvars["region"],
        "pod": pod,
        "pod_index": idx,
        "az": az,
        "asn": {"pods": tfvars["asn"]["pods"], "transit_gateway": tfvars["asn"]["transit_gateway"]},
        "transport": "connect" if connect else "vpn",
        "tunnels": tunnels,
        "connect": _connect(tfvars, p) if connect else None,
        "vpn_public_ip": None if connect else f"198.51.100.{idx}",
        "fw_public_ip": f"198.51.100.{100 + idx}",
        "interfaces": {
            "vpn": {
                ("internal" if connect else "public"): _nic(
                    sub["internal"], p["connect_address"], mac(idx, 1, 0), 0
                )
                if connect
                else _nic(sub["public"], host(sub["public"], 10 + idx), mac(idx, 1, 0), 0),
                "bridge": _nic(bridge, host(bridge, 5), mac(idx, 1, 1), 1),
            },
            "fw": {
                "management": _nic(sub["management"], host(sub["management"], 10 + idx), mac(idx, 2, 0), 0),
                "bridge": _nic(bridge, host(bridge, 4), mac(idx, 2, 1), 1),
                "internal": _nic(sub["internal"], host(sub["internal"], 10 + idx), mac(idx, 2, 2), 2),
                "public": _nic(sub["public"], host(sub["public"], 20 + idx), mac(idx, 2, 3), 3),
            },
        },
        "bridge": {
            "cidr": bridge,
            "prefix_length": ipaddress.ip_network(bridge).prefixlen,
            "gateway": host(bridge, 1),
            "fw_ip": host(bridge, 4),
            "vpn_ip": host(bridge, 5),
        },
        "core_cidr": tfvars["core"]["cidr"],
        "workload_supernet": tfvars["workload_supernet"],
        "workload_cidrs": workload_cidrs(tfvars),
        "workloads": {
            k: {
                "cidr": w["cidr"],
                "qos_mbps_per_pod": w["qos_mbps_per_pod"],
                "internet_egress": w["internet_egress"],
            }
            for k, w in sorted(tfvars["workloads"].items())
        },
        "flows": tfvars["flows"],
        "psk_parameters": psk,
        "health_parameter": f"/{name}/pods/{pod}/health",
        "health_probes": {
            "source_cidr": bridge,
            "internet_ports": [443],
            "workload_targets": [
                {"host": host(w["subnets"][tfvars["azs"][0]]["workload"], 10), "port": 443}
                for _, w in sorted(tfvars["workloads"].items())
            ],
        },
        "health_poll_seconds": 10,
        "fast_check": {"interval_seconds": 2, "failures": 2},  # modules/pod defaults
        "log_group": f"/{name}/pods/{pod}",
        "metric_namespace": f"{name}/pods",
    }


def transport(tfvars: dict[str, Any]) -> dict[str, Any]:
    """The contract's `transport` (tfvars written before it existed are vpn, standard tunnels)."""
    return tfvars.get("transport") or {"type": "vpn"}


def _connect(tfvars: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """modules/pod's template_data.connect: our GRE address, the TGW CIDR block and per Connect peer
    its tunnel number, inside /29 (us the first host, the TGW the second and third) and GRE address."""
    return {
        "address": p["connect_address"],
        "transit_gateway_cidr_block": transport(tfvars)["transit_gateway_cidr_block"],
        "peers": [
            {
                "number": n,
                "inside_cidr": peer["inside_cidr"],
                "inside_prefix_length": 29,
                "local_inside_ip": host(peer["inside_cidr"], 1),
                "peer_inside_ips": [host(peer["inside_cidr"], 2), host(peer["inside_cidr"], 3)],
                "outside_ip": peer["transit_gateway_address"],
            }
            for n, peer in enumerate(p["connect_peers"], start=1)
        ],
    }


def as_connect(tfvars: dict[str, Any], peers: int = 2) -> dict[str, Any]:
    """The same fleet on the connect transport, shaped as the generator's tfvars contract has it
    (`transport`, per pod `connect_peers` and `connect_address`), for tfvars from a generator
    that does not write them yet: inside /29s from 169.254.6.0 on (the reserved ranges end at
    169.254.5.7), TGW GRE addresses from 192.0.2.0/24 (documentation range), and the vpn's GRE
    address at host 30 + index of the pod's internal subnet (clear of the fw's 10 + index)."""
    if transport(tfvars)["type"] == "connect":
        return tfvars
    out = json.loads(json.dumps(tfvars))
    out["transport"] = {
        "type": "connect",
        "tunnel_bandwidth": None,
        "connect_peers": peers,
        "transit_gateway_cidr_block": "192.0.2.0/24",
    }
    n = 0
    for pod in sorted(out["pods"], key=lambda k: out["pods"][k]["index"]):
        p = out["pods"][pod]
        internal = out["core"]["subnets"][p["az"]]["internal"]
        p["tunnel_inside_cidrs"] = []
        p["connect_address"] = host(internal, 30 + p["index"])
        p["connect_peers"] = []
        for _ in range(peers):
            p["connect_peers"].append(
                {
                    "inside_cidr": f"169.254.{6 + n // 32}.{(n % 32) * 8}/29",
                    "transit_gateway_address": f"192.0.2.{n + 1}",
                }
            )
            n += 1
    return out


# modules/pod's `tunnel_options` defaults (variables.tf): the lists the AWS side is restricted to.
TUNNEL_OPTIONS: dict[str, Any] = {
    "ike_versions": ["ikev2"],
    "phase1_encryption_algorithms": ["AES256-GCM-16"],
    "phase1_integrity_algorithms": ["SHA2-384", "SHA2-512"],
    "phase1_dh_group_numbers": [20, 21],
    "phase1_lifetime_seconds": 28800,
    "phase2_encryption_algorithms": ["AES256-GCM-16"],
    "phase2_integrity_algorithms": ["SHA2-384", "SHA2-512"],
    "phase2_dh_group_numbers": [20, 21],
    "phase2_lifetime_seconds": 3600,
    "dpd_timeout_seconds": 30,
}


def tunnel_crypto(options: dict[str, Any]) -> dict[str, Any]:
    """The crypto keys of a `tunnels[i]` item, from `tunnel_options` (as modules/pod's template_data)."""
    o = {**TUNNEL_OPTIONS, **options}
    return {
        "ike_versions": o["ike_versions"],
        **{
            phase: {
                "encryption": o[f"{phase}_encryption_algorithms"],
                "integrity": o[f"{phase}_integrity_algorithms"],
                "dh_groups": o[f"{phase}_dh_group_numbers"],
                "lifetime": o[f"{phase}_lifetime_seconds"],
            }
            for phase in ("phase1", "phase2")
        },
        "dpd_timeout_seconds": o["dpd_timeout_seconds"],
    }


def load_tfvars(path: Path | None = None, transport: str = "vpn") -> dict[str, Any]:
    """The lab's tfvars: generated from fixtures/{inventory,flows}.csv + microseg.toml by the real
    generator; the hand-written contract-shaped fixture only where the generator is not installed
    (or with MICROSEG_LAB_TFVARS=fixture). A generator that fails on the fixture fails the tests.
    `transport = "connect"`: the same fleet with `[pods] transport = "connect"` (the generator's
    default of 2 Connect peers and its own /29s, TGW CIDR block and connect addresses)."""
    if path is not None:
        return json.loads(path.read_text())
    generator = REPO / "generator"
    if os.environ.get("MICROSEG_LAB_TFVARS") == "fixture" or not (generator / "microseg" / "cli.py").exists():
        fixture = json.loads(FIXTURE.read_text())
        return as_connect(fixture) if transport == "connect" else fixture
    fx = FIXTURE.parent
    with tempfile.TemporaryDirectory(prefix="microseg-gen-") as out:
        settings = fx / "microseg.toml"
        if transport != "vpn":
            text = settings.read_text()
            assert "\n[pods]\n" in text, "fixtures/microseg.toml has no [pods] table"
            settings = Path(out, "settings", "microseg.toml")
            settings.parent.mkdir()
            settings.write_text(text.replace("\n[pods]\n", f'\n[pods]\ntransport = "{transport}"\n', 1))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "microseg.cli",
                "generate",
                str(fx / "inventory.csv"),
                "--flows",
                str(fx / "flows.csv"),
                "--settings",
                str(settings),
                "--out",
                str(Path(out, "gen")),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(generator), os.environ.get("PYTHONPATH")])),
            },
        )
        if run.returncode:
            raise AssertionError(f"microseg generate failed ({run.returncode}):\n{run.stdout}{run.stderr}")
        return json.loads(Path(out, "gen", "microseg.auto.tfvars.json").read_text())


def render(
    tfvars: dict[str, Any], workdir: Path | None = None, tunnel_options: dict[str, Any] | None = None
) -> dict[str, dict[str, str]]:
    """{pod: {"vpn": user_data, "fw": user_data}} rendered by the real tofu templatefile();
    `tunnel_options` (modules/pod's variable) overrides the module's defaults."""
    pods = {pod: template_data(tfvars, pod) for pod in tfvars["pods"]}
    for data in pods.values():
        for t in data["tunnels"]:
            t.update(tunnel_crypto(tunnel_options or {}))
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="microseg-render-")) if own else Path(workdir)
    try:
        root = work / "root"
        shutil.copytree(
            RENDER_ROOT, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
        # The root reaches the templates through ../../../modules: recreate that layout.
        (root / "main.tf").write_text(
            (RENDER_ROOT / "main.tf").read_text().replace("${path.module}/../../..", str(REPO))
        )
        varfile = work / "pods.tfvars.json"
        varfile.write_text(json.dumps({"pods": pods}))
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        if not Path(
            env.get("TF_CLI_CONFIG_FILE") or "/nonexistent"
        ).is_file():  # no providers needed; keep tofu from warning into stdout
            (work / "empty.tfrc").write_text("")
            env["TF_CLI_CONFIG_FILE"] = str(work / "empty.tfrc")
        for args in (
            ["init", "-input=false", "-no-color"],
            ["apply", "-auto-approve", "-input=false", "-no-color", f"-var-file={varfile}"],
        ):
            run = subprocess.run(
                [TOFU, f"-chdir={root}", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if run.returncode:
                raise AssertionError(f"tofu {args[0]} failed:\n{run.stderr}\n{run.stdout[-3000:]}")
        out = subprocess.run(
            [TOFU, f"-chdir={root}", "output", "-json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        raw = json.loads(out.stdout)
        return {pod: {"vpn": raw["vpn"]["value"][pod], "fw": raw["fw"]["value"][pod]} for pod in pods}
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def files(user_data: str) -> dict[str, str]:
    """Path -> content of every cloud-init write_files entry (base64 decoded)."""
    doc = yaml.safe_load(user_data)
    out = {}
    for f in doc.get("write_files", []):
        content = f["content"]
        if f.get("encoding") in ("b64", "base64"):
            content = base64.b64decode(content).decode()
        out[f["path"]] = content
    return out
