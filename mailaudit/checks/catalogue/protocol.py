"""Findings of the protocol area."""

from mailaudit.checks.catalogue import register

register([])
