"""microseg.toml -> Settings. Unknown keys are errors (a typo must not silently fall back to a default)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from microseg.errors import Collector
from microseg.io.tomlfile import read_toml
from microseg.model import (
    CONNECT_PEER_MBPS,
    CONNECT_PEERS_MAX,
    DEFAULT_CONNECT_CIDR_BLOCK,
    DEFAULT_CONNECT_PEERS,
    TUNNEL_MBPS,
    Prices,
    Settings,
)
from microseg.netaddr import overlaps, parse_network, reserved_overlap, span

PRIVATE_ASN = ((64512, 65534), (4200000000, 4294967294))
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_DOMAIN = re.compile(r"^\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

_PRICE_KEYS = tuple(f.name for f in fields(Prices) if f.name not in ("source", "instance_hour"))
SCHEMA: dict[str, tuple[str, ...]] = {
    "": (
        "name",
        "region",
        "azs",
        "default_workload_azs",
        "account_id",
        "workload_supernet",
        "core_cidr",
        "pods",
        "asn",
        "instance_types",
        "prices",
        "tags",
        "management",
        "cost",
        "quotas",
        "segmentation",
        "throughput",
    ),
    "segmentation": ("broadest_prefix",),
    "pods": (
        "capacity_mbps",
        "spares",
        "survive_az_loss",
        "transport",
        "tunnel_bandwidth",
        "connect_peers",
        "connect_cidr_block",
    ),
    "throughput": ("ipsec_mbps_per_vcpu", "network_mbps", "vcpus"),
    "asn": ("pools", "used_elsewhere", "transit_gateway", "management", "pods"),
    "instance_types": ("vpn", "fw", "nat"),
    "prices": ("source", *_PRICE_KEYS, "instance_hour"),
    "management": ("allowed_domains",),
    "cost": (
        "interface_endpoints",
        "tgw_passes",
        "internet_fraction",
        "log_gb_per_traffic_gb",
        "alarms_per_pod",
        "alarms_fixed",
        "ebs_gb_per_instance",
        "kms_keys",
        "health_checks_per_hour",
        "health_check_gb_seconds",
    ),
    "quotas": (
        "vpn_connections_per_region",
        "customer_gateways_per_region",
        "routes_per_customer_gateway",
        "tgw_attachments",
        "security_group_rules",
        "security_groups_per_network_interface",
        "elastic_ips_per_region",
        "lambda_concurrent_executions",
    ),
}
_FREE_TABLES = ("tags", "prices.instance_hour", "throughput.network_mbps", "throughput.vcpus")
# [quotas] key -> Settings field
QUOTA_FIELDS = {
    "vpn_connections_per_region": "quota_vpn_connections",
    "customer_gateways_per_region": "quota_customer_gateways",
    "routes_per_customer_gateway": "quota_routes_per_cgw",
    "tgw_attachments": "quota_tgw_attachments",
    "security_group_rules": "quota_sg_rules",
    "security_groups_per_network_interface": "quota_sg_per_eni",
    "elastic_ips_per_region": "quota_eips",
    "lambda_concurrent_executions": "quota_lambda_concurrency",
}
SG_RULES_TIMES_GROUPS = 1000  # AWS: rules per security group x security groups per ENI


class _Reader:
    """Typed access to the TOML tree that records a problem (with the key's line) instead of raising."""

    def __init__(self, data: dict[str, Any], lines: dict[str, int], label: str, problems: Collector):
        self.data, self.lines, self.label, self.problems = data, lines, label, problems

    def line(self, key: str) -> int:
        while key and key not in self.lines:
            key = key.rpartition(".")[0]
        return self.lines.get(key, 0)

    def error(self, key: str, message: str) -> None:
        self.problems.error(self.label, self.line(key), key, message)

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def str_(self, key: str, default: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, str):
            self.error(key, f"must be a string, got {_tname(v)}")
            return default
        if pattern is not None and not pattern.match(v):
            self.error(key, f"{v!r} is not {what}")
            return default
        return v

    def int_(self, key: str, default: int, lo: int, hi: int) -> int:
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            self.error(key, f"must be an integer, got {_tname(v)}")
            return default
        if not lo <= v <= hi:
            self.error(key, f"{v} is out of range {lo}..{hi}")
            return default
        return v

    def num(self, key: str, default: float, lo: float, hi: float, lo_open: bool = False) -> float:
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            self.error(key, f"must be a number, got {_tname(v)}")
            return default
        if v < lo or v > hi or (lo_open and v == lo):
            self.error(key, f"{v} is out of range {'(' if lo_open else '['}{lo:g}, {hi:g}]")
            return default
        return float(v)

    def bool_(self, key: str, default: bool) -> bool:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            self.error(key, f"must be true or false, got {_tname(v)}")
            return default
        return v

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.error(key, "must be a list of strings")
            return default
        return tuple(v)


def _tname(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        type(v), "a table" if isinstance(v, dict) else type(v).__name__
    )


def load_settings(path: Path | None, problems: Collector) -> Settings:
    """Read and validate a settings file; without one, the documented defaults."""
    if path is None:
        return Settings()
    label = str(path)
    loaded = read_toml(path, label, problems)
    if loaded is None:
        return Settings()
    data, lines = loaded
    return parse_settings(data, lines, label, problems)


def parse_settings(data: dict[str, Any], lines: dict[str, int], label: str, problems: Collector) -> Settings:
    r = _Reader(data, lines, label, problems)
    _check_keys(r, data, "")
    d = Settings()

    name = r.str_("name", d.name, _NAME, "a valid name prefix (^[a-z][a-z0-9-]{0,23}$)")
    region = r.str_("region", d.region, _REGION, "an AWS region name such as us-east-1")
    default_azs = tuple(f"{region}{s}" for s in "abc")
    azs = r.str_list("azs", default_azs)
    if r.has("azs"):
        if not 1 <= len(azs) <= 6:
            r.error("azs", f"list {len(azs)} AZs; 1 to 6 are supported")
            azs = default_azs
        elif len(set(azs)) != len(azs):
            r.error("azs", "lists an AZ twice")
            azs = default_azs
        else:
            for az in azs:
                if not re.match(rf"^{re.escape(region)}[a-z]$", az):
                    r.error("azs", f"{az!r} is not an AZ of region {region} (e.g. {region}a)")
    default_workload_azs = r.int_("default_workload_azs", min(3, len(azs)), 1, len(azs))
    account = r.str_("account_id", "", _ACCOUNT, "a 12-digit AWS account id") or None

    supernet = _cidr(r, "workload_supernet", d.workload_supernet, 8, 24)
    core = _cidr(r, "core_cidr", d.core_cidr, 16, 24)
    if overlaps(span(*parse_network(supernet)), span(*parse_network(core))):
        r.error("core_cidr", f"{core} overlaps workload_supernet {supernet}")

    transport = _transport(r, core, supernet)
    capacity = r.num("pods.capacity_mbps", transport["ceiling"], 0, 1_000_000, lo_open=True)
    if r.has("pods.capacity_mbps") and capacity > transport["ceiling"]:
        r.error(
            "pods.capacity_mbps",
            f"{capacity:g} Mbps is more than one pod's transport carries ({transport['what']} = "
            f"{transport['ceiling']:g} Mbps); a lower value derates the pods, a higher one cannot hold",
        )
    spares = r.int_("pods.spares", d.spare_pods, 0, 100)
    survive = r.bool_("pods.survive_az_loss", d.survive_az_loss)
    if survive and len(azs) < 2:
        r.error(
            "pods.survive_az_loss" if r.has("pods.survive_az_loss") else "azs",
            "surviving the loss of an AZ needs at least 2 AZs (set pods.survive_az_loss = false)",
        )

    pools = _asn_pools(r, d.asn_pools)
    used = _asn_used(r)
    pins: dict[str, int] = {}
    for role in ("transit_gateway", "management", "pods"):
        key = f"asn.{role}"
        if r.has(key):
            v = r.int_(key, 0, 1, 4294967294)
            if v and not _private(v):
                r.error(key, f"{v} is not a private ASN (64512-65534 or 4200000000-4294967294)")
            elif v and v in used:
                r.error(key, f"{v} is listed in asn.used_elsewhere")
            elif v:
                pins[role] = v
    if len(set(pins.values())) != len(pins):
        r.error("asn", "transit_gateway, management and pods ASNs must all differ")

    types = dict(d.instance_types)
    for role in types:
        types[role] = r.str_(
            f"instance_types.{role}", types[role], re.compile(r"^[a-z0-9-]+\.[a-z0-9-]+$"), "an instance type"
        )

    prices = _prices(r, d.prices)
    for role, itype in sorted(types.items()):
        if itype not in prices.instance_hour:
            key = f"instance_types.{role}" if r.has(f"instance_types.{role}") else "prices.instance_hour"
            r.error(key, f"no price for instance type {itype!r}: add it under [prices.instance_hour]")

    tags = dict(d.tags)
    raw_tags = r.get("tags")
    if raw_tags is not None:
        if not isinstance(raw_tags, dict):
            r.error("tags", "must be a table of strings")
        else:
            tags = {}
            for k, v in raw_tags.items():
                if not isinstance(v, str) or not _TAG_KEY.match(k) or len(v) > 256:
                    r.error(f"tags.{k}", "tags must be short strings (key <= 128, value <= 256 characters)")
                elif k.lower().startswith("aws:"):
                    r.error(f"tags.{k}", "the aws: prefix is reserved by AWS")
                else:
                    tags[k] = v

    domains = r.str_list("management.allowed_domains", d.allowed_domains)
    for dom in domains:
        if not _DOMAIN.match(dom):
            r.error("management.allowed_domains", f"{dom!r} is not a domain name (e.g. .amazonaws.com)")

    endpoints = r.str_list("cost.interface_endpoints", d.interface_endpoints)
    for ep in endpoints:
        if not re.match(r"^[a-z0-9.-]+$", ep):
            r.error("cost.interface_endpoints", f"{ep!r} is not a service name such as ssm")
    tgw_passes = r.int_("cost.tgw_passes", d.tgw_passes, 1, 4)
    fraction = r.num("cost.internet_fraction", d.internet_fraction, 0, 1)
    extra_cost = {
        "log_gb_per_traffic_gb": r.num("cost.log_gb_per_traffic_gb", d.log_gb_per_traffic_gb, 0, 10),
        "alarms_per_pod": r.int_("cost.alarms_per_pod", d.alarms_per_pod, 0, 1000),
        "alarms_fixed": r.int_("cost.alarms_fixed", d.alarms_fixed, 0, 10_000),
        "ebs_gb_per_instance": r.int_("cost.ebs_gb_per_instance", d.ebs_gb_per_instance, 0, 65_536),
        "kms_keys": r.int_("cost.kms_keys", d.kms_keys, 0, 1000),
        "health_checks_per_hour": r.int_("cost.health_checks_per_hour", d.health_checks_per_hour, 0, 3600),
        "health_check_gb_seconds": r.num(
            "cost.health_check_gb_seconds", d.health_check_gb_seconds, 0, 10_240
        ),
    }

    broadest = r.int_("segmentation.broadest_prefix", d.broadest_flow_prefix, 1, 32)

    q = {k: r.int_(f"quotas.{k}", getattr(d, f), 1, 1_000_000) for k, f in QUOTA_FIELDS.items()}
    rules, groups = q["security_group_rules"], q["security_groups_per_network_interface"]
    if rules * groups > SG_RULES_TIMES_GROUPS:
        key = next(
            (
                f"quotas.{k}"
                for k in ("security_group_rules", "security_groups_per_network_interface")
                if r.has(f"quotas.{k}")
            ),
            "quotas",
        )
        r.error(
            key,
            f"{rules} rules per security group x {groups} groups per network interface = {rules * groups:,}; "
            f"AWS caps the product at {SG_RULES_TIMES_GROUPS:,}",
        )
    network_mbps = _type_table(r, "throughput.network_mbps", d.network_mbps, float, 1e7)
    vcpus = _type_table(r, "throughput.vcpus", d.vcpus, int, 4096)
    ipsec = r.num("throughput.ipsec_mbps_per_vcpu", d.ipsec_mbps_per_vcpu, 0, 1e6, lo_open=True)

    return Settings(
        name=name,
        region=region,
        azs=azs,
        default_workload_azs=default_workload_azs,
        network_account_id=account,
        workload_supernet=supernet,
        core_cidr=core,
        pod_capacity_mbps=capacity,
        transport=transport["type"],
        tunnel_bandwidth=transport["tunnel_bandwidth"],
        connect_peers=transport["connect_peers"],
        connect_cidr_block=transport["connect_cidr_block"],
        spare_pods=spares,
        survive_az_loss=survive,
        asn_pools=pools,
        asn_used_elsewhere=frozenset(used),
        asn_pins=pins,
        instance_types=types,
        prices=prices,
        tags=tags,
        allowed_domains=tuple(sorted(set(domains))),
        interface_endpoints=tuple(sorted(set(endpoints))),
        tgw_passes=tgw_passes,
        internet_fraction=fraction,
        **extra_cost,
        **{f: q[k] for k, f in QUOTA_FIELDS.items()},
        network_mbps=network_mbps,
        vcpus=vcpus,
        ipsec_mbps_per_vcpu=ipsec,
        broadest_flow_prefix=broadest,
        file=label,
        lines=lines,
    )


def _transport(r: _Reader, core: str, supernet: str) -> dict[str, Any]:
    """[pods] transport and the settings that belong to one transport only. Every combination
    that makes no sense is an error at the key that does not belong."""
    kind = r.str_("pods.transport", "vpn")
    if kind not in ("vpn", "connect"):
        r.error("pods.transport", f'{kind!r} is not a transport (expected "vpn" or "connect")')
        kind = "vpn"
    out: dict[str, Any] = {
        "type": kind,
        "tunnel_bandwidth": None,
        "connect_peers": None,
        "connect_cidr_block": None,
    }
    if kind == "vpn":
        for key in ("connect_peers", "connect_cidr_block"):
            if r.has(f"pods.{key}"):
                r.error(f"pods.{key}", 'applies to transport = "connect" only (this fleet uses "vpn")')
        bandwidth = r.str_("pods.tunnel_bandwidth", "standard")
        if bandwidth not in TUNNEL_MBPS:
            r.error(
                "pods.tunnel_bandwidth",
                f'{bandwidth!r} is not a tunnel bandwidth (expected "standard" or "large")',
            )
            bandwidth = "standard"
        out["tunnel_bandwidth"] = bandwidth
        out["ceiling"] = 2 * TUNNEL_MBPS[bandwidth]
        out["what"] = f"2 {bandwidth} tunnels x {TUNNEL_MBPS[bandwidth]:,.0f} Mbps"
        return out
    if r.has("pods.tunnel_bandwidth"):
        r.error("pods.tunnel_bandwidth", 'applies to transport = "vpn" only (this fleet uses "connect")')
    peers = DEFAULT_CONNECT_PEERS
    raw = r.get("pods.connect_peers")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int):
            r.error("pods.connect_peers", f"must be an integer, got {_tname(raw)}")
        elif not 1 <= raw <= CONNECT_PEERS_MAX:
            r.error(
                "pods.connect_peers",
                f"{raw} is out of range 1..{CONNECT_PEERS_MAX} (AWS allows {CONNECT_PEERS_MAX} Connect peers "
                "per Connect attachment; each pod has one attachment)",
            )
        else:
            peers = raw
    out["connect_peers"] = peers
    out["ceiling"] = peers * CONNECT_PEER_MBPS
    out["what"] = f"{peers} Connect peer(s) x {CONNECT_PEER_MBPS:,.0f} Mbps"
    block = _cidr(r, "pods.connect_cidr_block", DEFAULT_CONNECT_CIDR_BLOCK, 16, 24)
    # Written or not, the block is checked; an unwritten default is reported where it clashes.
    key = "pods.connect_cidr_block" if r.has("pods.connect_cidr_block") else "pods.transport"
    fix = "" if r.has("pods.connect_cidr_block") else " (set [pods] connect_cidr_block)"
    for other, name in ((core, "core_cidr"), (supernet, "workload_supernet")):
        if overlaps(span(*parse_network(block)), span(*parse_network(other))):
            r.error(key, f"the TGW CIDR block {block} overlaps {name} {other}{fix}")
    out["connect_cidr_block"] = block
    return out


