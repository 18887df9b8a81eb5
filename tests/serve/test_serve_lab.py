"""`mailaudit serve` as a real process against the lab, over HTTP: the answer streams as
sources answer, downloads parse, languages, hostile input, the address guard, limits, the
access log."""

from __future__ import annotations

import html
import os
import plistlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from mailaudit.context import Context
from mailaudit.discovery import discover
from mailaudit.model import Source
from tests.serve.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.lab

TOKEN = re.compile(r'href="/download/([A-Za-z0-9_-]+)/thunderbird"')


def _find(server: Server, address: str, **headers: str) -> httpx.Response:
    return httpx.post(server.url + "/find", data={"address": address}, headers=headers, timeout=60)


def _chunks(server: Server, address: str) -> list[tuple[float, str]]:
    """The answer page as it arrives: (seconds since the request, text) per chunk."""
    started = time.monotonic()
    out: list[tuple[float, str]] = []
    with httpx.stream(
        "POST", server.url + "/find", data={"address": address}, timeout=60
    ) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            out.append((time.monotonic() - started, text))
    return out


def test_the_form_page_is_labelled_and_locked_down(server: Server) -> None:
    response = httpx.get(server.url + "/")

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<label for="address">' in response.text
    assert 'id="address" name="address" type="email"' in response.text
    assert "<script" not in response.text


def test_sources_stream_before_the_answer_for_alice(server: Server) -> None:
    # Given a fresh address (nothing reused), when it is looked up
    chunks = _chunks(server, "alice@good.test")
    page = "".join(text for _, text in chunks)

    # Then the sources arrive in their own pieces, before the answer
    first_source = next(i for i, (_, t) in enumerate(chunks) if "data-source=" in t)
    answer = next(i for i, (_, t) in enumerate(chunks) if 'id="answer"' in t)
    assert first_source < answer
    assert len([t for _, t in chunks if "data-source=" in t]) >= 5
    # And the answer holds the verified lab settings, in plain words
    assert re.search(r"imap\.good\.test</code></td>\s*<td[^>]*><code class=\"value\">993<", page)
    assert re.search(r"smtp\.good\.test</code></td>\s*<td[^>]*><code class=\"value\">465<", page)
    assert "SSL/TLS" in page
    assert "Incoming mail server (IMAP)" in page
    assert "Your provider's configuration file (autoconfig, HTTPS)" in html.unescape(page)
    assert "Trusted: your provider published it over HTTPS, with a valid certificate." in page


def test_downloads_parse_and_hold_the_answer(server: Server) -> None:
    page = _find(server, "alice@good.test").text
    token = TOKEN.search(page)
    assert token is not None
    base = f"{server.url}/download/{token.group(1)}"

    thunderbird = httpx.get(base + "/thunderbird")
    mobileconfig = httpx.get(base + "/mobileconfig")
    autodiscover = httpx.get(base + "/autodiscover")

    assert "attachment" in thunderbird.headers["content-disposition"]
    tb = SafeET.fromstring(thunderbird.content)
    incoming = tb.find("emailProvider/incomingServer")
    assert incoming is not None
    assert incoming.findtext("hostname") == "imap.good.test"
    assert incoming.findtext("port") == "993"
    assert incoming.findtext("socketType") == "SSL"
    profile = plistlib.loads(mobileconfig.content)
    account = profile["PayloadContent"][0]
    assert account["IncomingMailServerHostName"] == "imap.good.test"
    assert account["OutgoingMailServerHostName"] == "smtp.good.test"
    assert not {"IncomingPassword", "OutgoingPassword"} & set(account)  # never a password
    ad = SafeET.fromstring(autodiscover.content)
    servers = [e.text for e in ad.iter() if e.tag.endswith("}Server")]
    assert "imap.good.test" in servers
    assert "smtp.good.test" in servers
    assert httpx.get(f"{server.url}/download/not-a-token/thunderbird").status_code == 404


