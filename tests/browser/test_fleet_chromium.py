"""The fleet view of the HTML report in real headless Chromium, on a 10,000-domain Report built
in code: the grouped views are there, a page of domains is drawn, per-domain detail is one link
away (#d=DOMAIN), the finding and host links filter the list, and the page's one script runs
under its Content-Security-Policy without a console message. (Its load time is printed by
bench/fleet_html.py, not asserted here.)"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mailaudit.report.html import render_html
from tests.browser.conftest import Chromium
from tests.unit.fleet_samples import HOSTILE, fleet_report

N = 10_000


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.html"
    path.write_text(render_html(fleet_report(N)), encoding="utf-8")
    return path


def page_messages(console: tuple[str, ...]) -> list[str]:
    return [line for line in console if "chrome://" not in line]


def rows(dom: str) -> list[str]:
    body = dom.split('<tbody id="fleet-rows">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="#d=([^"]+)">', body)


def section(dom: str, element_id: str) -> str:
    return dom.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def test_page_weight_is_bounded(page: Path) -> None:
    # 10,000 domains: the per-domain detail is compact data, not 10,000 HTML sections
    assert page.stat().st_size < 3_000_000
    assert page.read_text().count('class="domain"') == 0


def test_grouped_views_and_the_first_page_of_domains(chromium: Chromium, page: Path) -> None:
    run = chromium.dom(page)

    # the script ran, allowed by its hash; nothing blocked (Chromium's own chrome:// pages may
    # log under load, e.g. "Slow network is detected": only the report's messages count)
    assert page_messages(run.console) == []
    by_finding = section(run.stdout, "by-finding")
    # every domain has MTA-STS missing; only the 2,000 on the expiring MX its certificate finding
    assert re.search(r"mtasts\.missing.*?#f=mtasts\.missing\">10,000<", by_finding, re.S)
    assert re.search(
        r"tls\.cert-expiring-soon</code></td>\s*<td><a class=\"mono\" href=\"#e-127-0-0-79-25\">"
        r"smtp://mail\.autodisc\.test</a></td>\s*<td class=\"num\"><a href=\"#f=tls\.cert-expiring-soon\">2,000<",
        by_finding,
    )
    by_host = section(run.stdout, "by-host")
    assert by_host.count("<tr>") == 1 + 10  # head + the 10 shared hosts
    assert '<a href="#h=127.0.0.42">10,000</a>' in by_host
    assert rows(run.stdout) == [f"cust{i:05d}.test" for i in range(1, 101)]
    assert "10,000 domains · page 1 of 100" in run.stdout
    assert "<script>alert(1)</script>" not in run.stdout.split('id="fleet-data"')[0]


def test_domain_detail_is_one_link_away(chromium: Chromium, page: Path) -> None:
    run = chromium.dom(page, fragment="#d=cust04000.test")

    assert page_messages(run.console) == []
    detail = run.stdout.split('<article id="fleet-detail"', 1)[1].split("</article>", 1)[0]
    assert "hidden" not in detail.split(">", 1)[0]
    assert "<span>cust04000.test</span>" in detail
    assert "_mta-sts.cust04000.test has no v=STSv1 record." in detail
    assert 'href="#e-127-0-0-10-25">smtp://mail.good.test</a>' in detail
    assert "dmarc.record (not tested): DNS timeout" in detail  # every 1,000th: incomplete
    # the hostile greeting of a shared host is text in the detail too
    assert HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in detail


def test_finding_and_host_links_filter_the_list(chromium: Chromium, page: Path) -> None:
    expiring = chromium.dom(page, fragment="#f=tls.cert-expiring-soon")
    # customer i uses MX index i % 5; mail.autodisc.test is MX index 2
    assert rows(expiring.stdout)[:3] == ["cust00002.test", "cust00007.test", "cust00012.test"]
    assert "2,000 domains · page 1 of 20" in expiring.stdout

    host = chromium.dom(page, fragment="#h=127.0.0.74")  # in-x7.srvonly.test: even customers
    assert rows(host.stdout)[:2] == ["cust00002.test", "cust00004.test"]
    assert "5,000 domains" in host.stdout

    page_7 = chromium.dom(page, fragment="#p=7")
    assert rows(page_7.stdout)[0] == "cust00601.test"


def test_screenshot(chromium: Chromium, page: Path, tmp_path: Path) -> None:
    png = tmp_path / "fleet.png"
    chromium.screenshot(page, png, window="1280,2200")
    target = os.environ.get("MAILAUDIT_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / "fleet-10000.png").write_bytes(png.read_bytes())
    assert png.stat().st_size > 20_000  # not blank: a blank page compresses to a few KB
