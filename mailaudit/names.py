"""Names a user gives us (a domain, the domain of an address, a host in a URL or --endpoint), in
the one form DNS, TLS and reports use: the IDNA A-label, lower case, without the trailing dot.

UTS 46 (the `idna` package), not Python's "idna" codec: the codec implements IDNA 2003, which
maps `straße.de` to `strasse.de` - a different domain, owned by someone else. UTS 46 with
non-transitional processing gives `xn--strae-oqa.de`, as browsers and mail clients do.
"""

from __future__ import annotations

from mailaudit.errors import UsageError

__all__ = ["ascii_host"]


def ascii_host(text: str) -> str:
    """`Straße.Test.` -> `xn--strae-oqa.test`; ASCII names (and IP literals) are only lower-cased
    and lose the trailing dot. Raises UsageError for a name IDNA refuses."""
    name = text.strip().rstrip(".")
    if name.isascii():
        return name.lower()
    import idna  # only for names that need it: keeps the start of every command light

    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise UsageError(f"{text!r}: not a valid domain name ({exc})") from None
