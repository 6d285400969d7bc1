"""The real tools' verdicts on rendered pod files: nft -c, vtysh --dryrun, swanctl via charon, tc.

Each checker runs the Debian packaged tool (installed by scripts/bootstrap.sh) in a throwaway
network (and, for charon, mount) namespace so nothing touches the host's configuration.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path


class CheckError(AssertionError):
    pass


def _run(argv: list[str], timeout: int = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kw)  # type: ignore[call-overload]


def have_root_netns() -> bool:
    return shutil.which("ip") is not None and _run(["unshare", "--net", "true"]).returncode == 0


def nft_check(ruleset: str) -> str:
    """`nft -c -f` in a private network namespace (the check still needs netlink)."""
    with tempfile.NamedTemporaryFile("w", suffix=".nft") as f:
        f.write(ruleset)
        f.flush()
        r = _run(["unshare", "--net", "nft", "-c", "-f", f.name])
    if r.returncode:
        raise CheckError(f"nft -c rejected the ruleset:\n{r.stderr}")
    return r.stdout


def vtysh_dryrun(conf: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(conf)
        f.flush()
        r = _run(["vtysh", "--dryrun", "-f", f.name])
    if r.returncode or "% " in r.stdout + r.stderr:
        raise CheckError(f"vtysh --dryrun rejected frr.conf:\n{r.stdout}{r.stderr}")
    return r.stdout


def swanctl_load(conf: str, secrets: str) -> str:
    """Load swanctl.conf into a real charon (private mount + network namespace) through vici.

    swanctl parses the file with libstrongswan's settings parser and charon validates every
    connection (proposals, identities, if_ids) as it would at boot. /etc/swanctl is overlaid with a
    tmpfs so the `include /etc/swanctl/secrets.d/*.conf` of the rendered file finds `secrets`.
    """
    with tempfile.TemporaryDirectory(prefix="microseg-swan-") as d:
        Path(d, "swanctl.conf").write_text(conf)
        Path(d, "secrets.conf").write_text(secrets)
        script = textwrap.dedent(f"""\
            set -e
            mount -t tmpfs tmpfs /run
            mount -t tmpfs tmpfs /etc/swanctl
            mkdir -p /etc/swanctl/secrets.d
            cp {d}/secrets.conf /etc/swanctl/secrets.d/microseg-tunnels.conf
            /usr/lib/ipsec/charon >{d}/charon.log 2>&1 &
            pid=$!
            i=0; while [ ! -S /run/charon.vici ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            rc=0; swanctl --load-all --file {d}/swanctl.conf || rc=$?
            swanctl --list-conns || true
            kill $pid; wait $pid 2>/dev/null || true
            exit $rc
            """)
        r = _run(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script])
        log = Path(d, "charon.log").read_text() if Path(d, "charon.log").exists() else ""
    if r.returncode or "successfully loaded" not in r.stdout:
        raise CheckError(f"swanctl/charon rejected swanctl.conf:\n{r.stdout}{r.stderr}\n{log[-3000:]}")
    return r.stdout


# --- boot: cloud-init and systemd ------------------------------------------------------------------

EXEC = re.compile(
    r"^Exec(?:Start|StartPre|StartPost|Reload|Stop|StopPost|Condition)=[-@:+!|]*(\S+)", re.MULTILINE
)
UNIT_SUFFIXES = (".service", ".target", ".socket", ".timer", ".path", ".mount")


def cloud_init_schema(user_data: str) -> str:
    """`cloud-init schema --config-file` (Debian's cloud-init): the user_data is valid cloud-config."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(user_data)
        f.flush()
        r = _run(["cloud-init", "schema", "--config-file", f.name])
    out = r.stdout + r.stderr
    if r.returncode or "Valid cloud-config" not in out:
        raise CheckError(f"cloud-init schema rejected the user_data:\n{out}")
    return out


def boot_root(user_data: str, root: Path, enable: tuple[str, ...] = ("microseg-pod.target",)) -> list[str]:
    """An instance's root as the pod image plus this user_data leave it, for `systemd-analyze --root`.

    /lib/systemd/system is this machine's (systemd's units and the Debian packages' own: frr,
    strongswan, nftables), the user_data's write_files are written with their modes, and `enable` is
    enabled as its runcmd does (the image enables none of the pod's services). Every binary a unit of
    the user_data (or a unit it extends or wants) executes is copied from this machine when present;
    a missing one stays missing for verify to report. Returns the unit names the user_data writes or
    extends."""
    import base64

    import yaml

    shutil.copytree("/lib/systemd/system", root / "lib/systemd/system", symlinks=True)
    written: list[str] = []
    for f in yaml.safe_load(user_data).get("write_files", []):
        path = root / f["path"].lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        content = f["content"]
        b64 = f.get("encoding") in ("b64", "base64")
        path.write_bytes(base64.b64decode(content) if b64 else content.encode())
        path.chmod(int(str(f.get("permissions", "0644")), 8))
        parent = path.parent.name
        if f["path"].startswith("/etc/systemd/system/"):
            if path.name.endswith(UNIT_SUFFIXES):
                written.append(path.name)
            elif parent.endswith(".d") and parent[:-2].endswith(UNIT_SUFFIXES):
                written.append(parent[:-2])
    units = set(written)
    for name in list(written):
        own = root / "etc/systemd/system" / name
        for line in own.read_text().splitlines() if own.is_file() else []:
            if line.startswith(("Wants=", "Requires=")):
                units.update(line.split("=", 1)[1].split())
    for name in sorted(units):
        for d in ("etc/systemd/system", "lib/systemd/system"):
            unit = root / d / name
            dropins = sorted((root / d / f"{name}.d").glob("*.conf"))
            for src in ([unit] if unit.is_file() else []) + dropins:
                for binary in EXEC.findall(src.read_text()):
                    target = root / binary.lstrip("/")
                    if binary.startswith("/") and not target.exists() and Path(binary).is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(binary, target)
    if enable:
        r = _run(["systemctl", f"--root={root}", "enable", *enable])
        if r.returncode:
            raise CheckError(f"systemctl --root enable {' '.join(enable)} failed:\n{r.stdout}{r.stderr}")
    return written


def systemd_verify(user_data: str, goal: str = "multi-user.target") -> str:
    """`systemd-analyze verify` of every unit the user_data writes or extends, and of the boot goal
    with the pod's target enabled (the transaction of a reboot): unit syntax, missing executables and
    ordering cycles (systemd breaks a cycle by dropping a job, so a cycle is only ever a message).
    Clean means no output at all."""
    with tempfile.TemporaryDirectory(prefix="microseg-systemd-") as d:
        root = Path(d)
        units = boot_root(user_data, root)
        r = _run(["systemd-analyze", "verify", f"--root={root}", "--man=no", goal, *units])
    out = (r.stdout + r.stderr).strip()
    if r.returncode or out:
        raise CheckError(f"systemd-analyze verify ({goal} {' '.join(units)}):\n{out}")
    return out


def boot_graph(
    user_data: str, goal: str = "multi-user.target"
) -> tuple[set[str], dict[str, dict[str, set[str]]]]:
    """What systemd itself makes of the boot: the jobs of `goal`'s start transaction (a reboot with
    the pod's target enabled) and the merged dependencies (unit files, drop-ins, defaults) of every
    unit the user_data writes or extends, from `systemd-analyze verify`'s debug dump."""
    with tempfile.TemporaryDirectory(prefix="microseg-systemd-") as d:
        root = Path(d)
        units = boot_root(user_data, root)
        r = subprocess.run(
            ["systemd-analyze", "verify", f"--root={root}", "--man=no", goal, *units],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_LOG_LEVEL": "debug"},
        )
    out = r.stdout + r.stderr
    jobs: set[str] = set()
    job_of = None
    deps: dict[str, dict[str, set[str]]] = {}
    unit = None
    for line in out.splitlines():
        if m := re.match(r"^\S+: Creating (\S+)/start job", line):
            job_of = m.group(1)
        elif (m := re.match(r"^\S+: Installed new job (\S+)/start ", line)) and job_of == goal:
            jobs.add(m.group(1))
        elif m := re.match(r"^\t-> Unit (\S+):$", line):
            unit = m.group(1)
            deps[unit] = {}
        elif unit and (m := re.match(r"^\t\t(\w+): (\S+) \(", line)):
            deps[unit].setdefault(m.group(1), set()).add(m.group(2))
    if goal not in deps or not jobs:
        raise CheckError(f"no dependency dump or transaction for {goal} from systemd-analyze:\n{out[-3000:]}")
    return jobs, deps


# --- IKE/ESP proposals against the AWS side's option lists ---------------------------------------

# AWS's names (the VPN connection's tunnel options) -> strongSwan's keywords: the test's own table,
# written independently of the template's.
AWS_TO_STRONGSWAN = {
    "encryption": {"AES128": "aes128", "AES256": "aes256",
                   "AES128-GCM-16": "aes128gcm16", "AES256-GCM-16": "aes256gcm16"},
    "integrity": {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"},
    "dh": {2: "modp1024", 5: "modp1536", 14: "modp2048", 15: "modp3072", 16: "modp4096", 17: "modp6144",
           18: "modp8192", 19: "ecp256", 20: "ecp384", 21: "ecp521", 22: "modp1024s160", 23: "modp2048s224",
           24: "modp2048s256"},
}  # fmt: skip


def aws_accepts(phase: dict, ike: bool) -> set[tuple[str, ...]]:
    """Every (encryption, integrity, prf, dh) combination the AWS side accepts for one phase."""
    m = AWS_TO_STRONGSWAN
    out = set()
    for e in phase["encryption"]:
        aead = "GCM" in e
        for i in phase["integrity"]:
            for g in phase["dh_groups"] or [None]:
                dh = m["dh"][g] if g is not None else ""
                for prf in [m["integrity"][p] for p in phase["integrity"]] if ike else [""]:
                    out.add(
                        (
                            m["encryption"][e],
                            "" if aead else m["integrity"][i],
                            f"prf{prf}" if prf else "",
                            dh,
                        )
                    )
    return out


def offered(proposals: str, ike: bool) -> set[tuple[str, ...]]:
    """Every combination a strongSwan `proposals`/`esp_proposals` value offers (each proposal is the
    cross product of its algorithms)."""
    out = set()
    for proposal in proposals.split(","):
        kinds: dict[str, list[str]] = {"enc": [], "integ": [], "prf": [], "dh": []}
        for tok in proposal.strip().split("-"):
            kind = (
                "prf" if tok.startswith("prf") else "dh" if tok.startswith(("modp", "ecp")) else
                "integ" if tok.startswith("sha") else "enc"
            )  # fmt: skip
            kinds[kind].append(tok)
        for e in kinds["enc"]:
            for i in kinds["integ"] or [""]:
                for p in (kinds["prf"] or [f"prf{i}"]) if ike else [""]:
                    for g in kinds["dh"] or [""]:
                        out.add((e, i, p, g))
    return out


def proposal_mismatches(swanctl_conf: str, tunnel: dict) -> list[str]:
    """What the rendered connections offer that the AWS side (phase1/phase2 of `tunnel`, AWS names)
    refuses, or a family with no combination in common: empty when they agree."""
    problems = []
    for key, phase, ike in (("proposals", "phase1", True), ("esp_proposals", "phase2", False)):
        values = re.findall(rf"^\s*{key} = (\S+)$", swanctl_conf, re.MULTILINE)
        if not values:
            problems.append(f"no {key} rendered")
        accepted = aws_accepts(tunnel[phase], ike)
        for value in values:
            mine = offered(value, ike)
            if not mine & accepted:
                problems.append(f"{key} = {value}: nothing in common with the AWS side's {phase}")
            if mine - accepted:
                problems.append(
                    f"{key} = {value} offers what the AWS side refuses: {sorted(mine - accepted)}"
                )
    return problems
