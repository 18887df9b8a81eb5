"""A fleet run interrupted with Ctrl-C and resumed ends with the same per-domain results as an
uninterrupted run, auditing only what was missing (issue 11, item 3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailaudit.audit.jsonl import read_jsonl, report_from_jsonl
from mailaudit.model import Report

# Quick domains first, busy.test last: its 421 is retried once after 5 s, which holds the run
# open long enough to be interrupted after the others are done.
DOMAINS = ["good.test", "relay.test", "plain.test", "vrfy.test", "version.test", "busy.test"]
FAST = ["--skip", "tls", "--skip", "protocol", "-q"]


def audit(env: dict[str, str], jsonl: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailaudit",
            "audit",
            *DOMAINS,
            "--jsonl",
            str(jsonl),
            *FAST,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def domain_records(path: Path) -> list[str]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("record") == "domain":
            out.append(record["domain"])
    return out


def per_domain(report: Report) -> dict[str, object]:
    """What a domain's result says, without timings and transcripts."""
    return {
        d.domain: (
            d.endpoint_ids,
            d.not_offered,
            sorted((f.id, f.subject) for f in d.findings),
            sorted((c.check, c.subject, c.status.value) for c in d.checks),
            d.errors,
            sorted(
                (f.id, f.subject)
                for e in report.endpoints
                if e.id in d.endpoint_ids
                for f in e.findings
            ),
        )
        for d in report.domains
    }


def test_interrupted_run_resumes_to_the_same_results(
    lab_env: dict[str, str], tmp_path: Path
) -> None:
    # Given an uninterrupted run
    whole = tmp_path / "whole.jsonl"
    done = audit(lab_env, whole)
    done.communicate(timeout=120)
    assert sorted(domain_records(whole)) == sorted(DOMAINS)

    # When a second run is interrupted once some domains are complete
    part = tmp_path / "part.jsonl"
    run = audit(lab_env, part)
    deadline = time.monotonic() + 60
    while len(domain_records(part)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=30)
    assert run.returncode == 130, err
    assert "--resume" in err
    before = domain_records(part)
    assert 2 <= len(before) < len(DOMAINS)

    # and resumed
    resumed = audit(lab_env, part, "--resume")
    _, err = resumed.communicate(timeout=120)

    # Then only the missing domains were audited, and the results equal the whole run's
    assert f"resuming {part}: {len(before)} domains" in err
    after = domain_records(part)
    assert after[: len(before)] == before
    assert sorted(after[len(before) :]) == sorted(set(DOMAINS) - set(before))
    assert resumed.returncode == done.returncode
    resumed_results = per_domain(report_from_jsonl(part))
    whole_results = per_domain(report_from_jsonl(whole))
    differ = {
        d: (resumed_results[d], whole_results[d])
        for d in DOMAINS
        if resumed_results[d] != whole_results[d]
    }
    assert not differ
    assert read_jsonl(part).finished_at is not None
