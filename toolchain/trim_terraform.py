"""Make the Terraform CLI's module source buildable from the Go module proxy.

Terraform's go.mod replaces nine remote-state backends and internal/legacy with nested modules
(`=> ./internal/...`). A module zip never contains nested modules, and their own versions are not
published, so those directories are absent from the downloaded source. This script drops exactly
those requires/replaces from go.mod and the absent backends from the generated-style registry in
internal/backend/init/init.go. The CLI keeps the local, remote, http, inmem and cloud backends (the
tests use local state); everything else is Terraform's own code, unchanged. A dropped backend that
is still imported elsewhere fails `go build`.
"""

import re
import sys
from pathlib import Path

NESTED = re.compile(
    r"^replace (github\.com/hashicorp/terraform/(internal/[a-z0-9/_-]+)) => \./\2$", re.MULTILINE
)


def main() -> None:
    root = Path(sys.argv[1])
    gomod = (root / "go.mod").read_text()
    absent = [mod for mod, rel in NESTED.findall(gomod) if not (root / rel).is_dir()]
    if not absent:
        print("trim_terraform: every nested module is present, nothing to do")
        return
    for mod in absent:
        gomod = re.sub(rf"^\s*(replace )?{re.escape(mod)} .*\n", "", gomod, flags=re.MULTILINE)
    (root / "go.mod").write_text(gomod)

    init = root / "internal/backend/init/init.go"
    src = init.read_text()
    dropped = []
    for mod in absent:
        m = re.search(rf'^\t(\w+) "{re.escape(mod)}"\n', src, re.MULTILINE)
        if not m:
            continue  # not a backend (internal/legacy): nothing registers it
        alias = m[1]
        src = src.replace(m[0], "")
        src, n = re.subn(
            rf'^\t\t"([a-z0-9]+)":\s+func\(\) backend\.Backend \{{ return {alias}\.New\(\) \}},\n',
            lambda r: dropped.append(r[1]) or "",
            src,
            flags=re.MULTILINE,
        )
        if n != 1:
            sys.exit(f"trim_terraform: {init.name} no longer registers {alias} as expected")
    init.write_text(src)
    print(
        f"trim_terraform: dropped {len(absent)} nested modules absent from the module zip; "
        f"backends not built: {' '.join(sorted(dropped))}"
    )


if __name__ == "__main__":
    main()