def _type_table(r: _Reader, key: str, default: dict[str, Any], kind: type, hi: float) -> dict[str, Any]:
    """A table keyed by instance type (the keys contain dots: read directly, not by dotted path)."""
    table = dict(default)
    raw = r.get(key)
    if isinstance(raw, dict):
        for k, v in raw.items():
            ok = not isinstance(v, bool) and (isinstance(v, int) or (kind is float and isinstance(v, float)))
            if not ok or not 0 < v <= hi:
                r.error(
                    f"{key}.{k}", f"must be a positive {'integer' if kind is int else 'number'}, got {v!r}"
                )
            else:
                table[k] = kind(v)
    return table


def _check_keys(r: _Reader, node: dict[str, Any], prefix: str) -> None:
    allowed = SCHEMA.get(prefix, ())
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in allowed:
            import difflib  # only for a misspelt key: not on every run's path

            hint = difflib.get_close_matches(key, allowed, n=1)
            where = f"[{prefix}]" if prefix else "the top level"
            r.error(path, f"unknown key in {where}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
        elif path in SCHEMA and path:
            if isinstance(value, dict):
                _check_keys(r, value, path)
            else:
                r.error(path, f"must be a table [{path}]")
        elif path in _FREE_TABLES and not isinstance(value, dict):
            r.error(path, f"must be a table [{path}]")


def _cidr(r: _Reader, key: str, default: str, lo: int, hi: int) -> str:
    text = r.str_(key, default)
    try:
        _, prefix = parse_network(text)
    except ValueError as exc:
        r.error(key, str(exc))
        return default
    if not lo <= prefix <= hi:
        r.error(key, f"{text}: prefix must be /{lo} to /{hi}")
        return default
    hit = reserved_overlap(*span(*parse_network(text)))
    if hit is not None:
        r.error(key, f"{text} overlaps {hit}, which no VPC may use")
        return default
    return text


def _private(asn: int) -> bool:
    return any(lo <= asn <= hi for lo, hi in PRIVATE_ASN)


def _asn_pools(r: _Reader, default: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    raw = r.get("asn.pools")
    if raw is None:
        return default
    pools: list[tuple[int, int]] = []
    ok = isinstance(raw, list) and bool(raw)
    for item in raw if isinstance(raw, list) else []:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            ok = False
            continue
        lo, hi = item
        if lo > hi:
            r.error("asn.pools", f"[{lo}, {hi}]: start is after end")
        elif not any(plo <= lo and hi <= phi for plo, phi in PRIVATE_ASN):
            r.error(
                "asn.pools",
                f"[{lo}, {hi}] is not inside a private ASN range (64512-65534, 4200000000-4294967294)",
            )
        else:
            pools.append((lo, hi))
    if not ok:
        r.error("asn.pools", "must be a non-empty list of [first, last] integer pairs")
    return tuple(sorted(pools)) or default


def _asn_used(r: _Reader) -> set[int]:
    raw = r.get("asn.used_elsewhere")
    if raw is None:
        return set()
    if not isinstance(raw, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
        r.error("asn.used_elsewhere", "must be a list of integers")
        return set()
    return set(raw)


def _prices(r: _Reader, d: Prices) -> Prices:
    values: dict[str, Any] = {"source": r.str_("prices.source", d.source)}
    for k in _PRICE_KEYS:
        values[k] = r.num(f"prices.{k}", getattr(d, k), 0, 1e6)
    if values["hours_per_month"] <= 0:
        r.error("prices.hours_per_month", "must be > 0")
        values["hours_per_month"] = d.hours_per_month
    table = dict(d.instance_hour)
    raw = r.get("prices.instance_hour")
    if isinstance(raw, dict):
        # Instance types contain dots, so read the values directly rather than by dotted path.
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1e4:
                r.error(f"prices.instance_hour.{k}", f"must be a price per hour in USD, got {v!r}")
            else:
                table[k] = float(v)
    values["instance_hour"] = table
    return Prices(**values)
