from __future__ import annotations

import click
import pytest

from mailaudit.cli.options import _resolve
from mailaudit.net.resolver import _join_txt, parse_nameserver


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.53", ("127.0.0.53", 53)),
        ("127.0.0.53:5353", ("127.0.0.53", 5353)),
        ("[::1]:5300", ("::1", 5300)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(spec: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == expected


@pytest.mark.parametrize("spec", ["ns.example", "127.0.0.1:0", "1.2.3.4:99999"])
def test_parse_nameserver_rejects(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_nameserver(spec)


def test_txt_strings_are_joined_without_separator() -> None:
    # RFC 7208 §3.3: a record split into several strings is read as their concatenation.
    assert _join_txt('"v=spf1 include:a.test " "-all"') == "v=spf1 include:a.test -all"
    assert _join_txt(r'"say \"hi\"\059"') == 'say "hi";'


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("smtp.staging.test:10.1.2.3",), {"smtp.staging.test": ("10.1.2.3",)}),
        (("Smtp.Staging.Test.:::1",), {"smtp.staging.test": ("::1",)}),
        (("a.test:[2001:db8::1]", "a.test:192.0.2.1"), {"a.test": ("2001:db8::1", "192.0.2.1")}),
    ],
)
def test_resolve_option_parses_host_and_address(
    given: tuple[str, ...], expected: dict[str, tuple[str, ...]]
) -> None:
    assert (
        _resolve(click.Context(click.Command("x")), click.Option(["--resolve"]), given) == expected
    )


@pytest.mark.parametrize("bad", ["nocolon", ":1.2.3.4", "host:", "host:not-an-address"])
def test_resolve_option_rejects(bad: str) -> None:
    with pytest.raises(click.BadParameter):
        _resolve(click.Context(click.Command("x")), click.Option(["--resolve"]), (bad,))
