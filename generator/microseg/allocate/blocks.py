"""A buddy allocator over one address pool: best-fit, lowest address first, O(log n) per block.

Given blocks largest first into an empty pool it packs them contiguously from the bottom, so a
fresh inventory lands in the smallest aligned envelope; later it fills released holes first.
"""

from __future__ import annotations

import heapq

from microseg.netaddr import range_to_blocks


class BlockPool:
    def __init__(self, base: int, prefix: int, occupied: list[tuple[int, int]]) -> None:
        self.prefix = prefix
        self.free: dict[int, list[int]] = {p: [] for p in range(prefix, 33)}
        end = base + (1 << (32 - prefix))
        cursor = base
        for start, stop in sorted(occupied):
            start, stop = max(start, base), min(stop, end)
            if start >= stop:
                continue
            if start > cursor:
                self._add(cursor, start)
            cursor = max(cursor, stop)
        if cursor < end:
            self._add(cursor, end)
        for heap in self.free.values():
            heapq.heapify(heap)

    def _add(self, start: int, end: int) -> None:
        for addr, p in range_to_blocks(start, end):
            self.free[p].append(addr)

    def allocate(self, prefix: int) -> int | None:
        """Lowest-addressed block of the smallest free size that holds a /prefix; None when full."""
        for q in range(prefix, self.prefix - 1, -1):
            heap = self.free.get(q)
            if heap:
                addr = heapq.heappop(heap)
                while q < prefix:
                    q += 1
                    heapq.heappush(self.free[q], addr + (1 << (32 - q)))
                return addr
        return None
