"""The pod's boot as the real tools see it: cloud-init's schema, systemd's own unit graph
(`systemd-analyze verify` in a root holding the rendered files and the Debian packages' units),
the boot check, and the late-ENI wait of microseg-net in a network namespace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from appliance import checkers, podconfig

pytestmark = pytest.mark.static

REPO = podconfig.REPO
SYSTEM_PATH = "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
POD_UNITS = {
    "vpn": {
        "microseg-pod.target",
        "microseg-boot-check.service",
        "microseg-net.service",
        "microseg-tunnels.service",
        "strongswan.service",
        "frr.service",
        "microseg-qos.service",
        "microseg-health-agent.service",
    },
    "fw": {"microseg-pod.target", "microseg-boot-check.service", "nftables.service", "microseg-net.service"},
}


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    if not shutil.which(podconfig.TOFU):
        pytest.fail("tofu not on PATH: run scripts/toolchain.sh")
    return podconfig.render(podconfig.load_tfvars(), tmp_path_factory.mktemp("render"))


def _need(*tools: str) -> None:
    for tool in tools:
        if not shutil.which(tool, path=SYSTEM_PATH):
            pytest.fail(f"{tool} missing: install the Debian packages of toolchain/versions.env APT_PACKAGES")


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("this check needs root (namespaces)")


# --- cloud-init ----------------------------------------------------------------------------------


def test_user_data_passes_cloud_init_schema(user_data: dict[str, dict[str, str]]) -> None:
    _need("cloud-init")
    for roles in user_data.values():
        for ud in roles.values():
            checkers.cloud_init_schema(ud)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('    permissions: "0755"', "    permissions: [0755]"),  # wrong type
        ("  - [systemctl, daemon-reload]", "  - {systemctl: daemon-reload}"),  # not a command
    ],
)
def test_cloud_init_schema_rejects_a_broken_user_data(
    user_data: dict[str, dict[str, str]], old: str, new: str
) -> None:
    _need("cloud-init")
    ud = user_data["pod-01"]["vpn"]
    assert old in ud
    with pytest.raises(checkers.CheckError):
        checkers.cloud_init_schema(ud.replace(old, new, 1))


def test_first_boot_installs_nothing(user_data: dict[str, dict[str, str]]) -> None:
    for roles in user_data.values():
        for role, ud in roles.items():
            doc = yaml.safe_load(ud)
            assert not {"packages", "package_update", "package_upgrade", "apt", "snap"} & set(doc), role
            runcmd = [" ".join(c) for c in doc.get("runcmd", [])]
            scripts = "\n".join([*podconfig.files(ud).values(), *runcmd])
            assert not re.search(r"\b(apt-get|apt|dpkg|pip3?) +install\b", scripts), role


# --- systemd -------------------------------------------------------------------------------------


@pytest.mark.parametrize("goal", ["multi-user.target", "microseg-pod.target"])
def test_units_pass_systemd_analyze_verify(user_data: dict[str, dict[str, str]], goal: str) -> None:
    """Reboot (multi-user.target with the pod's target enabled) and first boot (runcmd starts the
    pod's target): no ordering cycle, no unknown setting, every executable present."""
    _need("systemd-analyze", "vtysh", "charon-systemd", "nft")
    for roles in user_data.values():
        for ud in roles.values():
            checkers.systemd_verify(ud, goal)


@pytest.mark.parametrize(
    ("role", "after", "extra"),
    [
        # The two cycles this layout removed: microseg-net (after network-online) before frr or
        # nftables, which both order themselves before the network targets.
        ("vpn", "Wants=network-online.target\n", "Before=frr.service strongswan.service\n"),
        ("fw", "Wants=network-online.target\n", "Before=nftables.service\n"),
    ],
)
def test_systemd_verify_reports_an_ordering_cycle(
    user_data: dict[str, dict[str, str]], role: str, after: str, extra: str
) -> None:
    _need("systemd-analyze", "vtysh", "charon-systemd", "nft")
    ud = user_data["pod-01"][role]
    unit = "      Description=microseg: NIC names"
    start = ud.index(unit)
    at = ud.index("      " + after, start) + len("      " + after)
    broken = ud[:at] + "      " + extra + ud[at:]
    with pytest.raises(checkers.CheckError, match="ordering cycle"):
        checkers.systemd_verify(broken)


def test_systemd_verify_reports_a_missing_executable(user_data: dict[str, dict[str, str]]) -> None:
    _need("systemd-analyze", "vtysh", "charon-systemd", "nft")
    broken = user_data["pod-01"]["fw"].replace(
        "ExecStart=/usr/local/sbin/microseg-net", "ExecStart=/usr/local/sbin/microseg-nett"
    )
    with pytest.raises(checkers.CheckError, match="microseg-nett"):
        checkers.systemd_verify(broken)


@pytest.mark.parametrize("role", ["vpn", "fw"])
def test_reboot_starts_the_pod_in_order(user_data: dict[str, dict[str, str]], role: str) -> None:
    """systemd's own view of a reboot: multi-user.target's transaction starts every unit of the pod
    (no runcmd involved), charon only after the PSKs are written, the fw's forwarding only with its
    ruleset, and nothing of the pod without the boot check."""
    _need("systemd-analyze", "vtysh", "charon-systemd", "nft")
    jobs, deps = checkers.boot_graph(user_data["pod-01"][role])
    assert POD_UNITS[role] <= jobs, POD_UNITS[role] - jobs

    def dep(unit: str, kind: str) -> set[str]:
        return deps.get(unit, {}).get(kind, set())

    assert "microseg-boot-check.service" in dep("microseg-net.service", "Requires")
    assert "microseg-boot-check.service" in dep("microseg-net.service", "After")
    if role == "vpn":
        for kind in ("Requires", "After"):
            assert "microseg-tunnels.service" in dep("strongswan.service", kind)
            assert "microseg-net.service" in dep("microseg-tunnels.service", kind)
            assert "microseg-boot-check.service" in dep("microseg-health-agent.service", kind)
    else:
        for kind in ("Requires", "After"):
            assert "nftables.service" in dep("microseg-net.service", kind)


# --- the boot check ------------------------------------------------------------------------------


def _boot_check(script: str, tmp_path: Path, hide: str = "") -> subprocess.CompletedProcess[str]:
    """The rendered boot check in a private mount namespace (own /run), `hide` made non-executable."""
    path = tmp_path / "boot-check"
    path.write_text(script)
    hide_cmd = f"mount --bind /dev/null {hide}; " if hide else ""
    return subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mount -t tmpfs tmpfs /run; {hide_cmd}sh {path}; rc=$?; cat /run/microseg/boot-check; exit $rc",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": SYSTEM_PATH},
    )


