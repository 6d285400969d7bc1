"""inventory.csv -> Workloads. Every cell is checked; every problem is collected."""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from microseg.allocate.layout import (
    MAX_VPC_PREFIX,
    MIN_VPC_PREFIX,
    min_vpc_prefix,
    usable_hosts,
    vpc_prefix_for_hosts,
)
from microseg.errors import Collector
from microseg.io.csvfile import read_table
from microseg.io.textfile import read_text
from microseg.model import Inventory, Settings, Workload
from microseg.netaddr import fmt, parse_network, reserved_overlap, size, span

COLUMNS = (
    "name",
    "bandwidth_mbps",
    "environment",
    "hosts",
    "prefix_length",
    "azs",
    "internet_egress",
    "cidr",
    "account_id",
    "owner",
    "cost_center",
    "monthly_gb",
)
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Names a flow endpoint could read as a wildcard or a special side; never workload names.
RESERVED = frozenset({"internet", "any", "all", "default", "everything", "none", "self", "local"})
_ACCOUNT = re.compile(r"^\d{12}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
_BOOLEAN = _TRUE | _FALSE


def load_inventory(
    path: Path, settings: Settings, problems: Collector, label: str | None = None
) -> Inventory:
    label = label or str(path)
    text = read_text(path, label, problems)
    if text is None:
        return Inventory(label, ())
    return parse_inventory(text, label, settings, problems)


def parse_inventory(text: str, label: str, settings: Settings, problems: Collector) -> Inventory:
    table = read_table(text, label, COLUMNS, problems)
    if table is None:
        return Inventory(label, ())
    header = set(table.header)
    for col in ("name", "bandwidth_mbps"):
        if col not in header:
            problems.error(label, table.header_line, col, "required column is missing")
    if not header & {"hosts", "prefix_length", "cidr"}:
        problems.error(
            label, table.header_line, "hosts", "one of the columns hosts or prefix_length is required"
        )
    if "name" not in header or "bandwidth_mbps" not in header:
        return Inventory(label, ())
    if not table.rows:
        problems.error(label, table.header_line, "-", "no workload rows after the header")
    seen: dict[str, int] = {}
    workloads: list[Workload] = []
    tags_ok: set[str] = set()  # tag values already checked (a few owners and cost centers recur)
    for line, row in table.rows:
        w = _common_row(row, line, settings, tags_ok) or _row(row, line, label, settings, problems)
        if w is None:
            continue
        if w.name in seen:
            problems.error(
                label, line, "name", f"duplicate workload {w.name!r} (first on line {seen[w.name]})"
            )
            continue
        seen[w.name] = line
        workloads.append(w)
    names = frozenset(row.get("name", "") for _, row in table.rows)
    return Inventory(label, tuple(workloads), names)


def _common_row(row: dict[str, str], line: int, settings: Settings, tags_ok: set[str]) -> Workload | None:
    """The usual row (sized by prefix_length, no hosts, cidr or account), when _row would find
    nothing wrong with it: the same Workload, without _row's per-cell set-up. None for any other
    row, which _row then checks and reports. 10k rows take this path in a big inventory."""
    get = row.get
    name = get("name", "")
    if get("hosts") or get("cidr") or get("account_id") or not NAME.match(name) or name in RESERVED:
        return None
    bandwidth, problem = _parse_number(get("bandwidth_mbps") or "-")
    if problem or bandwidth is None or bandwidth <= 0:
        return None
    monthly_text = get("monthly_gb", "")
    monthly_gb: float | None = 0.0
    if monthly_text:
        monthly_gb, problem = _parse_number(monthly_text)
        if problem or monthly_gb is None or monthly_gb < 0:
            return None
    azs = settings.default_workload_azs
    azs_text = get("azs")
    egress_text = get("internet_egress", "").lower()
    prefix_text = get("prefix_length")
    if not prefix_text or egress_text not in _BOOLEAN:
        return None
    try:
        if azs_text:
            azs = int(azs_text)
        prefix = int(prefix_text.lstrip("/"))
    except ValueError:
        return None
    if not 1 <= azs <= min(6, len(settings.azs)) or not MIN_VPC_PREFIX <= prefix <= min_vpc_prefix(azs):
        return None
    tags = (get("environment", ""), get("owner", ""), get("cost_center", ""))
    for tag in tags:
        if tag not in tags_ok:
            if not _TAG_VALUE.match(tag):
                return None
            tags_ok.add(tag)
    return Workload(
        name=name,
        line=line,
        bandwidth_mbps=bandwidth,
        azs=azs,
        vpc_prefix=prefix,
        hosts=None,
        prefix_explicit=True,
        internet_egress=egress_text in _TRUE,
        cidr=None,
        account_id=None,
        environment=tags[0],
        owner=tags[1],
        cost_center=tags[2],
        monthly_gb=monthly_gb or 0.0,
    )


def _row(
    row: dict[str, str], line: int, label: str, settings: Settings, problems: Collector
) -> Workload | None:
    before = len(problems.errors)

    def err(col: str, msg: str) -> None:
        problems.error(label, line, col, msg)

    name = row.get("name", "")
    if not name:
        err("name", "is empty")
    elif not NAME.match(name):
        err(
            "name",
            f"{name!r} must match ^[a-z][a-z0-9-]{{0,30}}$ (lower-case letter, then letters, digits, -)",
        )
    elif name in RESERVED:
        err("name", f"{name!r} is reserved (flows read it as a wildcard or a special endpoint)")

    bandwidth = _number(row.get("bandwidth_mbps", ""), "bandwidth_mbps", err, required=True)
    if bandwidth is not None and bandwidth <= 0:
        err("bandwidth_mbps", f"{row['bandwidth_mbps']} must be > 0")
    monthly_gb = _number(row.get("monthly_gb", ""), "monthly_gb", err) or 0.0
    if monthly_gb < 0:
        err("monthly_gb", "must be >= 0")

    azs = settings.default_workload_azs
    if row.get("azs"):
        v = _integer(row["azs"], "azs", err)
        if v is not None:
            if not 1 <= v <= 6:
                err("azs", f"{v} is out of range 1..6")
            elif v > len(settings.azs):
                err("azs", f"{v} AZs requested but the settings list only {len(settings.azs)}")
            else:
                azs = v

    egress_text = row.get("internet_egress", "").lower()
    if egress_text not in _BOOLEAN:
        err("internet_egress", f"{row['internet_egress']!r} must be true or false")
    egress = egress_text in _TRUE

    account = row.get("account_id", "") or None
    if account is not None and not _ACCOUNT.match(account):
        err("account_id", f"{account!r} must be 12 digits")
    if account is not None and account == settings.network_account_id:
        account = None  # the network account itself needs no RAM share

    for col in ("environment", "owner", "cost_center"):
        if not _TAG_VALUE.match(row.get(col, "")):
            err(col, "must be at most 256 letters, digits, spaces or . : / = + - @ _")

    hosts = _integer(row["hosts"], "hosts", err) if row.get("hosts") else None
    if hosts is not None and hosts < 1:
        err("hosts", "must be >= 1")
        hosts = None
    prefix: int | None = None
    if row.get("prefix_length"):
        prefix = _integer(row["prefix_length"].lstrip("/"), "prefix_length", err)
        if prefix is not None and not MIN_VPC_PREFIX <= prefix <= MAX_VPC_PREFIX:
            err("prefix_length", f"/{prefix} is outside /16../28 (the sizes AWS allows for a VPC)")
            prefix = None
    cidr = row.get("cidr") or None
    pin_prefix: int | None = None
    if cidr is not None:
        try:
            addr, pin_prefix = parse_network(cidr)
            cidr = fmt(addr, pin_prefix)
            if not MIN_VPC_PREFIX <= pin_prefix <= MAX_VPC_PREFIX:
                err("cidr", f"{cidr} is outside /16../28 (the sizes AWS allows for a VPC)")
                pin_prefix = None
            elif (hit := reserved_overlap(*span(addr, pin_prefix))) is not None:
                err("cidr", f"{cidr} overlaps {hit}, which no VPC may use")
                pin_prefix = None
        except ValueError as exc:
            err("cidr", str(exc))
            cidr = None

    explicit = prefix is not None
    if row.get("hosts") and row.get("prefix_length"):
        err("prefix_length", "give hosts or prefix_length, not both")
    elif not row.get("hosts") and not row.get("prefix_length") and not row.get("cidr"):
        err("hosts", "size missing: give hosts or prefix_length (or pin a cidr)")
    if pin_prefix is not None and prefix is not None and pin_prefix != prefix:
        err("prefix_length", f"/{prefix} contradicts the pinned cidr {cidr}")

    vpc_prefix = pin_prefix if pin_prefix is not None else prefix
    if vpc_prefix is None and hosts is not None:
        vpc_prefix = vpc_prefix_for_hosts(hosts, azs)
        if vpc_prefix < MIN_VPC_PREFIX:
            err("hosts", f"{hosts} hosts over {azs} AZ(s) need a /{vpc_prefix}; a VPC is at most a /16")
            vpc_prefix = None
    elif vpc_prefix is not None:
        col = "cidr" if pin_prefix is not None else "prefix_length"
        if vpc_prefix > min_vpc_prefix(azs):
            err(
                col,
                f"a /{vpc_prefix} cannot hold {azs} AZ workload subnets plus {azs} /28 attachment subnets; "
                f"use /{min_vpc_prefix(azs)} or larger",
            )
        elif hosts is not None and usable_hosts(size(vpc_prefix), azs) < hosts:
            err("hosts", f"{hosts} hosts do not fit a /{vpc_prefix} over {azs} AZ(s)")

    if len(problems.errors) > before or bandwidth is None:
        return None
    return Workload(
        name=name,
        line=line,
        bandwidth_mbps=bandwidth,
        azs=azs,
        vpc_prefix=vpc_prefix,
        hosts=hosts,
        prefix_explicit=explicit,
        internet_egress=egress,
        cidr=cidr,
        account_id=account,
        environment=row.get("environment", ""),
        owner=row.get("owner", ""),
        cost_center=row.get("cost_center", ""),
        monthly_gb=monthly_gb,
    )


def _number(text: str, col: str, err, required: bool = False) -> float | None:  # type: ignore[no-untyped-def]
    if not text:
        if required:
            err(col, "is empty")
        return None
    value, problem = _parse_number(text)
    if problem:
        err(col, problem)
    return value


@functools.lru_cache(maxsize=4096)
def _parse_number(text: str) -> tuple[float | None, str]:
    """(value, problem) of a number cell. Pure, and an inventory repeats its numbers, so cached."""
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(v):
        return None, f"{text!r} is not a finite number"
    return (int(v) if v.is_integer() and abs(v) < 2**53 else v), ""


def _integer(text: str, col: str, err) -> int | None:  # type: ignore[no-untyped-def]
    try:
        return int(text)
    except ValueError:
        err(col, f"{text!r} is not a whole number")
        return None
