"""Fetch the certificate chain an MX presents on port 25 after STARTTLS, for DANE (RFC 7672).

The chain is fetched whatever its validity: DANE replaces the CA check, so a chain our trust store
rejects may still be the one its TLSA records pin.
"""

from __future__ import annotations

import asyncio

from mailaudit.context import Context
from mailaudit.net.clients import SmtpClient
from mailaudit.net.connection import Connection
from mailaudit.net.errors import BudgetExceeded, NetError, TlsError
from mailaudit.protocols.session import Refusal


async def fetch_mx_chain(ctx: Context, host: str, address: str) -> tuple[bytes, ...]:
    """Leaf-first DER chain from `address:25` after STARTTLS, SNI `host`. Raises NetError."""
    timeouts = ctx.settings.timeouts
    try:
        async with asyncio.timeout(timeouts.endpoint_budget_s):
            return await _fetch(ctx, host, address)
    except TimeoutError:
        raise BudgetExceeded(
            f"{host} ({address}): no certificate within {timeouts.endpoint_budget_s:g} s"
        ) from None


async def _fetch(ctx: Context, host: str, address: str) -> tuple[bytes, ...]:
    timeouts = ctx.settings.timeouts
    async with ctx.endpoint_slot(address, 25):
        conn = await Connection.open(
            address,
            25,
            connect_timeout_s=timeouts.connect_s,
            max_bytes=ctx.settings.limits.max_bytes_per_connection,
        )
        try:
            client = SmtpClient(conn, timeouts, ehlo_name=ctx.settings.ehlo_name)
            caps = await client.open()
            if isinstance(caps, Refusal):
                raise NetError(f"{host}: {caps.text}", reason="refused-by-server")
            if not caps.starttls:
                raise TlsError(f"{host}: STARTTLS is not offered", reason="starttls-missing")
            upgraded = await client.starttls(ctx.permissive_tls, host, verified=False)
            if isinstance(upgraded, Refusal):
                raise TlsError(f"{host}: {upgraded.text}", reason="starttls-refused")
            return conn.peer_chain
        finally:
            await conn.close()
