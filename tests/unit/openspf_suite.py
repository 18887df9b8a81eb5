"""The openspf RFC 7208 test suite (`tests/data/openspf/rfc7208-tests.yml`, release 2014.04 with
the 2019.08 additions, as shipped in the pyspf 2.0.14 sdist; BSD-style licence in
`rfc7208-tests.LICENSE` beside it) read as a conformance suite for a *domain auditor*.

The suite is written for SPF evaluators: each test is one (IP, HELO, MAIL FROM) triple and the
result a receiver must compute. mailaudit does not evaluate senders; it judges what a domain
publishes. The mapping (documented in the README's design notes):

* the audited domain is the domain of MAIL FROM, or the HELO name when MAIL FROM is empty
  (RFC 7208 §2.4: the receiver then checks postmaster@HELO);
* a test whose only accepted result is `permerror` means: the published policy is broken for some
  sender, so auditing that domain must give an SPF error finding (`ERROR_FINDINGS`);
* a test with another result (pass, fail, softfail, neutral, none) for a domain no test of which
  expects `permerror` means: the record is valid, so the audit must give no SPF error finding;
* everything else does not map (`unmapped_reason`), and each such test is counted with why.

The zone data is served by `SuiteResolver`, the real `Resolver` with `query` answered from the
scenario's zone: an `SPF`-type record doubles as TXT when the name has no TXT record (the
suite's convention), `TIMEOUT` makes the name time out, and names under `error.` that the zone
does not hold time out too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mailaudit.net.errors import DnsError
from mailaudit.net.resolver import AnswerStatus, DnsAnswer, Resolver

SUITE = Path(__file__).resolve().parent.parent / "data" / "openspf" / "rfc7208-tests.yml"

# The findings that say "receivers get a permerror from this policy" (RFC 7208 §4.6, §4.6.4,
# §5.2, §6.1). Other SPF findings (~all, ?all, ptr, missing) judge a valid policy.
ERROR_FINDINGS = frozenset(
    {
        "spf.syntax",
        "spf.multiple-records",
        "spf.include-broken",
        "spf.too-many-lookups",
        "spf.too-many-void-lookups",
    }
)


@dataclass(frozen=True)
class SuiteTest:
    scenario: str  # the scenario's description
    name: str
    helo: str
    host: str
    mailfrom: str
    results: tuple[str, ...]
    zone: dict[str, tuple[tuple[str, Any], ...]]

    @property
    def domain(self) -> str:
        """The identity whose policy a receiver checks (RFC 7208 §2.4)."""
        _, at, domain = self.mailfrom.rpartition("@")
        if at and domain:
            return domain
        if self.mailfrom and not at:
            return self.mailfrom
        return self.helo


def load_suite(path: Path = SUITE) -> list[SuiteTest]:
    tests: list[SuiteTest] = []
    with path.open(encoding="utf-8") as stream:
        for scenario in yaml.safe_load_all(stream):
            if not scenario:
                continue
            zone = {
                name.lower(): tuple(_entries(entries))
                for name, entries in scenario.get("zonedata", {}).items()
            }
            for name, data in scenario["tests"].items():
                result = data["result"]
                tests.append(
                    SuiteTest(
                        scenario=scenario["description"],
                        name=name,
                        helo=str(data.get("helo", "")),
                        host=str(data.get("host", "")),
                        mailfrom=str(data.get("mailfrom", "")),
                        results=tuple(result) if isinstance(result, list) else (result,),
                        zone=zone,
                    )
                )
    return tests


def _entries(entries: list[Any]) -> Iterator[tuple[str, Any]]:
    has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
    for entry in entries:
        if entry == "TIMEOUT":
            yield ("TIMEOUT", None)
            continue
        ((rdtype, value),) = entry.items()
        if rdtype == "SPF":
            if has_txt:
                continue  # RFC 7208 §3.1: type SPF is no longer used
            rdtype = "TXT"
        if value == "NONE":
            continue
        yield (rdtype, value)


class SuiteResolver(Resolver):
    """Answers from one scenario's zone data; nothing leaves the process."""

    def __init__(self, zone: dict[str, tuple[tuple[str, Any], ...]]) -> None:
        super().__init__(nameservers=("127.0.0.1",))
        self.zone = zone

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = name.lower().rstrip(".")
        if any(len(label) > 63 for label in key.split(".")) or ".." in key:
            raise DnsError(f"{rdtype} {name}: bad name", reason="bad-name")
        entries = self.zone.get(key)
        if entries is None:
            if key.startswith("error."):
                raise DnsError(f"{rdtype} {name}: timeout", reason="timeout")
            return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN)
        records: list[str] = []
        for kind, value in entries:
            if kind == "TIMEOUT" or (kind == rdtype and value == "TIMEOUT"):
                if not records:
                    raise DnsError(f"{rdtype} {name}: timeout", reason="timeout")
                break
            if kind == "CNAME" and rdtype != "CNAME":
                target = str(value).rstrip(".")
                if target.lower() == key:
                    raise DnsError(f"{rdtype} {name}: CNAME loop", reason="servfail")
                answer = await self.query(target, rdtype)
                return dataclasses.replace(answer, name=name, canonical_name=target)
            if kind == rdtype:
                records.append(_presentation(rdtype, value))
        if records:
            return DnsAnswer(name, rdtype, AnswerStatus.OK, tuple(records))
        return DnsAnswer(name, rdtype, AnswerStatus.NO_ANSWER)


def _presentation(rdtype: str, value: Any) -> str:
    if rdtype == "TXT":
        strings = value if isinstance(value, list) else [value]
        return " ".join(
            '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings
        )
    if rdtype == "MX":
        preference, host = value
        return f"{preference} {host}."
    if rdtype in ("PTR", "CNAME"):
        return str(value).rstrip(".") + "."
    return str(value)
