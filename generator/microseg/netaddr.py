"""Integer IPv4 helpers: the allocator works on ints because ipaddress objects are too slow at 10k rows."""

from __future__ import annotations

import ipaddress
import re


def parse_network(text: str) -> tuple[int, int]:
    """``"10.0.0.0/20"`` -> (address as int, prefix). Raises ValueError with a user-facing reason."""
    if "/" not in text:
        raise ValueError(f"{text!r} is not a CIDR (expected a.b.c.d/n)")
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid IPv4 CIDR ({exc})") from None
    if int(ipaddress.IPv4Interface(text).ip) != int(net.network_address):
        raise ValueError(f"{text!r} has host bits set; did you mean {net}?")
    return int(net.network_address), net.prefixlen


def fmt(addr: int, prefix: int) -> str:
    return f"{addr >> 24 & 255}.{addr >> 16 & 255}.{addr >> 8 & 255}.{addr & 255}/{prefix}"


def fmt_ip(addr: int) -> str:
    return f"{addr >> 24 & 255}.{addr >> 16 & 255}.{addr >> 8 & 255}.{addr & 255}"


def size(prefix: int) -> int:
    return 1 << (32 - prefix)


def span(addr: int, prefix: int) -> tuple[int, int]:
    """Half-open [start, end) of a block."""
    return addr, addr + (1 << (32 - prefix))


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def next_pow2(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def floor_pow2(n: int) -> int:
    return 0 if n < 1 else 1 << (n.bit_length() - 1)


def prefix_for_size(n: int) -> int:
    """Prefix of a power-of-two block size."""
    return 32 - (n.bit_length() - 1)


def range_to_blocks(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) into maximal aligned CIDR blocks, as (addr, prefix)."""
    out: list[tuple[int, int]] = []
    while start < end:
        # Largest block aligned at start that does not run past end.
        align = start & -start if start else 1 << 32
        length = floor_pow2(end - start)
        block = min(align, length)
        out.append((start, prefix_for_size(block)))
        start += block
    return out


def cidr_span(text: str) -> tuple[int, int]:
    """[start, end) of a CIDR we wrote ourselves (already canonical): no validation, fast."""
    addr, _, prefix = text.partition("/")
    a, b, c, d = addr.split(".")
    start = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    return start, start + (1 << (32 - int(prefix)))


_CANONICAL = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")


def is_canonical_cidr(text: object) -> bool:
    """True for a well-formed IPv4 CIDR without host bits (cheap check for data we wrote ourselves)."""
    m = _CANONICAL.match(text) if isinstance(text, str) else None
    if m is None:
        return False
    octets = [int(g) for g in m.groups()[:4]]
    prefix = int(m.group(5))
    if any(o > 255 for o in octets) or prefix > 32:
        return False
    addr = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    return addr & ((1 << (32 - prefix)) - 1) == 0


# Never usable for a VPC, a pin or a flow-free address plan: "this network", loopback,
# link-local (VPN inside CIDRs live there), multicast and the reserved class E.
RESERVED_RANGES = (
    ("0.0.0.0/8", "'this network' (0.0.0.0/8)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
)


def reserved_overlap(start: int, end: int) -> str | None:
    """The reserved range [start, end) touches, described for a message; None when clear."""
    for cidr, what in RESERVED_RANGES:
        lo, hi = cidr_span(cidr)
        if start < hi and lo < end:
            return what
    return None
