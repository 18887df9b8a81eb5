"""The SSRF guard: address classification, the user's opt-ins, and what is refused."""

from __future__ import annotations

import pytest

from mailaudit.model import AddressRange
from mailaudit.net.addresses import (
    AddressGuard,
    AddressPolicy,
    PrivateAddressRefused,
    address_range,
)
from mailaudit.net.resolver import Resolver
from mailaudit.settings import Settings


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", AddressRange.GLOBAL),
        ("2001:4860:4860::8888", AddressRange.GLOBAL),
        ("127.0.0.1", AddressRange.LOOPBACK),
        ("127.0.0.160", AddressRange.LOOPBACK),
        ("::1", AddressRange.LOOPBACK),
        ("10.1.2.3", AddressRange.PRIVATE),
        ("172.16.0.1", AddressRange.PRIVATE),
        ("192.168.1.1", AddressRange.PRIVATE),
        ("100.64.0.1", AddressRange.SHARED),
        ("169.254.169.254", AddressRange.LINK_LOCAL),
        ("fe80::1", AddressRange.LINK_LOCAL),
        ("fd00::1", AddressRange.UNIQUE_LOCAL),
        ("224.0.0.1", AddressRange.MULTICAST),
        ("239.1.1.1", AddressRange.MULTICAST),
        ("ff02::1", AddressRange.MULTICAST),
        ("0.0.0.0", AddressRange.RESERVED),
        ("192.0.2.1", AddressRange.RESERVED),
        ("198.18.0.1", AddressRange.RESERVED),
        ("240.0.0.1", AddressRange.RESERVED),
        ("::", AddressRange.RESERVED),
        # An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
        ("::ffff:10.0.0.1", AddressRange.PRIVATE),
        ("::ffff:127.0.0.1", AddressRange.LOOPBACK),
    ],
)
def test_builtin_classification(address: str, expected: AddressRange) -> None:
    assert address_range(address) is expected


LAB = Settings(
    global_networks=("127.0.0.0/8",),
    private_networks=("127.0.0.160/29", "127.0.0.168/31"),
)


def test_overrides_longest_prefix_wins() -> None:
    policy = AddressPolicy.from_settings(LAB)
    assert policy.classify("127.0.0.150") is AddressRange.GLOBAL
    assert policy.classify("127.0.0.159") is AddressRange.GLOBAL
    for last in range(160, 170):
        assert not policy.classify(f"127.0.0.{last}").is_global
    assert policy.classify("127.0.0.170") is AddressRange.GLOBAL
    # A global network declared internal is reported as "internal".
    isp = AddressPolicy.from_settings(Settings(private_networks=("198.51.100.0/24",)))
    assert isp.classify("8.8.8.8") is AddressRange.GLOBAL
    assert isp.classify("198.51.100.7") is AddressRange.RESERVED
    isp = AddressPolicy.from_settings(Settings(private_networks=("8.8.8.0/24",)))
    assert isp.classify("8.8.8.8") is AddressRange.INTERNAL
    assert not isp.permits("dns.example", "8.8.8.8")


def test_opt_ins() -> None:
    strict = AddressPolicy.from_settings(Settings())
    assert not strict.permits("x.example", "10.0.0.1")
    assert strict.permits("x.example", "8.8.8.8")
    assert AddressPolicy.from_settings(Settings(allow_private=True)).permits(
        "x.example", "10.0.0.1"
    )
    # A private nameserver: its answers are internal by design (the lab, staging).
    assert AddressPolicy.from_settings(Settings(nameservers=("10.0.0.53",))).allow_private
    assert not AddressPolicy.from_settings(Settings(nameservers=("8.8.8.8",))).allow_private
    # In the lab's own classification the lab nameserver counts as global: no implicit opt-in.
    assert not AddressPolicy.from_settings(
        Settings(nameservers=("127.0.0.53",), global_networks=("127.0.0.0/8",))
    ).allow_private
    # Named targets and --resolve names are allowed, nothing else.
    named = AddressPolicy.from_settings(
        Settings(
            named_targets=("staging.example", "10.9.9.9"), resolve={"db.example": ("10.1.1.1",)}
        )
    )
    assert named.permits("staging.example", "10.0.0.5")
    assert named.permits("10.9.9.9", "10.9.9.9")
    assert named.permits("db.example.", "10.1.1.1")
    assert not named.permits("other.example", "10.0.0.5")


def test_guard_filters_records_and_refuses() -> None:
    parent = AddressGuard(AddressPolicy.from_settings(LAB))
    guard = parent.child()
    # Mixed answers: only the global address is kept, the other is recorded.
    assert guard.admit("mixed.test", ["127.0.0.150", "127.0.0.161"]) == ("127.0.0.150",)
    with pytest.raises(PrivateAddressRefused) as caught:
        guard.admit("inside.test", ["127.0.0.162"])
    assert caught.value.reason == "private-address"
    # No status, no banner: the message names the range only.
    assert "loopback" in str(caught.value)
    hosts = [(t.host, t.address) for t in guard.refused]
    assert hosts == [("mixed.test", "127.0.0.161"), ("inside.test", "127.0.0.162")]
    assert parent.refused == guard.refused
    assert parent.child().refused == ()


async def test_resolver_guards_literals_but_not_user_overrides() -> None:
    settings = Settings(resolve={"staging.test": ("10.1.2.3",)})
    resolver = Resolver(
        overrides=settings.resolve, guard=AddressGuard(AddressPolicy.from_settings(settings))
    )
    assert await resolver.addresses("staging.test") == ("10.1.2.3",)
    with pytest.raises(PrivateAddressRefused):
        await resolver.addresses("169.254.169.254")
    assert await resolver.addresses("8.8.4.4") == ("8.8.4.4",)
    # Judging (FCrDNS) still sees every address.
    assert await resolver.lookup_addresses("169.254.169.254") == ("169.254.169.254",)