def test_greek_from_accept_language_and_the_switch(server: Server) -> None:
    greek = httpx.get(server.url + "/", headers={"accept-language": "el-GR,el;q=0.9,en;q=0.5"})
    forced = httpx.get(server.url + "/?lang=en", headers={"accept-language": "el"})
    answer = _find(server, "alice@good.test", **{"accept-language": "el"}).text

    assert '<html lang="el">' in greek.text
    assert "Βρείτε τις ρυθμίσεις του email σας" in greek.text
    assert 'href="/?lang=en"' in greek.text  # the visible switch back
    assert '<html lang="en">' in forced.text
    assert "Διακομιστής εισερχόμενης αλληλογραφίας (IMAP)" in answer
    assert "SSL/TLS" in answer  # as mail clients show it


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("<script>alert(1)</script>@good.test", "That does not look like an email address."),
        ("alice\x1b[31m@good.test", "The address contains control characters."),
        ("alice@good.test\r\nX-Injected: 1", "The address contains control characters."),
        ("a" * 10_000 + "@good.test", "That is too long for an email address"),
    ],
)
def test_hostile_input_is_refused_and_escaped(server: Server, typed: str, expected: str) -> None:
    response = _find(server, typed)

    assert response.status_code == 400
    assert expected in response.text
    assert "<script>alert" not in response.text
    assert "\x1b" not in response.text
    if typed.startswith("<script>"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;@good.test" in response.text


@pytest.fixture
def sentinel() -> Iterator[list[tuple[str, int]]]:
    """Listeners on the addresses sneaky.test points to (outside the allowed lab network):
    they record every connection, which must never come."""
    seen: list[tuple[str, int]] = []
    sockets = []
    for address in ("127.0.1.1", "127.0.1.2"):
        for port in (80, 443, 993, 465, 587, 143):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            s.listen()
            s.settimeout(0.2)
            sockets.append(s)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for s in sockets:
                try:
                    conn, _ = s.accept()
                except (TimeoutError, OSError):
                    continue
                seen.append(s.getsockname())
                conn.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join()
    for s in sockets:
        s.close()


def test_a_redirect_out_of_the_allowed_network_is_reported_not_followed(
    server: Server, sentinel: list[tuple[str, int]]
) -> None:
    # Given sneaky.test, whose autoconfig redirects to internal.sneaky.test (127.0.1.1) and
    # whose mail. name is 127.0.1.2, both outside the allowed 127.0.0.0/24
    page = _find(server, "bob@sneaky.test").text

    # Then nothing connected there, and the page says what it refused
    assert sentinel == []
    assert "not on the public Internet" in page
    assert "internal.sneaky.test (127.0.1.1)" in page
    assert "We found no settings that work with encryption" in page


def test_the_rate_limit_holds_per_client(server: Server) -> None:
    # A fresh client address (loopback has them all): 5 at once, then one every 10 s.
    transport = httpx.HTTPTransport(local_address="127.0.3.7")
    with httpx.Client(transport=transport, timeout=60) as client:
        statuses = [
            client.post(server.url + "/find", data={"address": "alice@good.test"}).status_code
            for _ in range(7)
        ]
        refused = client.post(server.url + "/find", data={"address": "alice@good.test"})

    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many lookups" in refused.text


def test_the_access_log_has_no_address(server: Server) -> None:
    _find(server, "carol@good.test")
    log = server.log_text()

    assert '"path": "/find"' in log
    assert '"who": "' in log
    assert "@good.test" not in log
    assert "carol" not in log


def test_concurrent_discoveries_are_bounded(lab_env: dict[str, str], tmp_path: Path) -> None:
    # Given a server allowed one discovery at a time (each dead.test lookup takes about 1 s:
    # its tarpit never answers), and six people asking at once from six addresses
    server = start_server(lab_env, tmp_path, "--max-discoveries", "1")
    statuses: list[int] = []

    def ask(n: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.4.{n}")
        with httpx.Client(transport=transport, timeout=60) as client:
            reply = client.post(server.url + "/find", data={"address": f"user{n}@dead.test"})
            statuses.append(reply.status_code)
            if reply.status_code == 503:
                assert reply.headers["retry-after"] == "10"
                assert "Many people are looking up settings right now" in reply.text

    try:
        threads = [threading.Thread(target=ask, args=(n,)) for n in range(1, 7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop_server(server)

    # Then those who would wait too long are told to come back, the others are answered
    assert sorted(set(statuses)) == [200, 503], statuses


async def test_discover_tells_each_source_as_it_answers(lab_ctx: Context) -> None:
    told: list[tuple[Source, int]] = []

    result = await discover(
        lab_ctx, "alice@good.test", on_source=lambda o, c: told.append((o.source, len(c)))
    )

    assert sorted(s for s, _ in told) == sorted(o.source for o in result.sources)
    assert len(told) == len(Source)
    by_source = dict(told)
    assert by_source[Source.AUTOCONFIG_HTTPS] == len(
        [c for c in result.candidates if c.source is Source.AUTOCONFIG_HTTPS]
    )


def test_a_fleet_run_jsonl_is_browsed(lab_env: dict[str, str], tmp_path: Path) -> None:
    # Given a fleet run streamed as JSONL (protocol audit only, to keep it short)
    run = tmp_path / "run.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mailaudit",
            "audit",
            "good.test",
            "relay.test",
            "--skip",
            "tls",
            "--skip",
            "policy",
            "--jsonl",
            str(run),
            "-q",
        ],
        env={**os.environ, **lab_env},
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert run.is_file()
    server = start_server(lab_env, tmp_path, "--report", str(run))
    try:
        page = httpx.get(server.url + "/report", params={"host": "relay"}).text
    finally:
        stop_server(server)

    # Then it is served like a JSON report, filters and all
    assert "Showing 1 of 2 domains" in page
    assert "smtp.open-relay" in page
