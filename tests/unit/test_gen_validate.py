"""Cross-checks between flows and the inventory (microseg.validate.check_flows)."""

from __future__ import annotations

from gen_helpers import inventory, plan
from microseg.model import Settings
from microseg.parse.flows import parse_flows
from microseg.validate import check_flows


def test_flows_to_internet_need_egress_and_same_vpc_flows_are_flagged() -> None:
    inv, c = inventory(["app,10,20,,,true,,,,", "db,10,20,,,false,,,,"])
    text = (
        "source,destination,protocol,ports,reference\n"
        "app,internet,tcp,443,CHG-1\n"  # app may reach the internet
        "db,internet,tcp,443,CHG-2\n"  # db may not
        "db,db,tcp,5432,CHG-3\n"  # inside one VPC
        "10.1.0.0/24,db,tcp,5432,CHG-4\n"  # a CIDR source is neither
        "app,db,tcp,5432,CHG-5\n"
    )
    fs = parse_flows(text, "flows.csv", inv, c)
    assert not c.errors
    workloads = {w.name: w for w in inv.workloads}
    check_flows(fs, workloads, c)
    assert [str(p) for p in c.errors] == [
        "flows.csv:3: destination: db has internet_egress=false in the inventory; a flow to internet needs it"
    ]
    assert [str(p) for p in c.warnings] == [
        "flows.csv:4: destination: flow stays inside one VPC: only its security group applies"
    ]


def test_only_kept_allocations_outside_a_moved_supernet_are_flagged() -> None:
    # The lock's workloads keep their addresses when workload_supernet moves; new ones come from the
    # new supernet (no warning), and neither check re-reads them (allocate's `pooled`).
    first = plan(["app,10,24,,,true,,,,"])
    moved = Settings(workload_supernet="10.128.0.0/10")
    second = plan(["app,10,24,,,true,,,,", "web,10,24,,,true,,,,"], lock=first.lock(), settings=moved)
    app = first.allocations["app"].cidr
    assert second.allocations["app"].cidr == app
    assert second.allocations["web"].cidr.startswith("10.128.")
    assert [str(w) for w in second.warnings if "outside workload_supernet" in str(w)] == [
        f"inv.csv:2: name: app keeps {app}, outside workload_supernet 10.128.0.0/10 (allocations never move)"
    ]
    assert second.outside == (app,)
