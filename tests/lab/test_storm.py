"""A finding storm on the lab: storm.test has 1,000 MX hosts without SPF (issue 10, item 7)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from mailaudit.cli import main


def test_a_thousand_mx_hosts_without_spf_give_one_finding(
    lab_env: dict[str, str], tmp_path: Path
) -> None:
    # Given 1,000 MX hosts that publish no SPF record, when the DNS policy is audited ...
    out = tmp_path / "storm.json"
    result = CliRunner().invoke(
        main,
        ["audit", "--only", "policy", "storm.test", "--json", str(out), "-q"],
        env={"MAILAUDIT_NAMESERVER": lab_env["MAILAUDIT_NAMESERVER"]},
    )
    assert result.exit_code in (0, 3), result.output
    (domain,) = json.loads(out.read_text())["domains"]
    assert len(domain["policy"]["mx"]["hosts"]) == 1000
    # ... then there is one spf.helo-missing finding counting all of them, with examples ...
    (helo,) = [f for f in domain["findings"] if f["id"] == "spf.helo-missing"]
    assert helo["occurrences"] == 1000
    assert "mx0001.storm.test" in helo["detail"]
    assert helo["evidence"][-1] == "... and 995 more"
    # ... no finding id repeats for the domain, and its check run names the id once.
    assert max(Counter(f["id"] for f in domain["findings"]).values()) == 1
    run = next(c for c in domain["checks"] if c["check"] == "spf.helo")
    assert run["finding_ids"] == ["spf.helo-missing"]
