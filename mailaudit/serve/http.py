"""The ASGI layer under every page: security headers and a structured access log.

The log is one JSON object per request on the `mailaudit.serve.access` logger. It never holds an
email address: addresses travel only in POST bodies, and the page handler may add a salted hash
of the address (`note(scope, who=...)`), which tells repeated requests apart without saying whose
they were. The salt is random per process, so hashes cannot be compared across restarts."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOG = logging.getLogger("mailaudit.serve.access")

# No scripts at all; styles only from our own stylesheet; forms post only to us.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_SALT = os.urandom(16)


def hashed(text: str) -> str:
    return hashlib.sha256(_SALT + text.strip().lower().encode()).hexdigest()[:16]


def note(scope: Scope, **fields: Any) -> None:
    """Add fields to this request's access-log line."""
    scope.setdefault("mailaudit.log", {}).update(fields)


class Guarded:
    """Adds the security headers (a page may bring its own Content-Security-Policy) and writes
    the access log line when the response is finished (or the client went away)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        state: MutableMapping[str, Any] = {"status": 0, "bytes": 0}

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers.extend(h for h in _HEADERS if h[0] not in names)
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_guarded)
        finally:
            client = scope.get("client")
            line = {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "client": client[0] if client else None,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": state["status"],
                "bytes": state["bytes"],
                "ms": round((time.monotonic() - started) * 1000, 1),
                **scope.get("mailaudit.log", {}),
            }
            ACCESS_LOG.info(json.dumps(line, ensure_ascii=True))
