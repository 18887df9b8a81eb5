"""Findings of the tls area."""

from mailaudit.checks.catalogue import register

register([])
