"""The HTML report of the real lab's relay.test and hostile.test, in real headless Chromium.

Needs the loopback lab (fixtures/lab/lab.sh start) and Chromium; the report is saved as JSON and
re-rendered from it, as `mailaudit report` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailaudit.audit.runner import run_audit
from mailaudit.context import Context
from mailaudit.report.html import render_html
from mailaudit.report.json_report import dump_report, load_report
from tests.browser.conftest import Chromium
from tests.browser.png import decode
from tests.browser.test_html_chromium import _Dom, _keep

pytestmark = pytest.mark.lab

LAB_HOSTILE = '<script>alert(1)</script> "quoted" & <b>bold</b>'


async def test_lab_report_of_relay_and_hostile_in_chromium(
    lab_ctx: Context, chromium: Chromium, tmp_path: Path
) -> None:
    # Given an audit of the lab's open relay and its hostile-banner servers, saved as JSON
    report = await run_audit(lab_ctx, ["relay.test", "hostile.test"])
    saved = tmp_path / "lab.json"
    saved.write_text(dump_report(report), encoding="utf-8")
    page = tmp_path / "lab.html"
    page.write_text(render_html(load_report(saved)), encoding="utf-8")

    # When Chromium loads the HTML report
    png = tmp_path / "lab-desktop.png"
    shot = chromium.screenshot(page, png)
    dom = chromium.dom(page)

    # Then it loads without console messages, is not blank, and the banners are text
    assert shot.console == (), shot.console
    assert dom.console == (), dom.console
    assert len(decode(png.read_bytes()).distinct_colours(every=2)) > 50
    parsed = _Dom(dom.stdout)
    assert "script" not in parsed.tags
    assert "b" not in parsed.tags
    text = "".join(parsed.text)
    assert "Open relay" in text
    assert LAB_HOSTILE in text
    _keep(png, png.name)