def test_units_use_only_variables_their_environment_file_sets(user_data: dict[str, dict[str, str]]) -> None:
    """systemd expands an unset ${VAR} of an Exec line to nothing: the service starts with a missing
    argument (the health agent would exit, the pod never advertise) and `systemd-analyze verify`
    cannot see it. Every variable a rendered unit uses must be set by the EnvironmentFile it loads."""
    for pod, roles in user_data.items():
        for role, ud in roles.items():
            files = podconfig.files(ud)
            for path, unit in files.items():
                if not path.startswith("/etc/systemd/system/") or "ExecStart" not in unit:
                    continue
                envs = [
                    ln.split("=", 1)[1].lstrip("-")
                    for ln in unit.splitlines()
                    if ln.startswith("EnvironmentFile=")
                ]
                defined = {
                    ln.split("=", 1)[0] for env in envs for ln in files.get(env, "").splitlines() if "=" in ln
                }
                used = {
                    name
                    for ln in unit.splitlines()
                    if ln.startswith(("ExecStart", "ExecStartPre", "ExecStop", "ExecReload"))
                    for name in re.findall(r"\$\{(\w+)\}|\$(\w+)", ln)
                    for name in name
                    if name
                }
                assert used <= defined, f"{pod} {role} {path}: {sorted(used - defined)} not set by {envs}"


