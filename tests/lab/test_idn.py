"""An internationalised domain on the lab: `straße.test` is `xn--strae-oqa.test` (UTS 46), whose
mail good.test's hosts serve. Under IDNA 2003 it would become `strasse.test`, which does not
exist in the lab, so these tests fail if a command falls back to Python's codec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab


def _mailaudit(lab_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailaudit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **lab_env},
        timeout=120,
        check=False,
    )


def test_discover_an_address_at_an_idn_domain(lab_env: dict[str, str]) -> None:
    result = _mailaudit(lab_env, "discover", "alice@straße.test", "--format", "json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    text = json.dumps(data)
    assert "alice@xn--strae-oqa.test" in text
    assert "strasse" not in text
    # Its MX (good.test's) and its SRV records lead to good.test's verified hosts.
    assert data["incoming"]["setting"]["host"] == "imap.good.test"
    assert data["outgoing"]["setting"]["host"] == "smtp.good.test"


def test_audit_an_idn_domain(lab_env: dict[str, str], tmp_path: Path) -> None:
    saved = tmp_path / "idn.json"
    result = _mailaudit(
        lab_env,
        "audit",
        "straße.test",
        "--skip", "tls", "--skip", "protocol", "--skip", "discovery", "--skip", "guess",
        "--format", "json", "--json", str(saved),
    )  # fmt: skip

    assert result.returncode != 2, result.stderr  # not a usage error
    report = json.loads(saved.read_text(encoding="utf-8"))
    assert [d["domain"] for d in report["domains"]] == ["xn--strae-oqa.test"]
    assert any(e["url"] == "smtp://mail.good.test" for e in report["endpoints"])
