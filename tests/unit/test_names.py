"""Names a user gives are normalised with UTS 46 (the idna package), not the IDNA 2003 codec."""

from __future__ import annotations

import pytest

from mailaudit.discovery.query import parse_query
from mailaudit.errors import UsageError
from mailaudit.model import Endpoint, Scheme
from mailaudit.names import ascii_host


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # IDNA 2003 (Python's codec) would say strasse.test: somebody else's domain.
        ("straße.test", "xn--strae-oqa.test"),
        ("Straße.Test.", "xn--strae-oqa.test"),
        ("xn--strae-oqa.test", "xn--strae-oqa.test"),
        ("bücher.example", "xn--bcher-kva.example"),
        # Full-width letters and the ideographic full stop map to their ASCII forms.
        ("\uff4d\uff41\uff49\uff4c\u3002example", "mail.example"),
        ("MAIL.Example.ORG.", "mail.example.org"),
        ("127.0.0.10", "127.0.0.10"),
    ],
)
def test_ascii_host(given: str, expected: str) -> None:
    assert ascii_host(given) == expected


def test_a_name_idna_refuses_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a valid domain name"):
        ascii_host("bad\u200d.test")  # a joiner where no joiner may stand


def test_discover_query_uses_the_uts46_domain_of_the_address() -> None:
    query = parse_query("alice@Straße.test")
    assert query.domain == "xn--strae-oqa.test"
    assert query.address == "alice@xn--strae-oqa.test"
    assert parse_query("straße.test").domain == "xn--strae-oqa.test"


def test_endpoint_urls_use_the_uts46_host() -> None:
    endpoint = Endpoint.parse("submission://mail.straße.test")
    assert endpoint == Endpoint(Scheme.SUBMISSION, "mail.xn--strae-oqa.test", 587)
    assert endpoint.url == "submission://mail.xn--strae-oqa.test"
