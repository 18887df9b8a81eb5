"""The fleet HTML report at N domains (built in code, no network): render time, page weight, and
how long headless Chromium takes to open it (not a test).

    python bench/fleet_html.py [--sizes 1000,10000] [--repeat 3]

"open" is the wall time of `chromium --headless --dump-dom` on the report (parse, style, layout,
the domain list script) minus the same on an empty page (browser start-up), median of --repeat.
Target (issue 11): under 2 s at 10,000 domains.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailaudit.report.html import render_html  # noqa: E402
from tests.unit.fleet_samples import fleet_report  # noqa: E402

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions")


def open_s(chromium: str, page: Path, workdir: Path) -> float:
    profile = Path(tempfile.mkdtemp(dir=workdir))
    started = time.perf_counter()
    subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="bench-fleet-html-") as tmp:
        workdir = Path(tmp)
        blank = workdir / "blank.html"
        blank.write_text("<!doctype html><title>blank</title>", encoding="utf-8")
        base = statistics.median(open_s(chromium, blank, workdir) for _ in range(args.repeat))
        print(f"chromium start-up (empty page, median of {args.repeat}): {base:.2f} s")
        print(f"{'domains':>8} {'render s':>9} {'page MB':>8} {'open s':>7} {'(wall s)':>9}")
        for n in (int(s) for s in args.sizes.split(",") if s):
            report = fleet_report(n)
            started = time.perf_counter()
            html = render_html(report)
            render_s = time.perf_counter() - started
            page = workdir / f"fleet-{n}.html"
            page.write_text(html, encoding="utf-8")
            wall = statistics.median(open_s(chromium, page, workdir) for _ in range(args.repeat))
            print(
                f"{n:8,d} {render_s:9.2f} {page.stat().st_size / 1e6:8.2f} "
                f"{wall - base:7.2f} {wall:9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
