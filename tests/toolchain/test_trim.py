"""The provider and Terraform trims on small copies of the generated files they rewrite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "toolchain" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


ACCESSORS = """package conns

import (
\t"context"

\t"github.com/aws/aws-sdk-go-v2/service/ec2"
\t"github.com/aws/aws-sdk-go-v2/service/s3"
\tawstypes "github.com/aws/aws-sdk-go-v2/service/wafv2"
\t"github.com/hashicorp/terraform-provider-aws/names"
)

func (c *AWSClient) EC2Client(ctx context.Context) *ec2.Client {
\treturn errs.Must(client[*ec2.Client](ctx, c, names.EC2, make(map[string]any)))
}

func (c *AWSClient) S3Client(ctx context.Context) *s3.Client {
\treturn errs.Must(client[*s3.Client](ctx, c, names.S3, make(map[string]any)))
}

func (c *AWSClient) WAFV2Client(ctx context.Context) *awstypes.Client {
\treturn errs.Must(client[*awstypes.Client](ctx, c, names.WAFV2, make(map[string]any)))
}
"""


def test_accessors_nobody_calls_and_their_imports_are_dropped() -> None:
    trim = _load("trim_provider")
    out, kept, total = trim.trim_clients(ACCESSORS, {"EC2Client"})
    assert (kept, total) == (1, 3)
    assert "EC2Client" in out and '"github.com/aws/aws-sdk-go-v2/service/ec2"' in out
    assert "S3Client" not in out and "service/s3" not in out
    assert "WAFV2Client" not in out and "service/wafv2" not in out
    assert '"github.com/hashicorp/terraform-provider-aws/names"' in out


def test_services_imported_by_kept_ones_count_as_compiled(tmp_path: Path) -> None:
    trim = _load("trim_provider")
    svc = tmp_path / "internal" / "service"
    for name, body in {
        "ram": 'import "github.com/hashicorp/terraform-provider-aws/internal/service/organizations"\n'
        "func f() { meta.RAMClient(ctx) }\n",
        "organizations": "func g() { meta.AccountClient(ctx) }\n",
        "s3": "func h() { meta.S3Client(ctx) }\n",
    }.items():
        (svc / name).mkdir(parents=True)
        (svc / name / f"{name}.go").write_text(f"package {name}\n{body}")
    (tmp_path / "names").mkdir()
    (tmp_path / "names" / "n.go").write_text("package names\n")
    called = " ".join(p.read_text() for p in trim.compiled_sources(tmp_path, {"ram"}))
    assert "AccountClient" in called and "RAMClient" in called
    assert "S3Client" not in called


def test_unknown_service_is_refused() -> None:
    trim = _load("trim_provider")
    src = (
        '\t"github.com/hashicorp/terraform-provider-aws/internal/service/ec2"\n\t\tec2.ServicePackage(ctx),\n'
    )
    with pytest.raises(SystemExit, match="nosuch"):
        trim.trim_services(src, {"ec2", "nosuch"})


def test_terraform_backends_of_absent_nested_modules_are_dropped(tmp_path: Path, monkeypatch) -> None:
    trim = _load("trim_terraform")
    (tmp_path / "internal/backend/init").mkdir(parents=True)
    (tmp_path / "internal/backend/remote-state/http").mkdir(parents=True)
    (tmp_path / "go.mod").write_text(
        "module github.com/hashicorp/terraform\n\nrequire (\n"
        "\tgithub.com/hashicorp/terraform/internal/backend/remote-state/s3 "
        "v0.0.0-00010101000000-000000000000\n"
        ")\n\n"
        "replace github.com/hashicorp/terraform/internal/backend/remote-state/s3 => "
        "./internal/backend/remote-state/s3\n"
    )
    (tmp_path / "internal/backend/init/init.go").write_text(
        "import (\n"
        '\tbackendHTTP "github.com/hashicorp/terraform/internal/backend/remote-state/http"\n'
        '\tbackendS3 "github.com/hashicorp/terraform/internal/backend/remote-state/s3"\n'
        ")\n"
        '\t\t"http":       func() backend.Backend { return backendHTTP.New() },\n'
        '\t\t"s3":         func() backend.Backend { return backendS3.New() },\n'
    )
    monkeypatch.setattr(sys, "argv", ["trim_terraform", str(tmp_path)])
    trim.main()
    init = (tmp_path / "internal/backend/init/init.go").read_text()
    assert "backendS3" not in init and "backendHTTP.New()" in init
    assert "remote-state/s3" not in (tmp_path / "go.mod").read_text()
