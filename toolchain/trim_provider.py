"""Keep only the listed service packages in a copy of the hashicorp/aws provider source.

The provider registers its ~260 AWS services in one generated file,
internal/provider/sdkv2/service_packages_gen.go. Rewriting that list is the smallest honest
change that builds the real provider code for the resources this project uses, in a fraction
of the time and memory of a full build. Nothing else in the source is touched.
"""

import re
import sys
from pathlib import Path

GEN = "internal/provider/sdkv2/service_packages_gen.go"


def trim(source: str, keep: set[str]) -> str:
    imp = re.compile(r'^\s*"github.com/hashicorp/terraform-provider-aws/internal/service/([a-z0-9]+)"\s*$')
    reg = re.compile(r"^\s*([a-z0-9]+)\.ServicePackage\(ctx\),\s*$")
    out, seen = [], set()
    for line in source.splitlines(keepends=True):
        m = imp.match(line) or reg.match(line)
        if m and m.group(1) not in keep:
            continue
        if m:
            seen.add(m.group(1))
        out.append(line)
    missing = keep - seen
    if missing:
        sys.exit(f"trim_provider: unknown service packages: {', '.join(sorted(missing))}")
    return "".join(out)


def main() -> None:
    root, keep = Path(sys.argv[1]), set(sys.argv[2:])
    path = root / GEN
    path.write_text(trim(path.read_text(), keep))
    print(f"trim_provider: kept {len(keep)} service packages: {' '.join(sorted(keep))}")


if __name__ == "__main__":
    main()
