"""The `mailaudit probe` command as a user runs it, against the lab."""

from __future__ import annotations

import json
import subprocess
import sys


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "mailaudit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_probe_smtp_good_shows_starttls_and_valid_certificate(lab_env: dict[str, str]) -> None:
    result = run(lab_env, "probe", "smtp://mail.good.test")

    assert result.returncode == 0, result.stderr
    assert "STARTTLS performed" in result.stdout
    assert "certificate: valid for mail.good.test" in result.stdout


def test_probe_pop3_plain_shows_login_before_tls(lab_env: dict[str, str]) -> None:
    result = run(lab_env, "probe", "pop3://pop3.plain.test")

    assert result.returncode == 0, result.stderr
    assert "login offered before TLS: yes" in result.stdout


def test_dead_server_gives_timeout_error_and_others_still_probed(lab_env: dict[str, str]) -> None:
    result = run(
        lab_env,
        "probe",
        "--timeout",
        "1.5",
        "--budget",
        "3",
        "--format",
        "json",
        "smtp://mail.dead.test",
        "imaps://imap.good.test",
    )

    assert result.returncode == 3
    data = json.loads(result.stdout)
    by_url = {o["url"]: o for o in data["observations"]}
    assert by_url["smtp://mail.dead.test"]["failure"]["reason"] == "timeout"
    assert by_url["imaps://imap.good.test"]["status"] == "completed"


def test_bad_url_is_a_usage_error(lab_env: dict[str, str]) -> None:
    result = run(lab_env, "probe", "gopher://mail.good.test")

    assert result.returncode == 2
    assert "unknown scheme" in result.stderr


def test_resolve_points_a_name_at_an_address_and_the_certificate_is_checked_for_that_name(
    lab_env: dict[str, str],
) -> None:
    # Given a staging name the lab DNS does not know, pointed at good.test's server
    result = run(
        lab_env,
        "probe",
        "--format",
        "json",
        "--resolve",
        "smtp.staging.test:127.0.0.10",
        "smtps://smtp.staging.test",
    )

    # Then the probe reaches it, and the certificate (for *.good.test names) fails for that name
    assert result.returncode == 0, result.stderr
    (obs,) = json.loads(result.stdout)["observations"]
    assert obs["address"] == "127.0.0.10"
    assert obs["status"] == "completed"
    assert obs["tls"]["certificate_valid"] is False
    assert "smtp.staging.test" in obs["tls"]["verify_error"]
