"""The real tools' verdicts on rendered pod files: nft -c, vtysh --dryrun, swanctl via charon, tc.

Each checker runs the Debian packaged tool (installed by scripts/bootstrap.sh) in a throwaway
network (and, for charon, mount) namespace so nothing touches the host's configuration.
"""

from __future__ import annotations

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
