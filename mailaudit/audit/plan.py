"""The planner: pure, no I/O. Domain facts in, endpoint work out, keyed by (address, port), so
thousands of customer domains on a few shared hosts plan a few endpoint units.

`Planner` is incremental (the local engine plans each domain as its DNS phase completes);
`plan` is the batch form (a distributed runner plans once after the DNS phase). Both pick the
same lead for an endpoint given the same domains in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.audit.units import DomainFacts, EndpointUnit, Role, Target, UnitOptions
from mailaudit.model import Observation, ProbeStatus

__all__ = ["Planner", "plan", "reusable_observations", "uses_of"]

_SERVICE_LABELS = {"smtp": ("smtp",), "imap": ("imap",), "pop3": ("pop3", "pop")}


def _names_service(target: Target) -> bool:
    return target.endpoint.host.split(".", 1)[0] in _SERVICE_LABELS[target.endpoint.scheme.family]


def _lead_order(target: Target) -> tuple[int, bool, str]:
    # Probe under the most authoritative name: what the user named, then MX, then discovery,
    # then the guess that names the service (pop3.example for POP3 rather than mail.example).
    return (target.role.priority, not _names_service(target), target.endpoint.host)


def uses_of(facts: DomainFacts) -> list[tuple[tuple[str, int], Target]]:
    """Every (address, port) the domain's targets lead to, with the target that leads there."""
    out: list[tuple[tuple[str, int], Target]] = []
    for target in facts.targets:
        for address in facts.addresses_of(target.endpoint.host):
            out.append(((address, target.endpoint.port), target))
    return out


def reusable_observations(facts: DomainFacts) -> dict[tuple[str, int], Observation]:
    """Discovery's completed probes, by (address, port): the audit does not probe them again."""
    found: dict[tuple[str, int], Observation] = {}
    if facts.discovery is None:
        return found
    for candidate in facts.discovery.candidates:
        obs = candidate.verification.observation
        if (
            obs is not None
            and obs.address
            and obs.status is ProbeStatus.COMPLETED
            and obs.scheme is candidate.setting.scheme
        ):
            found.setdefault((obs.address, obs.port), obs)
    return found


class Planner:
    """Remembers which (address, port) keys are planned; `add` returns only the new units."""

    def __init__(self, options: UnitOptions) -> None:
        self._options = options
        self._planned: set[tuple[str, int]] = set()

    @property
    def planned(self) -> int:
        return len(self._planned)

    def mark_done(self, keys: Iterable[tuple[str, int]]) -> None:
        """Keys whose facts exist already (a resumed run): never planned again."""
        self._planned.update(keys)

    def add(self, facts: DomainFacts) -> list[EndpointUnit]:
        by_key: dict[tuple[str, int], list[Target]] = {}
        for key, target in uses_of(facts):
            if key not in self._planned:
                by_key.setdefault(key, []).append(target)
        reusable = reusable_observations(facts)
        outside = {e.host for e in facts.out_of_scope}
        units: list[EndpointUnit] = []
        for key, targets in by_key.items():
            self._planned.add(key)
            lead = min(targets, key=_lead_order)
            known = reusable.get(key)
            units.append(
                EndpointUnit(
                    address=key[0],
                    port=key[1],
                    endpoint=lead.endpoint,
                    names=tuple(sorted({t.endpoint.host for t in targets})),
                    own_domain=lead.domain if lead.role is not Role.EXPLICIT else None,
                    protocol_audit=self._options.protocol_audit,
                    tls=self._options.tls,
                    known=known
                    if known is not None and known.scheme is lead.endpoint.scheme
                    else None,
                    passive=all(t.endpoint.host in outside for t in targets),
                )
            )
        return units


def plan(facts: Iterable[DomainFacts], options: UnitOptions) -> list[EndpointUnit]:
    """Every endpoint unit the domains need, each (address, port) once."""
    planner = Planner(options)
    return [unit for f in facts for unit in planner.add(f)]
