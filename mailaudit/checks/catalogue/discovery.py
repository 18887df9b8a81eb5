"""Findings of the discovery area."""

from mailaudit.checks.catalogue import register

register([])
