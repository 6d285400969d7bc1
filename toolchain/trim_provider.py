"""Keep only the listed service packages in a copy of the hashicorp/aws provider source.

Two generated files decide how much of the provider (and of the AWS SDK) is compiled:

- internal/provider/sdkv2/service_packages_gen.go registers the ~260 service packages;
- internal/conns/awsclient_gen.go has one typed client accessor per service and so imports
  every AWS SDK client (~260 SDK packages, most of the compile time and memory).

This script rewrites only these two generated lists: the registration list to the services in
AWS_PROVIDER_SERVICES, and the accessors to those that the code still compiled actually calls.
Every resource, schema and validation compiled is the provider's own, unchanged. If an accessor
that is still called were dropped, `go build` fails: a trim can break the build, never the
behaviour.
"""

import re
import sys
from pathlib import Path

SERVICES_GEN = "internal/provider/sdkv2/service_packages_gen.go"
CLIENTS_GEN = "internal/conns/awsclient_gen.go"
SKIPPED = {("internal", d) for d in ("generate", "acctest", "sweep")}

# One accessor: func (c *AWSClient) EC2Client(ctx context.Context) *ec2.Client { ... }
ACCESSOR = re.compile(
    r"^func \(c \*AWSClient\) (?P<name>[A-Za-z0-9]+)\(ctx context\.Context\) "
    r"\*(?P<pkg>[a-z0-9_]+)\.Client \{\n"
    r"(?:\t.*\n)*?\}\n\n?",
    re.MULTILINE,
)
SDK_IMPORT = re.compile(
    r'^\t(?:(?P<alias>[a-z0-9_]+) )?"github.com/aws/aws-sdk-go-v2/service/(?P<path>[a-z0-9]+)"\n',
    re.MULTILINE,
)


def trim_services(source: str, keep: set[str]) -> str:
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


SERVICE_IMPORT = re.compile(r'"github\.com/hashicorp/terraform-provider-aws/internal/service/([a-z0-9]+)[/"]')


def compiled_sources(root: Path, keep: set[str]) -> list[Path]:
    """Go sources that can still be compiled: everything under internal/ and names/ except the
    service packages that nothing kept imports (followed transitively: a kept service may use
    another's helpers), the code generators, the test-only helpers (acceptance tests and
    sweepers, never linked into the provider) and the accessor file itself (the rest of
    internal/conns calls accessors too). An over-approximation is safe: it only keeps an accessor
    more."""
    base: list[Path] = []
    by_service: dict[str, list[Path]] = {}
    for top in ("internal", "names"):
        for path in (root / top).rglob("*.go"):
            rel = path.relative_to(root).parts
            if path.name.endswith("_test.go") or rel[:2] in SKIPPED or path == root / CLIENTS_GEN:
                continue
            if rel[:2] == ("internal", "service"):
                by_service.setdefault(rel[2], []).append(path)
            else:
                base.append(path)
    services: set[str] = set()
    frontier, out = list(keep), list(base)
    for path in base:
        frontier += SERVICE_IMPORT.findall(path.read_text())
    while frontier:
        svc = frontier.pop()
        if svc in services:
            continue
        services.add(svc)
        for path in by_service.get(svc, []):
            out.append(path)
            frontier += SERVICE_IMPORT.findall(path.read_text())
    return out


def trim_clients(source: str, called: set[str]) -> tuple[str, int, int]:
    """Drop the accessors nobody calls, then the SDK imports no remaining accessor uses."""
    total = kept = 0

    def accessor(m: re.Match[str]) -> str:
        nonlocal total, kept
        total += 1
        if m["name"] in called:
            kept += 1
            return m[0]
        return ""

    body = ACCESSOR.sub(accessor, source)
    used = set(re.findall(r"\b([a-z0-9_]+)\.Client\b", body))

    def sdk_import(m: re.Match[str]) -> str:
        return m[0] if (m["alias"] or m["path"]) in used else ""

    return SDK_IMPORT.sub(sdk_import, body).rstrip("\n") + "\n", kept, total


def main() -> None:
    root, keep = Path(sys.argv[1]), set(sys.argv[2:])
    services = root / SERVICES_GEN
    services.write_text(trim_services(services.read_text(), keep))

    clients = root / CLIENTS_GEN
    text = clients.read_text()
    names = {m["name"] for m in ACCESSOR.finditer(text)}
    word = re.compile(r"\b([A-Z][A-Za-z0-9]*Client)\b")
    called = {n for p in compiled_sources(root, keep) for n in word.findall(p.read_text()) if n in names}
    trimmed, kept, total = trim_clients(text, called)
    if total != len(names) or total < 100:
        sys.exit(f"trim_provider: {CLIENTS_GEN} no longer has the expected layout ({total} accessors)")
    clients.write_text(trimmed)
    print(f"trim_provider: kept {len(keep)} service packages: {' '.join(sorted(keep))}")
    print(f"trim_provider: kept {kept} of {total} SDK client accessors: {' '.join(sorted(called))}")


if __name__ == "__main__":
    main()
