"""The order of discovery sources on the lab (issue 10 items 4 and 10): plain HTTP only after the
HTTPS autoconfig failed, and then without the address; a silent source given up once trusted
sources gave verified settings. Timing is measured in bench/discover_silent.py, not here."""

from __future__ import annotations

from pathlib import Path

from mailaudit.context import Context
from mailaudit.discovery import GuessMode, Source, SourceStatus, Trust, discover
from tests.lab.lablog import LabLog


def _access_log(lab_env: dict[str, str]) -> LabLog:
    return LabLog(Path(lab_env["MAILAUDIT_LAB_DIR"]) / "log" / "nginx-access.log")


async def test_no_plain_http_request_while_https_answers(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    log = _access_log(lab_env)

    result = await discover(lab_ctx, "alice@good.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTPS
    (http,) = [o for o in result.sources if o.source is Source.AUTOCONFIG_HTTP]
    assert http.status is SourceStatus.SKIPPED
    lines = log.new_lines()
    # The HTTPS request carried the address (the log sees it), no plain-HTTP request was made.
    assert any("https://autoconfig.good.test" in line and "emailaddress=" in line for line in lines)
    assert not [line for line in lines if "http://" in line and "good.test" in line]


async def test_plain_http_asked_without_the_address_after_https_failed(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    log = _access_log(lab_env)

    result = await discover(lab_ctx, "alice@httponly.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTP
    assert result.incoming.trust is Trust.UNTRUSTED
    # %EMAILADDRESS% filled on our side.
    assert result.incoming.setting.username == "alice@httponly.test"
    plain = [line for line in log.new_lines() if "http://autoconfig.httponly.test" in line]
    assert plain
    assert not [line for line in plain if "emailaddress" in line or "alice" in line]


async def test_silent_autoconfig_is_given_up_once_srv_verified(lab_ctx: Context) -> None:
    # autoconfig.slowsrc.test accepts connections on 80 and 443 and never answers.
    result = await discover(lab_ctx, "alice@slowsrc.test")

    assert result.incoming is not None
    assert result.outgoing is not None
    assert result.incoming.source is Source.SRV
    assert result.incoming.setting.host == "mail.slowsrc.test"
    assert result.outgoing.setting.port == 587
    outcomes = {o.source: o for o in result.sources}
    assert outcomes[Source.AUTOCONFIG_HTTPS].status is SourceStatus.GIVEN_UP
    assert "srv gave verified settings" in outcomes[Source.AUTOCONFIG_HTTPS].detail
    # Plain HTTP waits for HTTPS, so it is given up with it: it never sent a request.
    assert outcomes[Source.AUTOCONFIG_HTTP].status is SourceStatus.GIVEN_UP
    assert outcomes[Source.SRV].status is SourceStatus.FOUND


async def test_mx_provider_config_fetched_once_per_run_without_the_address(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    # hosted.test has nothing but its MX at provider.test: the provider's autoconfig answers.
    log = _access_log(lab_env)

    alice = await discover(lab_ctx, "alice@hosted.test", guess_mode=GuessMode.NEVER)
    bob = await discover(lab_ctx, "bob@hosted.test", guess_mode=GuessMode.NEVER)

    # Each user's own settings: %EMAILADDRESS% filled on our side.
    assert alice.incoming is not None
    assert bob.incoming is not None
    assert alice.incoming.source is Source.MX_AUTOCONFIG
    assert bob.incoming.source is Source.MX_AUTOCONFIG
    assert alice.incoming.setting.username == "alice@hosted.test"
    assert bob.incoming.setting.username == "bob@hosted.test"
    # One request for the run, with nothing of either address in it.
    provider = [line for line in log.new_lines() if "autoconfig.provider.test" in line]
    assert len(provider) == 1, provider
    assert "emailaddress" not in provider[0]
    assert "alice" not in provider[0]