@pytest.mark.parametrize(("role", "hide"), [("fw", "/usr/sbin/nft"), ("vpn", "/usr/lib/frr/bgpd")])
def test_boot_check_passes_on_a_full_image_and_names_a_missing_binary(
    user_data: dict[str, dict[str, str]], tmp_path: Path, role: str, hide: str
) -> None:
    _need_root()
    _need("vtysh", "charon-systemd", "nft", "swanctl")
    script = podconfig.files(user_data["pod-01"][role])["/usr/local/sbin/microseg-boot-check"]
    ok = _boot_check(script, tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok", ok.stdout + ok.stderr
    missing = _boot_check(script, tmp_path, hide)
    assert missing.returncode != 0
    name = Path(hide).name
    assert re.search(rf"lacks: (\S*/)?{name} ", missing.stdout), missing.stdout
    assert "modules/pod-image" in missing.stdout
    assert name in missing.stderr  # the journal and the console get it too


def test_boot_check_covers_every_unit_executable_and_the_image_has_them(
    user_data: dict[str, dict[str, str]],
) -> None:
    """Every executable a pod unit runs is written by the user_data or checked by the boot check, and
    every checked binary comes (on this Debian machine) from a package of the pod image's list."""
    image = {
        line.split("=")[0]
        for line in (REPO / "modules/pod-image/packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for role, ud in user_data["pod-01"].items():
        files = podconfig.files(ud)
        m = re.search(r"for b in ([^;]+); do", files["/usr/local/sbin/microseg-boot-check"])
        assert m, role
        checked = m.group(1).split()
        units = [c for p, c in files.items() if p.startswith("/etc/systemd/system/")]
        for binary in checkers.EXEC.findall("\n".join(units)):
            assert binary in files or Path(binary).name in checked or binary == "/bin/sh", (role, binary)
        for b in checked:
            path = shutil.which(b, path=SYSTEM_PATH) if "/" not in b else b
            assert path, (role, b)
            package = _package_of(path)
            assert package in image, f"{role}: {b} comes from {package!r}, not in packages.txt"


def _package_of(path: str) -> str:
    # usrmerge: dpkg knows /sbin/ip, PATH finds /usr/sbin/ip; python3 is a symlink of python3-minimal.
    for p in (path, re.sub(r"^/usr/(s?bin)/", r"/\1/", path), os.path.realpath(path)):
        dpkg = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True, check=False)
        if dpkg.returncode == 0:
            return dpkg.stdout.split(":")[0]
    return ""


# --- late ENIs ----------------------------------------------------------------------------------


def _net(
    role: str, data: dict[str, Any], script: str, tmp_path: Path, late: float, wait: int
) -> tuple[int, str, float]:
    """Runs microseg-net in a fresh network namespace; the secondary NICs (veths carrying the ENI
    MACs) appear `late` seconds after it starts (never when late < 0)."""
    path = tmp_path / "microseg-net"
    path.write_text(script)
    nics = {k: v for k, v in data["interfaces"][role].items() if v["device_index"] > 0}
    adds = "; ".join(
        f"ip link add eth{n['device_index']} address {n['mac']} type veth peer name peer{n['device_index']}; "
        f"ip link set peer{n['device_index']} up"
        for n in nics.values()
    )
    attach = f"(sleep {late}; {adds}) & " if late >= 0 else ""
    t0 = time.monotonic()
    r = subprocess.run(
        [
            "unshare",
            "--net",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            # sysfs of this namespace: microseg-net finds NICs by MAC under /sys/class/net.
            f"mount -t sysfs sysfs /sys; ip link set lo up; {attach}MICROSEG_NIC_WAIT={wait} sh {path}; "
            "rc=$?; wait; ip -o link show; exit $rc",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": SYSTEM_PATH},
    )
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


@pytest.mark.parametrize("role", ["vpn", "fw"])
def test_microseg_net_waits_for_late_enis_then_fails(
    user_data: dict[str, dict[str, str]], tmp_path: Path, role: str
) -> None:
    _need_root()
    data = podconfig.template_data(podconfig.load_tfvars(), "pod-01")
    script = podconfig.files(user_data["pod-01"][role])["/usr/local/sbin/microseg-net"]
    rc, out, _ = _net(role, data, script, tmp_path, late=3, wait=30)
    assert rc == 0, out
    names = {n for n in data["interfaces"][role] if data["interfaces"][role][n]["device_index"] > 0}
    for name in names:
        assert re.search(rf"^\d+: {name}@", out, re.MULTILINE), (name, out)
    rc, out, took = _net(role, data, script, tmp_path, late=-1, wait=4)
    assert rc != 0 and "no NIC with MAC" in out, out
    assert took < 20, took  # bounded: the unit fails and systemd's Restart= tries again


# --- the image recipe ----------------------------------------------------------------------------


def test_install_script_verifies_every_pin(tmp_path: Path) -> None:
    """install.sh --verify (the component's validate/test phases) against this machine, which has
    the pod image's packages installed (the appliance checks run them): every pin holds; one
    version off is named."""
    install = REPO / "modules/pod-image/install.sh"
    packages = (REPO / "modules/pod-image/packages.txt").read_text()
    ok = subprocess.run(["sh", str(install), "--verify"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    pin = next(line for line in packages.splitlines() if line.startswith("frr="))
    other = tmp_path / "packages.txt"
    other.write_text(packages.replace(pin, "frr=0.0-1"))
    bad = subprocess.run(
        ["sh", str(install), "--verify", str(other)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and "frr=0.0-1" in bad.stderr, bad.stdout + bad.stderr
