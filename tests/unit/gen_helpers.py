"""Small builders shared by the generator's unit tests."""

from __future__ import annotations

from microseg.errors import Collector
from microseg.model import Inventory, Settings
from microseg.parse.flows import parse_flows
from microseg.parse.inventory import parse_inventory
from microseg.plan import Plan, build_plan
from microseg.state import LockState

HEADER = "name,bandwidth_mbps,prefix_length,hosts,azs,internet_egress,cidr,account_id,cost_center,monthly_gb"


def inventory(
    rows: list[str], settings: Settings | None = None, header: str = HEADER
) -> tuple[Inventory, Collector]:
    c = Collector()
    inv = parse_inventory("\n".join([header, *rows]) + "\n", "inv.csv", settings or Settings(), c)
    return inv, c


def plan(
    rows: list[str],
    flows: list[str] | None = None,
    lock: LockState | None = None,
    settings: Settings | None = None,
    release: tuple[str, ...] = (),
) -> Plan:
    s = settings or Settings()
    inv, c = inventory(rows, s)
    c.raise_if_errors()
    fl = None
    if flows is not None:
        fl = parse_flows(
            "source,destination,protocol,ports,reference\n" + "\n".join(flows) + "\n", "flows.csv", inv, c
        )
        c.raise_if_errors()
    return build_plan(s, inv, fl, lock or LockState(), release, problems=c)
