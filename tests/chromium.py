"""Headless Chromium as every browser test starts it: Debian's chromium, as root in CI, with
nothing that reaches out to the network on its own (this machine has none)."""

from __future__ import annotations

HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)
