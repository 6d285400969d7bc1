"""How a workload VPC is cut into subnets, as pure arithmetic shared by validation and allocation.

Per AZ one workload subnet and one /28 TGW attachment subnet. Workload subnets are equal
power-of-two blocks counted up from the start of the VPC; attachment /28s are counted down from
its end. That keeps every subnet where it is when AZs are added later, as long as both ends
have not met.
"""

from __future__ import annotations

import functools

from microseg.netaddr import floor_pow2, next_pow2, prefix_for_size

ATTACHMENT = 16  # a /28
AWS_RESERVED = 5  # addresses AWS keeps in every subnet
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 28


def subnet_size(vpc_size: int, azs: int) -> int:
    """Largest workload subnet that fits ``azs`` of them plus ``azs`` /28s; 0 when none fits."""
    s = floor_pow2((vpc_size - ATTACHMENT * azs) // azs) if vpc_size > ATTACHMENT * azs else 0
    return s if s >= ATTACHMENT else 0


@functools.cache  # per inventory row, over a handful of AZ counts
def min_vpc_prefix(azs: int) -> int:
    """The smallest VPC (largest prefix) that can hold ``azs`` AZs."""
    return prefix_for_size(next_pow2(2 * ATTACHMENT * azs))


def vpc_prefix_for_hosts(hosts: int, azs: int) -> int:
    """Prefix of the smallest VPC whose ``azs`` workload subnets hold ``hosts`` in total."""
    per_subnet = -(-hosts // azs) + AWS_RESERVED
    s = max(ATTACHMENT, next_pow2(per_subnet))
    return prefix_for_size(next_pow2(azs * (s + ATTACHMENT)))


def usable_hosts(vpc_size: int, azs: int) -> int:
    s = subnet_size(vpc_size, azs)
    return 0 if s == 0 else azs * (s - AWS_RESERVED)


def workload_slot(base: int, subnet: int, j: int) -> int:
    return base + j * subnet


def attachment_slot(base: int, vpc_size: int, j: int) -> int:
    return base + vpc_size - ATTACHMENT * (j + 1)


def slots_fit(vpc_size: int, subnet: int, max_workload_slot: int, max_attachment_slot: int) -> bool:
    return (max_workload_slot + 1) * subnet <= vpc_size - ATTACHMENT * (max_attachment_slot + 1)
