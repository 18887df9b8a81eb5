"""`mailaudit serve` in real headless Chromium, against the lab: a person types alice@good.test
using the keyboard only, sees the settings, downloads the three files and switches to Greek; an
accessibility audit of every page; hostile input is shown as text and never runs; screenshots
(MAILAUDIT_SCREENSHOT_DIR keeps them)."""

from __future__ import annotations

import json
import plistlib
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from mailaudit.report.json_report import dump_report
from tests.serve.cdp import Browser
from tests.serve.conftest import Server, keep_screenshot, start_server, stop_server
from tests.unit.report_samples import relay_report

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def server(lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One browser makes every request from 127.0.0.1: a rate that does not get in the way
    (the rate limit itself is tested over HTTP)."""
    running = start_server(lab_env, tmp_path_factory.mktemp("serve"), "--per-minute", "600")
    yield running
    stop_server(running)


# An audit in the spirit of axe-core's rules that matter for these pages: every control has an
# accessible name, the page has a language and a title, one main landmark, headings do not skip
# levels, links have text, ids are unique and references resolve, every focusable element shows
# a focus indicator.
AUDIT = r"""
(() => {
  const problems = [];
  const name = (e) => {
    if (e.getAttribute('aria-label')) return e.getAttribute('aria-label').trim();
    const by = e.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map(i => (document.getElementById(i) || {}).innerText || '').join(' ').trim();
    if (e.id) { const l = document.querySelector(`label[for="${e.id}"]`); if (l) return l.innerText.trim(); }
    const wrap = e.closest('label'); if (wrap) return wrap.innerText.trim();
    return (e.innerText || e.textContent || e.value || '').trim();
  };
  for (const e of document.querySelectorAll('input:not([type=hidden]), select, textarea, button')) {
    if (!name(e)) problems.push('control without a label: ' + e.outerHTML.slice(0, 120));
  }
  for (const a of document.querySelectorAll('a[href]')) {
    if (!name(a)) problems.push('link without text: ' + a.outerHTML.slice(0, 120));
  }
  if (!document.documentElement.lang) problems.push('html without lang');
  if (!document.title.trim()) problems.push('empty title');
  if (document.querySelectorAll('main').length !== 1) problems.push('main landmarks: ' + document.querySelectorAll('main').length);
  let last = 0;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4, main h5, main h6')) {
    const level = +h.tagName[1];
    if (last && level > last + 1) problems.push(`heading skips from h${last} to h${level}: ${h.innerText.slice(0, 60)}`);
    last = level;
  }
  const ids = {};
  for (const e of document.querySelectorAll('[id]')) { ids[e.id] = (ids[e.id] || 0) + 1; }
  for (const [id, n] of Object.entries(ids)) if (n > 1) problems.push('duplicate id ' + id);
  for (const e of document.querySelectorAll('[aria-labelledby], [aria-describedby], label[for]')) {
    const refs = (e.getAttribute('aria-labelledby') || '') + ' ' + (e.getAttribute('aria-describedby') || '') + ' ' + (e.getAttribute('for') || '');
    for (const r of refs.split(/\s+/).filter(Boolean)) if (!document.getElementById(r)) problems.push('reference to missing id ' + r);
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt');
  const focusable = [...document.querySelectorAll('a[href], input:not([type=hidden]), select, button, summary, [tabindex]:not([tabindex="-1"])')]
    .filter(e => e.getClientRects().length);
  for (const e of focusable) {
    e.focus();
    const s = getComputedStyle(e);
    if (document.activeElement === e && s.outlineStyle === 'none' && s.boxShadow === 'none')
      problems.push('no visible focus: ' + e.outerHTML.slice(0, 80));
  }
  document.body.setAttribute('tabindex', '-1'); document.body.focus(); document.body.removeAttribute('tabindex');
  return problems;
})()
"""
# Focusable and shown: not inside a closed <details> (other than as its summary).
FOCUSABLE_COUNT = r"""
[...document.querySelectorAll('a[href], input:not([type=hidden]), select, button, summary')]
  .filter(e => e.getClientRects().length)
  .filter(e => {
    for (let d = e.parentElement && e.parentElement.closest('details'); d;
         d = d.parentElement && d.parentElement.closest('details')) {
      if (!d.open && !(e.tagName === 'SUMMARY' && e.parentElement === d)) return false;
    }
    return true;
  }).length
"""


def _tab_to(browser: Browser, needle: str, *, limit: int = 80) -> str:
    """Press Tab until the focused element's description contains `needle`."""
    for _ in range(limit):
        browser.press("Tab")
        focused = browser.focused()
        if needle in focused:
            return focused
    raise AssertionError(f"Tab never reached {needle!r}")


def _to_top(browser: Browser) -> None:
    """Focus back to the start of the page, as after loading it."""
    browser.evaluate(
        "document.body.setAttribute('tabindex', '-1'); document.body.focus();"
        "document.body.removeAttribute('tabindex'); window.scrollTo(0, 0)"
    )


def _tab_cycle(browser: Browser) -> list[str]:
    """Everything Tab reaches, in order, from the top of the page until the focus leaves it."""
    _to_top(browser)
    seen: list[str] = []
    for _ in range(200):
        browser.press("Tab")
        focused = browser.focused()
        if not focused or focused.startswith("body") or (seen and focused == seen[0]):
            break
        seen.append(focused)
    return seen


def _audit(browser: Browser, where: str) -> None:
    problems = browser.evaluate(AUDIT)
    assert problems == [], f"{where}: {problems}"
    reached = _tab_cycle(browser)
    assert len(reached) == browser.evaluate(FOCUSABLE_COUNT), (where, reached)
    _to_top(browser)


def test_alice_by_keyboard_settings_downloads_and_greek(server: Server, browser: Browser) -> None:
    browser.viewport(1280, 900, mobile=False)
    browser.goto(server.url + "/")
    _audit(browser, "form page")

    # Given the form, reached with the keyboard alone
    assert _tab_to(browser, "a ").startswith("a")  # the skip link comes first
    assert "#address" in _tab_to(browser, "input#address")
    browser.type_text("alice@good.test")
    browser.press_and_wait_load("Enter")

    # Then the settings are on the page, in plain words
    answer = browser.text("#answer")
    assert "Incoming mail server (IMAP)\timap.good.test\t993\tSSL/TLS\talice@good.test" in answer
    assert "Outgoing mail server (SMTP)\tsmtp.good.test\t465\tSSL/TLS\talice@good.test" in answer
    assert browser.evaluate("document.querySelectorAll('li.source').length") >= 8
    _audit(browser, "answer page")

    # And the three downloads work from the keyboard and parse
    files = {}
    for fmt in ("thunderbird", "mobileconfig", "autodiscover"):
        _to_top(browser)
        _tab_to(browser, f"/{fmt}")
        mark = len(browser.events)
        browser.press("Enter")
        files[fmt] = browser.wait_download(after=mark).read_bytes()
    tb = SafeET.fromstring(files["thunderbird"])
    assert tb.findtext("emailProvider/incomingServer/hostname") == "imap.good.test"
    assert tb.findtext("emailProvider/outgoingServer/hostname") == "smtp.good.test"
    account = plistlib.loads(files["mobileconfig"])["PayloadContent"][0]
    assert account["IncomingMailServerPortNumber"] == 993
    assert account["EmailAddress"] == "alice@good.test"
    ad = SafeET.fromstring(files["autodiscover"])
    assert {e.text for e in ad.iter() if e.tag.endswith("}Server")} >= {
        "imap.good.test",
        "smtp.good.test",
    }

    # And the language switch (by keyboard) gives the Greek page
    _to_top(browser)
    _tab_to(browser, "lang=el")
    browser.press_and_wait_load("Enter")
    assert browser.evaluate("document.documentElement.lang") == "el"
    assert browser.text("h1") == "Βρείτε τις ρυθμίσεις του email σας"
    _audit(browser, "Greek form page")
    assert browser.problems() == []


def test_greek_answer_from_accept_language(server: Server, browser: Browser) -> None:
    browser.accept_language("el-GR,el;q=0.9")
    browser.goto(server.url + "/")
    browser.evaluate("document.getElementById('address').focus()")
    browser.type_text("alice@good.test")
    browser.press_and_wait_load("Enter")

    text = browser.text("main")
    assert "Διακομιστής εισερχόμενης αλληλογραφίας (IMAP)" in text
    assert "Τι σημαίνουν οι όροι" in text
    _audit(browser, "Greek answer page")
    assert browser.problems() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<script>alert(1)</script>@good.test", "That does not look like an email address."),
        ("<img src=x onerror=alert(1)>@good.test", "That does not look like an email address."),
        ("alice\u0007\u001b@good.test", "The address contains control characters."),
        ("a" * 10_000 + "@good.test", "That is too long for an email address"),
    ],
)
def test_hostile_input_is_shown_as_text_and_never_runs(
    server: Server, browser: Browser, value: str, expected: str
) -> None:
    browser.goto(server.url + "/")
    # A hostile client is not bound by the form's own checks: set the value, submit directly.
    mark = len(browser.events)
    browser.evaluate(
        f"document.getElementById('address').value = {json.dumps(value)};"
        "document.querySelector('form.find-form').submit()"
    )
    browser.wait_event("Page.loadEventFired", after=mark)

    assert expected in browser.text("#address-problem")
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.images.length") == 0
    assert not [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]
    shown = browser.evaluate("document.getElementById('address').value")
    assert "\u001b" not in shown
    assert len(shown) <= 254


