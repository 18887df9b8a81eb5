"""Imports every area module so that each registers its entries exactly once."""

from mailaudit.checks.catalogue import (  # noqa: F401
    discovery,
    dns,
    policy_file,
    probe,
    protocol,
    scope,
    tls,
)
