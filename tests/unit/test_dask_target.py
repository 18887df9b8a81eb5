"""`--dask` is checked before any network work: a bad target is one line and exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mailaudit.audit.dask_engine import DaskTarget, parse_dask_target
from mailaudit.cli import main


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        ("local:2", DaskTarget(local_workers=2)),
        ("tcp://10.0.0.5:8786", DaskTarget(scheduler="tcp://10.0.0.5:8786")),
        ("tls://sched.example:8786", DaskTarget(scheduler="tls://sched.example:8786")),
    ],
)
def test_targets(spec: str, target: DaskTarget) -> None:
    assert parse_dask_target(spec) == target


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:", "sched:8786", ""])
def test_bad_targets_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="--dask"):
        parse_dask_target(spec)


def test_a_bad_target_is_a_usage_error_before_any_work() -> None:
    result = CliRunner().invoke(
        main, ["audit", "example.test", "--dask", "local:0", "--nameserver", "127.0.0.9"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --dask 'local:0': local:N needs N from 1 to 256"
    ]
