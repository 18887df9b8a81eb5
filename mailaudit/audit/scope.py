"""What one audit may touch, and how it reports what it did not.

The SSRF guard (`mailaudit.net.addresses`) refuses non-global addresses wherever they come from;
this module gives each audited domain the refusals that concern it, once, as findings.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.audit.targets import Target
from mailaudit.checks.scope import judge_refused_targets
from mailaudit.model import Finding, RefusedTarget


def refused_findings(
    domain: str,
    refused: Iterable[RefusedTarget],
    targets: Iterable[Target],
    *,
    already_reported: Iterable[RefusedTarget] = (),
) -> list[Finding]:
    """Findings for the refusals of `domain`: names among its targets (MX, discovery, guesses)
    or under the domain itself (mta-sts.<domain>, ...), except those discovery reported."""
    own_hosts = {t.endpoint.host for t in targets if t.domain == domain}
    known = {t.host for t in already_reported}
    mine = [
        t
        for t in refused
        if t.host not in known
        and (t.host in own_hosts or t.host == domain or t.host.endswith("." + domain))
    ]
    return judge_refused_targets(domain, mine)
