"""The HTML report in real headless Chromium: it loads without console messages, renders
something that is not blank, and a hostile banner shows as text (no script element exists).

The report has no JavaScript at all and a Content-Security-Policy of default-src 'none', so any
console message (a blocked script or external asset, an error) is a failure. A control page
proves the console capture works.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailaudit.model import Report
from mailaudit.report.html import render_html
from mailaudit.report.json_report import dump_report, load_report
from tests.browser.conftest import Chromium
from tests.browser.png import decode
from tests.unit.report_samples import HOSTILE, hostile_report, relay_report

SAMPLES = {"relay": relay_report, "hostile": hostile_report}


class _Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self._skip = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._skip = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _page(tmp_path: Path, name: str) -> Path:
    """The HTML report as a user gets it: rendered from a saved JSON report."""
    saved = tmp_path / f"{name}.json"
    saved.write_text(dump_report(SAMPLES[name]()), encoding="utf-8")
    report: Report = load_report(saved)
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(report), encoding="utf-8")
    return page


def _keep(png: Path, name: str) -> None:
    """MAILAUDIT_SCREENSHOT_DIR=dir keeps the screenshots for a person to look at."""
    target = os.environ.get("MAILAUDIT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(png.read_bytes())


def test_console_capture_works(chromium: Chromium, tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text(
        "<!doctype html><title>c</title><script>console.error('mailaudit-control')</script>",
        encoding="utf-8",
    )

    run = chromium.dom(control)

    assert any("mailaudit-control" in line for line in run.console), run.console


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize(("window", "label"), [("1280,2000", "desktop"), ("390,1600", "phone")])
def test_report_loads_cleanly_and_is_not_blank(
    chromium: Chromium, tmp_path: Path, name: str, window: str, label: str
) -> None:
    page = _page(tmp_path, name)
    png = tmp_path / f"{name}-{label}.png"

    run = chromium.screenshot(page, png, window=window)

    assert run.console == (), f"console messages: {run.console}"
    image = decode(png.read_bytes())
    width, height = (int(v) for v in window.split(","))
    assert (image.width, image.height) == (width, height)
    colours = image.distinct_colours(every=2)
    # A blank page has one colour; text, badges and tables give hundreds (anti-aliasing).
    assert len(colours) > 50, f"screenshot looks blank: {len(colours)} colours"
    # Something is drawn in the top part (the title and summary), not only far below.
    top = {bytes(p) for y in range(0, height // 4, 4) for p in image.pixels(y)}
    assert len(top) > 20
    _keep(png, png.name)


def test_hostile_banner_renders_as_text(chromium: Chromium, tmp_path: Path) -> None:
    page = _page(tmp_path, "hostile")

    run = chromium.dom(page)

    assert run.console == ()
    dom = _Dom(run.stdout)
    assert "script" not in dom.tags
    assert "b" not in dom.tags  # the banner's <b>bold</b> is text, not an element
    text = "".join(dom.text)
    assert "220 mail.hostile.test ESMTP " + HOSTILE in text
    assert text.count("<script>alert(1)</script>") >= 5


def test_relay_report_dom_has_summary_and_findings(chromium: Chromium, tmp_path: Path) -> None:
    run = chromium.dom(_page(tmp_path, "relay"))
    text = "".join(_Dom(run.stdout).text)

    assert text.index("Summary") < text.index("Could not be tested")
    assert "Open relay: the server accepts mail for foreign domains from anyone" in text
    assert "timeout at greeting: no greeting within 10 s" in text
