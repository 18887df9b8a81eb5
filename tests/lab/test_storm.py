"""A finding storm on the lab: storm.test has 1,000 MX hosts without SPF (issue 10, item 7)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from mailaudit.audit.runner import AuditOptions, run_audit
from mailaudit.cli import main
from mailaudit.context import Context


async def test_a_thousand_mx_hosts_without_spf_give_one_finding(lab_ctx: Context) -> None:
    # Given 1,000 MX hosts that publish no SPF record, when the DNS policy is audited ...
    report = await run_audit(lab_ctx, ["storm.test"], AuditOptions(dns_only=True))

    (domain,) = report.domains
    assert domain.policy is not None
    assert len(domain.policy.mx.hosts) == 1000
    # ... then there is one spf.helo-missing finding counting all of them, with examples.
    helo = [f for f in domain.findings if f.id == "spf.helo-missing"]
    assert len(helo) == 1
    assert helo[0].occurrences == 1000
    assert "mx0001.storm.test" in helo[0].detail
    assert helo[0].evidence[-1] == "... and 995 more"
    # and no finding id repeats for one subject
    assert max(Counter((f.id, f.subject) for f in domain.findings).values()) == 1
    run = next(c for c in domain.checks if c.check == "spf.helo")
    assert run.finding_ids == ("spf.helo-missing",)


def test_storm_json_has_one_finding_per_id(lab_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "storm.json"
    result = CliRunner().invoke(
        main,
        ["audit", "--only", "policy", "storm.test", "--json", str(out), "-q"],
        env={"MAILAUDIT_NAMESERVER": lab_env["MAILAUDIT_NAMESERVER"]},
    )
    assert result.exit_code in (0, 3), result.output
    (domain,) = json.loads(out.read_text())["domains"]
    ids = Counter(f["id"] for f in domain["findings"])
    assert ids["spf.helo-missing"] == 1
    assert max(ids.values()) == 1, ids
    assert (
        next(f for f in domain["findings"] if f["id"] == "spf.helo-missing")["occurrences"] == 1000
    )
