"""The wheel carries what the installed tool needs: the HTML templates and the JSON Schema."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_templates_and_schema_and_renders_from_them(tmp_path: Path) -> None:
    # Given a wheel built from the source tree (no network: hatchling is a test dependency)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mailaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    # Then the templates and the schema are inside the package
    root = ROOT.joinpath("reports", "templates")
    templates = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert templates
    for template in templates:
        assert f"mailaudit/_templates/{template}" in names
    assert "mailaudit/report/report.schema.json" in names
    # The web page's translations (`mailaudit serve`)
    assert "mailaudit/serve/locale/el/LC_MESSAGES/messages.po" in names

    # And, installed apart from the source tree, the HTML renderer finds its templates there
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import mailaudit.report.html as h; d = h.template_dir(); "
        "print(str(d)); assert 'site' in str(d), d; "
        "assert d.joinpath('report.html.j2').is_file()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
