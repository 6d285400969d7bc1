"""VM lab: a pod's two instances boot the user_data the real module rendered, as on AWS.

examples/pod is applied on the moto sandbox; each instance's user_data is read back from the
state (exactly what EC2 would hand to cloud-init) and booted in its own QEMU VM on the stock
Debian 12 kernel with the pod image (scripts/vmimage.sh), through cloud-init NoCloud. The VMs' NICs
carry the MACs of the module's ENIs; the public side has no route anywhere (as the pods' security
groups and the missing mirror make it on AWS) except the emulated AWS endpoints. One secondary ENI
of each instance is attached only once userspace is up and cloud-init is running (QMP device_add),
as AWS attaches them after launch; then each instance reboots once.

Lab-only settings travel as NoCloud vendor-data, never in the user_data: the stand-in for the
interface endpoints' private DNS and Amazon's CA, and the keys the instance profile would give
(tests/vmlab/endpoints.py).
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import endpoints
import pytest
from tfharness import free_port
from vm import VM, Image, Nic, accel, primary_network_config, seed_iso

pytestmark = pytest.mark.vmlab
POD = 'module.pod["pod-01"]'
# What each instance's ENIs are called in the module, by device index; the one marked late is
# hot-plugged after boot.
ENIS = {"vpn": ["vpn-public", "vpn-bridge"], "fw": ["fw-management", "fw-bridge", "fw-internal", "fw-public"]}
LATE = {"vpn": "vpn-bridge", "fw": "fw-internal"}
# The guest reaches the emulated AWS endpoints at this address only (slirp guestfwd, restrict=on).
AWS_API = "10.0.2.100"


@pytest.fixture(scope="module")
def pod(pod_example) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """examples/pod applied on moto (tests/vmlab/conftest.py): each role's user_data and ENI MACs."""
    applied = pod_example()
    res = applied["resources"]
    roles = {}
    for role, enis in ENIS.items():
        inst = res[f'{POD}.aws_instance.this["{role}"]']
        roles[role] = {
            "user_data": base64.b64decode(inst["user_data_base64"]),
            "macs": [res[f'{POD}.aws_network_interface.this["{k}"]']["mac_address"] for k in enis],
        }
    return {"roles": roles, "port": str(applied["port"]), "region": applied["region"]}


