"""`mailaudit serve --report run.json`: the saved report, served with filters. No lab needed:
nothing is discovered."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailaudit.report.json_report import dump_report
from tests.serve.conftest import Server, start_server, stop_server
from tests.unit.report_samples import HOSTILE, hostile_report, relay_report


@pytest.fixture(scope="module")
def report_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("serve-report")
    saved = workdir / "run.json"
    saved.write_text(dump_report(relay_report()), encoding="utf-8")
    running = start_server({}, workdir, "--report", str(saved))
    yield running
    stop_server(running)


def _style_hash(page: str) -> str:
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    return base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()


def test_the_report_is_served_with_its_style_allowed_by_hash_only(report_server: Server) -> None:
    response = httpx.get(report_server.url + "/report")

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert f"'sha256-{_style_hash(response.text)}'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src" not in csp
    assert response.text.count("<main") == 1
    assert "mail.relay.test" in response.text
    assert '<label for="f-host">' in response.text


def test_filters_by_host_finding_and_severity(report_server: Server) -> None:
    everything = httpx.get(report_server.url + "/report").text
    by_host = httpx.get(report_server.url + "/report", params={"host": "nowhere.example"}).text
    by_finding = httpx.get(
        report_server.url + "/report", params={"finding": "smtp.open-relay"}
    ).text
    by_severity = httpx.get(report_server.url + "/report", params={"severity": "critical"}).text

    assert "smtp.open-relay" in everything
    assert "Showing 0 of 1 domains and 0 of 3 endpoints." in by_host
    assert "smtp.open-relay" in by_finding
    assert '<option value="smtp.open-relay" selected>' in by_finding
    assert "Showing 1 of 1 domains" in by_severity


def test_the_greek_switch_keeps_the_filters(report_server: Server) -> None:
    page = httpx.get(
        report_server.url + "/report", params={"host": "relay", "severity": "high", "lang": "el"}
    ).text

    assert '<html lang="el">' in page
    assert "Αποθηκευμένη αναφορά" in page
    assert 'href="/report?host=relay&amp;severity=high&amp;lang=en"' in page
    assert "Η ίδια η αναφορά είναι στα αγγλικά." in page


def test_a_hostile_report_and_hostile_filters_stay_text(tmp_path: Path) -> None:
    saved = tmp_path / "hostile.json"
    saved.write_text(dump_report(hostile_report()), encoding="utf-8")
    server = start_server({}, tmp_path, "--report", str(saved))
    try:
        page = httpx.get(
            server.url + "/report", params={"host": '"><script>alert(1)</script>'}
        ).text
        unfiltered = httpx.get(server.url + "/report").text
    finally:
        stop_server(server)

    assert "<script" not in page
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in unfiltered
    assert HOSTILE not in unfiltered  # shown escaped, never as markup


def test_no_report_no_report_page(server_without_report: Server) -> None:
    assert httpx.get(server_without_report.url + "/report").status_code == 404


@pytest.fixture
def server_without_report(tmp_path: Path) -> Iterator[Server]:
    running = start_server({}, tmp_path)
    yield running
    stop_server(running)
