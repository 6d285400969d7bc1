"""The three private ASNs: TGW, management TGW and the pods' shared customer-gateway ASN."""

from __future__ import annotations

from microseg.errors import Collector, ExhaustedError, Problem
from microseg.model import Settings

ROLES = ("transit_gateway", "management", "pods")


def allocate_asns(settings: Settings, locked: dict[str, int], problems: Collector) -> dict[str, int]:
    """Locked values win; then settings pins; then the lowest free ASN of the pools."""
    chosen: dict[str, int] = {}
    used = set(settings.asn_used_elsewhere)
    for role in ROLES:
        pin = settings.asn_pins.get(role)
        value = locked.get(role)
        key = f"asn.{role}"
        if value is not None:
            if pin is not None and pin != value:
                problems.error(
                    settings.file,
                    settings.line_of(key),
                    key,
                    f"the lock holds {value}; changing an ASN re-peers every BGP session",
                )
            if value in used:
                problems.error(
                    settings.file,
                    settings.line_of("asn.used_elsewhere"),
                    "asn.used_elsewhere",
                    f"lists {value}, which the lock gives to the {role.replace('_', ' ')}",
                )
            chosen[role] = value
        elif pin is not None:
            chosen[role] = pin
    if len(set(chosen.values())) != len(chosen):
        problems.error(settings.file, settings.line_of("asn"), "asn", f"ASNs collide: {chosen}")
    taken = used | set(chosen.values())
    # Counted, not searched: how many roles still need an ASN against how many the pools have free.
    need = sum(1 for role in ROLES if role not in chosen)
    free = sum(hi - lo + 1 for lo, hi in settings.asn_pools) - sum(
        1 for a in taken if any(lo <= a <= hi for lo, hi in settings.asn_pools)
    )
    if need > free:
        raise ExhaustedError(
            [
                Problem(
                    settings.file,
                    settings.line_of("asn.pools"),
                    "asn.pools",
                    f"{need} ASN(s) needed, {max(free, 0)} free in pools {list(settings.asn_pools)}",
                )
            ]
        )
    for role in ROLES:
        if role in chosen:
            continue
        value = _lowest_free(settings.asn_pools, taken)
        if value is None:
            raise ExhaustedError(
                [
                    Problem(
                        settings.file,
                        settings.line_of("asn.pools"),
                        "asn.pools",
                        f"no free ASN left for the {role.replace('_', ' ')} "
                        f"(pools {list(settings.asn_pools)})",
                    )
                ]
            )
        chosen[role] = value
        taken.add(value)
    return {role: chosen[role] for role in ROLES}


def _lowest_free(pools: tuple[tuple[int, int], ...], taken: set[int]) -> int | None:
    for lo, hi in pools:
        candidate = lo
        while candidate <= hi:
            if candidate not in taken:
                return candidate
            candidate += 1
    return None
