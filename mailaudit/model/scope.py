"""What a run may touch: the address ranges of the SSRF guard and the names it refused."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["AddressRange", "RefusedTarget"]


class AddressRange(StrEnum):
    GLOBAL = "global"
    LOOPBACK = "loopback"  # 127.0.0.0/8, ::1
    PRIVATE = "private"  # RFC 1918
    SHARED = "shared"  # RFC 6598 carrier-grade NAT, 100.64.0.0/10
    LINK_LOCAL = "link-local"  # 169.254.0.0/16 (cloud metadata), fe80::/10
    UNIQUE_LOCAL = "unique-local"  # RFC 4193, fc00::/7
    MULTICAST = "multicast"
    RESERVED = "reserved"  # unspecified, documentation, benchmarking, future use...
    INTERNAL = "internal"  # declared internal by the user (Settings.private_networks)

    @property
    def is_global(self) -> bool:
        return self is AddressRange.GLOBAL


@dataclass(frozen=True)
class RefusedTarget:
    """A name whose answer led into a non-global range; the tool did not connect there."""

    host: str
    address: str
    range: AddressRange
