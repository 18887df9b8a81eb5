"""Plain-text rendering of probe observations (`mailaudit probe --format text`)."""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.model import Observation, ProbeStatus
from mailaudit.report.escape import visible_controls


def render_observations(observations: Iterable[Observation], *, transcript: bool = True) -> str:
    # Banners, capabilities and certificate names come from the server: escape its control
    # characters before they reach a terminal.
    text = "\n\n".join(_one(o, transcript=transcript) for o in observations) + "\n"
    return visible_controls(text)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _one(o: Observation, *, transcript: bool) -> str:
    where = f"{o.address} port {o.port}" if o.address else f"port {o.port}"
    lines = [f"{o.url}  ({where}, {o.elapsed_ms} ms)"]
    if o.status is not ProbeStatus.COMPLETED and o.failure is not None:
        label = "REFUSED" if o.status is ProbeStatus.REFUSED else "ERROR"
        lines.append(
            f"  {label}: {o.failure.message} [reason: {o.failure.reason}, step: {o.failure.step}]"
        )
    if o.greeting is not None:
        lines.append(f"  greeting: {o.greeting.splitlines()[0] if o.greeting else ''}")
    if not o.scheme.implicit_tls:
        lines.append(f"  STARTTLS offered: {_yes_no(o.starttls_offered)}")
        lines.append(f"  capabilities before TLS: {' | '.join(o.capabilities_before_tls) or '-'}")
        lines.append(f"  login offered before TLS: {_yes_no(o.login_offered_before_tls)}")
    if o.tls is not None:
        tls = o.tls
        how = "implicit TLS" if o.scheme.implicit_tls else "STARTTLS performed"
        lines.append(f"  TLS: {how}, {tls.version}, {tls.cipher}")
        if tls.certificate_valid:
            lines.append(f"  certificate: valid for {o.host}")
        else:
            lines.append(f"  certificate: INVALID ({tls.verify_error})")
        if tls.certificate is not None:
            cert = tls.certificate
            lines.append(f"    subject: {cert.subject}; issuer: {cert.issuer}")
            lines.append(
                f"    names: {', '.join(cert.dns_names) or '-'}; expires: {cert.not_after}"
            )
            lines.append(
                f"    key: {cert.key_type} {cert.key_bits or ''}; signature: {cert.signature_algorithm}"
            )
        lines.append(f"  capabilities after TLS: {' | '.join(o.capabilities_after_tls) or '-'}")
        lines.append(f"  AUTH after TLS: {' '.join(o.auth_mechanisms_after_tls) or '-'}")
    elif o.status is ProbeStatus.COMPLETED:
        lines.append("  TLS: none")
    if transcript and o.transcript:
        lines.append("  transcript:")
        lines.extend(f"    {line.render()}" for line in o.transcript)
    return "\n".join(lines)
