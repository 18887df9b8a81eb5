"""`mailaudit serve`: a small web page that tells people what to type into their mail client,
and lets an ISP's help desk browse a saved report. Needs the `serve` extra
(`pip install 'mailaudit[serve]'`: Starlette, uvicorn, Babel)."""

from __future__ import annotations

from mailaudit.serve.app import create_app
from mailaudit.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
