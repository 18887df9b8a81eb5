"""Findings of the dns area."""

from mailaudit.checks.catalogue import register

register([])
