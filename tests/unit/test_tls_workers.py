"""How many sslyze worker processes scan at once: a setting (issue 11: about 100 MB each while
scanning, so the default keeps a fleet run under 300 MB), from the command line or the
environment."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mailaudit.cli import main
from mailaudit.cli.options import settings_from
from mailaudit.probes.tls_scan import TLS_WORKERS
from mailaudit.settings import Limits, Settings


def network(tls_workers: int = Limits.tls_workers) -> Settings:
    return settings_from(
        nameservers=("127.0.0.9",),
        resolve={},
        ca_file=None,
        timeout_s=10.0,
        budget_s=30.0,
        ehlo_name="mailaudit.invalid",
        tls_workers=tls_workers,
    )


def test_one_worker_by_default() -> None:
    assert Settings().limits.tls_workers == Limits.tls_workers == TLS_WORKERS == 1
    assert network().limits.tls_workers == 1


def test_the_option_sets_the_limit_and_keeps_the_other_limits() -> None:
    limits = network(tls_workers=3).limits
    assert limits.tls_workers == 3
    assert limits.max_concurrency == Limits().max_concurrency


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_worker_count_below_one_is_a_usage_error(value: str) -> None:
    result = CliRunner().invoke(
        main, ["audit", "example.test", "--tls-workers", value, "--nameserver", "127.0.0.9"]
    )
    assert result.exit_code == 2
    assert "--tls-workers" in result.output
