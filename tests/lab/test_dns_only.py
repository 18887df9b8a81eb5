"""`audit --only policy`: the DNS policy without a connection to any mail host (issue 10, item 9).

Every mail name of `dnsonly.test` points at 127.0.0.210, where no lab daemon runs. The test
listens there on every mail port without accepting: a client that connects completes the TCP
handshake in the kernel's backlog, and a non-blocking `accept()` afterwards shows it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

MAIL_PORTS = (25, 465, 587, 110, 143, 993, 995)
ADDRESS = "127.0.0.210"


@pytest.fixture
def watched_ports() -> Iterator[dict[int, socket.socket]]:
    listeners: dict[int, socket.socket] = {}
    try:
        for port in MAIL_PORTS:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ADDRESS, port))
            sock.listen(16)
            sock.setblocking(False)
            listeners[port] = sock
        yield listeners
    finally:
        for sock in listeners.values():
            sock.close()


def connected_ports(listeners: dict[int, socket.socket]) -> list[int]:
    """The ports somebody connected to since the listeners opened (each accept drains one)."""
    found = []
    for port, sock in listeners.items():
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            continue
        conn.close()
        found.append(port)
    return found


def mailaudit(lab_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **lab_env}
    return subprocess.run(
        [sys.executable, "-m", "mailaudit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_dns_only_audit_connects_to_no_mail_port(
    lab_env: dict[str, str], watched_ports: dict[int, socket.socket], tmp_path: Path
) -> None:
    # Given every mail name of dnsonly.test on a watched address, when it is audited DNS-only ...
    out = tmp_path / "report.json"
    run = mailaudit(lab_env, "audit", "--only", "policy", "dnsonly.test", "--json", str(out))
    assert run.returncode in (0, 1, 3), run.stderr
    # ... then nothing connected to any mail port ...
    assert connected_ports(watched_ports) == []
    # ... and yet the DNS policy was judged: SPF, DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE, PTR.
    report = json.loads(out.read_text())
    (domain,) = report["domains"]
    assert report["endpoints"] == []
    assert domain["endpoint_ids"] == []
    runs = {c["check"]: c for c in domain["checks"]}
    for check in ("dns.mx", "spf.record", "spf.helo", "dmarc.policy", "tlsrpt.record", "ptr"):
        assert runs[check]["status"] == "passed", runs[check]
    # No mta-sts.dnsonly.test: the policy fetch (HTTPS, allowed) fails at DNS.
    assert runs["mtasts.policy"]["status"] == "failed"
    # The zone is unsigned: its TLSA record is judged as published, and does not count.
    assert "dnssec" in runs
    assert "dane" in runs
    assert "dane.tlsa-unvalidated" in runs["dane"]["finding_ids"], runs["dane"]
    assert domain["policy"]["reverse_dns"][0]["confirmed_names"] == ["mx.dnsonly.test"]
    assert domain["policy"]["dane"][0]["records"], domain["policy"]["dane"]
    # What needs port 25 says so instead of passing.
    assert runs["mtasts.mx-certificate"]["status"] in ("not_tested", "not_applicable")


def test_the_watch_sees_a_normal_audit_connect(
    lab_env: dict[str, str], watched_ports: dict[int, socket.socket]
) -> None:
    # Control: the listeners do see connections (the MX probe of an ordinary audit).
    run = mailaudit(
        lab_env,
        "audit",
        "dnsonly.test",
        "--only",
        "mx",
        "--skip",
        "protocol",
        "--skip",
        "tls",
        "--skip",
        "policy",
        "--timeout",
        "1",
        "--budget",
        "2",
    )
    assert run.returncode in (0, 1, 3), run.stderr
    assert connected_ports(watched_ports) == [25]


def test_dns_only_audit_of_good_test_fetches_mta_sts_and_leaves_postfix_alone(
    lab_env: dict[str, str], tmp_path: Path
) -> None:
    maillog = Path(lab_env["MAILAUDIT_LAB_MAILLOG"])
    before = maillog.stat().st_size
    out = tmp_path / "report.json"
    run = mailaudit(lab_env, "audit", "--only", "policy", "good.test", "--json", str(out))
    assert run.returncode in (0, 1, 3), run.stderr
    with maillog.open("rb") as log:
        log.seek(before)
        appended = log.read().decode("utf-8", "replace")
    assert "connect from" not in appended, appended
    (domain,) = json.loads(out.read_text())["domains"]
    # The MTA-STS policy fetch over HTTPS stays part of the DNS-only audit.
    assert domain["policy"]["mtasts"]["fetch"]["status"] == "fetched"
    runs = {c["check"]: c["status"] for c in domain["checks"]}
    assert runs["mtasts.policy"] == "passed"


def test_only_policy_refuses_endpoints(lab_env: dict[str, str]) -> None:
    run = mailaudit(
        lab_env, "audit", "--only", "policy", "good.test", "--endpoint", "smtp://mail.good.test"
    )
    assert run.returncode == 2
    assert "--only policy" in run.stderr
