"""Small name helpers shared by the policy readers."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)
_TOPLABEL = re.compile(r"^(?=.*[a-z])[a-z0-9-]{1,63}$", re.IGNORECASE)


def normalise(name: str) -> str:
    """Lower case, without the trailing dot."""
    return name.strip().rstrip(".").lower()


def is_domain_name(name: str) -> bool:
    """A host or domain name with at least two labels and an alphabetic top label (so that an
    IP address is not mistaken for one). Underscores are allowed: `_spf.example.com`."""
    name = name.rstrip(".")
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if len(labels) < 2:
        return False
    if not all(_LABEL.match(label) for label in labels):
        return False
    top = labels[-1]
    return bool(_TOPLABEL.match(top)) and not top.startswith("-") and not top.endswith("-")


def looks_like_ip_literal(name: str) -> bool:
    """An MX or other target name that is really an address: `192.0.2.1` or `[192.0.2.1]`."""
    import ipaddress

    candidate = name.rstrip(".").strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True