def test_a_redirect_into_a_closed_range_is_reported_in_the_page(
    server: Server, browser: Browser
) -> None:
    browser.goto(server.url + "/")
    browser.evaluate("document.getElementById('address').focus()")
    browser.type_text("bob@sneaky.test")
    browser.press_and_wait_load("Enter")

    text = browser.text("#answer")
    assert "not on the public Internet" in text
    assert "internal.sneaky.test (127.0.1.1)" in text


@pytest.mark.parametrize(("lang", "accept"), [("en", "en"), ("el", "el")])
@pytest.mark.parametrize(
    ("label", "width", "height", "mobile"),
    [("desktop", 1280, 900, False), ("phone", 390, 844, True)],
)
def test_screenshots(
    server: Server,
    browser: Browser,
    tmp_path: Path,
    lang: str,
    accept: str,
    label: str,
    width: int,
    height: int,
    mobile: bool,
) -> None:
    browser.accept_language(accept)
    browser.viewport(width, height, mobile=mobile)
    browser.goto(server.url + "/")
    index = tmp_path / "index.png"
    browser.screenshot(index, full=False)
    browser.evaluate("document.getElementById('address').focus()")
    browser.type_text("alice@good.test")
    browser.press_and_wait_load("Enter")
    answer = tmp_path / "answer.png"
    browser.screenshot(answer)

    assert index.stat().st_size > 10_000
    assert answer.stat().st_size > index.stat().st_size
    keep_screenshot(index, f"serve-index-{lang}-{label}.png")
    keep_screenshot(answer, f"serve-answer-{lang}-{label}.png")
    assert browser.problems() == []


@pytest.mark.parametrize("lang", ["en", "el"])
def test_the_saved_report_page(browser: Browser, tmp_path: Path, lang: str) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(dump_report(relay_report()), encoding="utf-8")
    report_server = start_server({}, tmp_path, "--report", str(saved))
    try:
        browser.viewport(1280, 900, mobile=False)
        browser.goto(f"{report_server.url}/report?lang={lang}")
        _audit(browser, "report page")
        # Filter from the keyboard: severity "at least critical", then Show
        browser.evaluate("document.getElementById('f-severity').value = 'critical'")
        _to_top(browser)
        _tab_to(browser, "button")
        browser.press_and_wait_load("Enter")
        shown = browser.text("p.shown")
        png = tmp_path / "report.png"
        browser.screenshot(png)
    finally:
        stop_server(report_server)

    assert "1" in shown
    assert browser.evaluate("document.location.search").count("severity=critical") == 1
    # The report's own stylesheet is allowed by its hash: no CSP violation, and it applies
    assert browser.problems() == []
    keep_screenshot(png, f"serve-report-{lang}-desktop.png")