@pytest.fixture(scope="module")
def booted(pod, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Both instances started together, sharing the bridge segment; yields {role: (VM, times)}."""
    image = Image.current()
    work = tmp_path_factory.mktemp("vmlab-boot")
    eps = endpoints.start(work / "endpoints", pod["region"], int(pod["port"]), free_port(), AWS_API)
    mode = accel(image, work)
    vms: dict[str, VM] = {}
    late_nics: dict[str, Nic] = {}
    # Device 0 (the primary ENI: DHCP, the default route, the AWS endpoints) is QEMU user networking;
    # every other ENI is on one L2 segment per subnet (a multicast group port each), shared by both VMs.
    # Ports free now, so that two runs on one machine never share a segment.
    segment = {sub: free_port() for sub in ("bridge", "internal", "public")}
    for role, spec in pod["roles"].items():
        nics = []
        for i, (key, mac) in enumerate(zip(ENIS[role], spec["macs"], strict=True)):
            if i == 0:
                nics.append(Nic(mac, user=True, guestfwd=((f"{AWS_API}:443", eps.tls_port),)))
            else:
                nics.append(Nic(mac, segment=segment[key.split("-", 1)[1]]))
        seed = seed_iso(
            work / f"{role}-seed.iso",
            f"i-lab-{role}",
            spec["user_data"],
            eps.vendor_data(),
            primary_network_config(spec["macs"][0]),
        )
        late = ENIS[role].index(LATE[role])
        vm = VM(
            f"pod-01-{role}",
            image,
            work,
            accel=mode,
            nics=[n for i, n in enumerate(nics) if i != late],
            seed=seed,
        )
        late_nics[role] = nics[late]
        vms[role] = vm
    times: dict[str, dict[str, float]] = {r: {} for r in vms}
    try:
        start = time.monotonic()
        for vm in vms.values():
            vm.start()
        for vm in vms.values():
            vm.wait_agent(timeout=600)
        # Userspace is up and cloud-init is running; once microseg-net is looking for its NICs, the
        # secondary ENI arrives (AWS attaches it after launch, at a time nobody controls).
        for vm in vms.values():
            _wait_until(
                vm, "systemctl show -p ExecMainStartTimestampMonotonic --value microseg-net | grep -qv '^0$'"
            )
        time.sleep(5)
        for role, vm in vms.items():
            # The guest's monotonic clock (systemd's unit timestamps use the same one) at the plug.
            times[role]["hotplug_at"] = float(vm.sh("cut -d' ' -f1 /proc/uptime").stdout)
            vm.hotplug_nic(late_nics[role])
        for role, vm in vms.items():
            vm.sh("cloud-init status --wait >/dev/null || true", timeout=900)
            times[role]["first_boot_s"] = time.monotonic() - start
        yield vms, times
    finally:
        for vm in vms.values():
            vm.stop()
        eps.stop()


def _wait_until(vm: VM, condition: str, timeout: float = 600) -> None:
    """Poll a shell condition in the guest (boot under TCG takes minutes on a loaded machine)."""
    vm.sh(
        f"t=0; until {condition}; do sleep 1; t=$((t + 1)); [ $t -lt {int(timeout)} ] || exit 1; done",
        timeout=timeout + 30,
    )


def _diagnose(vm: VM) -> str:
    """What an engineer would look at first: failed units and the pod's own units' journal."""
    return vm.sh(
        "systemctl --failed --no-legend --plain; journalctl -b --no-pager -u 'microseg*' | tail -60",
        check=False,
    ).stdout


def _cycles(vm: VM) -> str:
    # systemd (PID 1) reports ordering cycles under its own identifier.
    return vm.sh("journalctl -b --no-pager -t systemd | grep -i 'ordering cycle' || true").stdout


def _cloud_init(vm: VM) -> dict[str, Any]:
    return json.loads(vm.sh("cloud-init status --format json", check=False).stdout or "{}")


def test_vendor_data_is_valid_cloud_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eps = endpoints.Endpoints(
        "us-east-1", AWS_API, "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----", 0, None
    )  # type: ignore[arg-type]
    (tmp_path / "vendor-data").write_text(eps.vendor_data())
    proc = subprocess.run(
        ["cloud-init", "schema", "--config-file", str(tmp_path / "vendor-data")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ["vpn", "fw"])
def test_user_data_is_the_module_rendering(pod, role: str) -> None:
    # The seed carries the bytes EC2 would hand over: gzip, decompressing to #cloud-config.
    text = gzip.decompress(pod["roles"][role]["user_data"]).decode()
    assert text.startswith("#cloud-config")


@pytest.mark.parametrize("role", ["vpn", "fw"])
def test_first_boot_completes_without_errors(booted, role: str) -> None:
    vms, _ = booted
    vm = vms[role]
    status = _cloud_init(vm)
    log = vm.sh("grep -E 'WARNING|ERROR|Traceback' /var/log/cloud-init.log | tail -40", check=False).stdout
    errors = "\n".join(map(str, status.get("errors") or []))
    assert status.get("status") == "done" and not errors, f"{errors}\n{log}"
    assert not _cycles(vm), _cycles(vm)
    failed = vm.sh("systemctl --failed --no-legend --plain | grep microseg || true").stdout
    assert not failed, failed


def test_late_enis_are_named_and_addressed(booted) -> None:
    vms, times = booted
    # The ENI really was late: microseg-net was already waiting for it when it was plugged, and
    # finished only after (so what follows proves the wait, not a NIC that was there all along).
    for role, vm in vms.items():
        shown = vm.sh(
            "systemctl show microseg-net -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic"
        )
        ts = {k: int(v) / 1e6 for k, v in (ln.split("=", 1) for ln in shown.stdout.split())}
        started, active = ts["ExecMainStartTimestampMonotonic"], ts["ActiveEnterTimestampMonotonic"]
        assert 0 < started < times[role]["hotplug_at"] < active, (role, ts, times[role])
    # The fw's internal ENI and the vpn's bridge ENI arrived while microseg-net waited; both are up under
    # their role name with the module's address.
    links = vms["fw"].sh("ip -o -4 addr show").stdout
    assert " internal " in links, f"{links}\n{_diagnose(vms['fw'])}"
    links = vms["vpn"].sh("ip -o -4 addr show").stdout
    assert " bridge " in links and "10.0.8.5/28" in links, f"{links}\n{_diagnose(vms['vpn'])}"


def _fw_is_default_deny(fw: VM, moment: str) -> None:
    ruleset = fw.sh("nft list chain inet microseg forward", check=False)
    assert ruleset.returncode == 0 and "policy drop" in ruleset.stdout, (
        f"{moment}: {ruleset.stdout}{ruleset.stderr}\n{_diagnose(fw)}"
    )
    assert not _cycles(fw), (moment, _cycles(fw))


def _vpn_has_both_tunnels(vpn: VM, moment: str) -> None:
    conns = vpn.sh("swanctl --list-conns", check=False).stdout
    assert "tgw1:" in conns and "tgw2:" in conns, f"{moment}: {conns}\n{_diagnose(vpn)}"
    secrets = vpn.sh("stat -c '%a' /etc/swanctl/secrets.d/microseg-tunnels.conf", check=False)
    assert secrets.stdout.strip() == "600", (moment, secrets.stdout + secrets.stderr)


def test_fw_ruleset_is_default_deny_after_first_boot(booted) -> None:
    _fw_is_default_deny(booted[0]["fw"], "first boot")


def test_vpn_loads_both_tunnels_with_psks_after_first_boot(booted) -> None:
    _vpn_has_both_tunnels(booted[0]["vpn"], "first boot")


def test_both_come_back_the_same_after_a_reboot(booted) -> None:
    """Each instance reboots from inside (both at once: each VM has its own emulated CPU); the fw is
    default deny again and the vpn has both tunnels and their PSKs, with no ordering cycle."""
    vms, times = booted

    def reboot(role: str) -> None:
        times[role]["reboot_s"] = vms[role].reboot()
        vms[role].sh("systemctl is-system-running --wait >/dev/null || true", timeout=600)

    with ThreadPoolExecutor(len(vms)) as pool:
        list(pool.map(reboot, vms))
    _fw_is_default_deny(vms["fw"], "reboot")
    _vpn_has_both_tunnels(vms["vpn"], "reboot")
    assert not _cycles(vms["vpn"]), _cycles(vms["vpn"])
