"""The floor a generator run is compared with: parse both CSVs, bump-allocate, write JSON. Nothing else.

usage: floor_generator.py INVENTORY.csv FLOWS.csv OUT.json
"""

from __future__ import annotations

import csv
import ipaddress
import json
import sys


def main(inventory: str, flows: str, out: str) -> None:
    with open(inventory, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(flows, encoding="utf-8-sig", newline="") as fh:
        flow_rows = list(csv.DictReader(fh))
    cursor = int(ipaddress.IPv4Address("10.64.0.0"))
    allocations = {}
    for row in rows:
        prefix = int(row["prefix_length"]) if row.get("prefix_length") else 24
        size = 1 << (32 - prefix)
        cursor = (cursor + size - 1) // size * size  # align, then bump
        allocations[row["name"]] = f"{ipaddress.IPv4Address(cursor)}/{prefix}"
        cursor += size
    # json.dumps (not dump) so the C encoder does the work: the floor must be the fastest honest way.
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"workloads": allocations, "flows": flow_rows}, sort_keys=True))


if __name__ == "__main__":
    main(*sys.argv[1:4])
