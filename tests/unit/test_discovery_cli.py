"""The `discover` and `ispdb lint` commands, without a network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailaudit.cli import main

ISPDB = Path(__file__).resolve().parents[2].parent / "shared" / "ispdb"


@pytest.mark.skipif(not ISPDB.is_dir(), reason=f"Thunderbird's ISPDB corpus is not at {ISPDB}")
def test_ispdb_lint_text_and_json() -> None:
    runner = CliRunner()

    text = runner.invoke(main, ["ispdb", "lint", str(ISPDB)])
    as_json = runner.invoke(main, ["ispdb", "lint", str(ISPDB), "--format", "json"])

    # Plaintext-only providers are high: the default --fail-on medium fails.
    assert text.exit_code == 1, text.output
    assert "office365.com.xml: [medium] discovery.ispdb-bad-placeholder" in text.output
    assert "163 files, 163 providers, 963 domains" in text.output
    data = json.loads(as_json.output)
    assert data["files"] == 163
    assert {f["id"] for f in data["findings"]} >= {
        "discovery.ispdb-odd-port",
        "discovery.ispdb-missing-username",
        "discovery.ispdb-plaintext-only",
    }


def test_ispdb_lint_clean_directory(tmp_path: Path) -> None:
    (tmp_path / "x.test.xml").write_text(
        '<clientConfig version="1.1"><emailProvider id="x.test"><domain>x.test</domain>'
        '<incomingServer type="imap"><hostname>imap.x.test</hostname><port>993</port>'
        "<socketType>SSL</socketType><username>%EMAILADDRESS%</username>"
        "<authentication>password-cleartext</authentication></incomingServer>"
        '<outgoingServer type="smtp"><hostname>smtp.x.test</hostname><port>465</port>'
        "<socketType>SSL</socketType><username>%EMAILADDRESS%</username>"
        "<authentication>password-cleartext</authentication></outgoingServer>"
        "</emailProvider></clientConfig>"
    )

    out = CliRunner().invoke(main, ["ispdb", "lint", str(tmp_path)])

    assert out.exit_code == 0, out.output
    assert "1 files, 1 providers, 1 domains, 0 findings" in out.output


def test_discover_rejects_a_bad_query() -> None:
    out = CliRunner().invoke(main, ["discover", "not an address", "--nameserver", "127.0.0.1"])

    assert out.exit_code == 2
    assert "not a" in out.output


def test_login_options_need_login() -> None:
    out = CliRunner().invoke(
        main, ["discover", "a@x.test", "--password-env", "X", "--nameserver", "127.0.0.1"]
    )

    assert out.exit_code == 2
    assert "need --login" in out.output
