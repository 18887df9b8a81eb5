"""The TLS scan worker carries sslyze and its adapter, not the rest of the command (issue 10,
item 6: every process of a command counts against its 150 MB): a real scan of the lab through
the real worker, then that same worker's own `sys.modules`."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from mailaudit.context import Context
from mailaudit.model import Scheme, TlsTarget
from mailaudit.net.sslyze_adapter import scan_endpoints
from mailaudit.net.worker import WorkerPool
from mailaudit.net.worker_process import loaded_modules

# What the audit process needs and a scan does not: the command line, the engine, discovery,
# reports, DNS and HTTP clients, the event loop.
NOT_IN_A_WORKER = {
    "mailaudit.cli",
    "mailaudit.audit",
    "mailaudit.discovery",
    "mailaudit.report",
    "mailaudit.context",
    "click",
    "rich",
    "jinja2",
    "httpx",
    "dns",
    "publicsuffixlist",
    "asyncio",
}


async def test_the_scan_worker_loads_sslyze_and_not_the_command_line(
    lab_env: dict[str, str], lab_ctx: Context
) -> None:
    # Given a worker that has scanned a lab endpoint
    address = (await lab_ctx.resolver.addresses("imap.good.test"))[0]
    target = TlsTarget("imap.good.test", address, 993, Scheme.IMAPS)
    pool = WorkerPool(size=1, tasks_per_worker=5)
    try:
        worker = await pool.run(os.getpid, kill_after_s=60)
        scans = await pool.run(
            scan_endpoints,
            [target],
            now=datetime.now(UTC),
            ca_file=lab_env["MAILAUDIT_CA_FILE"],
            kill_after_s=120,
        )
        # When we ask that same worker what it has imported
        modules = set(await pool.run(loaded_modules, kill_after_s=60))
        assert await pool.run(os.getpid, kill_after_s=60) == worker
    finally:
        pool.close()
    # Then it holds sslyze and the adapter, and none of the command's other modules
    assert scans[0].connected, scans[0].errors
    assert {"sslyze", "nassl", "mailaudit.net.sslyze_adapter"} <= modules
    assert modules & NOT_IN_A_WORKER == set()
