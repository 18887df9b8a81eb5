from __future__ import annotations

import pytest

from mailaudit.model import (
    CertificateInfo,
    CheckRun,
    CheckStatus,
    Direction,
    Endpoint,
    Finding,
    Observation,
    ProbeFailure,
    ProbeStatus,
    Scheme,
    Severity,
    TlsSession,
    TranscriptLine,
)
from mailaudit.serial import LoadError, from_data, to_data


def test_observation_round_trips() -> None:
    obs = Observation(
        url="smtp://mail.good.test",
        scheme=Scheme.SMTP,
        host="mail.good.test",
        address="127.0.0.10",
        port=25,
        status=ProbeStatus.FAILED,
        failure=ProbeFailure("timeout", "no answer", "greeting"),
        capabilities_before_tls=("PIPELINING", "STARTTLS"),
        tls=TlsSession(
            "TLSv1.3",
            "TLS_AES_256_GCM_SHA384",
            256,
            True,
            None,
            CertificateInfo(
                "CN=x",
                "CN=ca",
                ("x",),
                "2026-01-01T00:00:00+00:00",
                "2027-01-01T00:00:00+00:00",
                "EC",
                256,
                "sha256-EC",
                "ab",
            ),
        ),
        transcript=(TranscriptLine(Direction.SERVER, "220 hi", 3),),
    )

    data = to_data(obs)

    assert data["scheme"] == "smtp"
    assert data["tls"]["certificate"]["dns_names"] == ["x"]
    assert from_data(Observation, data) == obs


def test_finding_and_check_run_round_trip() -> None:
    finding = Finding(
        "smtp.open-relay", Severity.CRITICAL, "smtp://x", "t", "d", "r", ("C: RCPT TO:<a@b>",)
    )
    run = CheckRun("smtp.open-relay", "smtp://x", CheckStatus.FAILED, None, ("smtp.open-relay",))

    assert from_data(Finding, to_data(finding)) == finding
    assert from_data(CheckRun, to_data(run)) == run


def test_load_names_the_bad_path() -> None:
    data = to_data(Finding("a", Severity.LOW, "s", "t", "d", "r"))
    data["severity"] = "apocalyptic"

    with pytest.raises(LoadError, match=r"\$\.severity"):
        from_data(Finding, data)


def test_severity_order() -> None:
    assert Severity.CRITICAL.at_least(Severity.HIGH)
    assert not Severity.LOW.at_least(Severity.MEDIUM)
    assert [s.rank for s in Severity] == sorted(s.rank for s in Severity)


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port"),
    [
        ("smtp://mail.good.test", Scheme.SMTP, "mail.good.test", 25),
        ("submission://SMTP.Good.Test.", Scheme.SUBMISSION, "smtp.good.test", 587),
        ("imaps://[::1]:1993", Scheme.IMAPS, "::1", 1993),
        ("pop3://127.0.0.5:1110", Scheme.POP3, "127.0.0.5", 1110),
    ],
)
def test_endpoint_parse(url: str, scheme: Scheme, host: str, port: int) -> None:
    endpoint = Endpoint.parse(url)
    assert (endpoint.scheme, endpoint.host, endpoint.port) == (scheme, host, port)
    assert Endpoint.parse(endpoint.url) == endpoint


@pytest.mark.parametrize(
    "url", ["mail.good.test", "gopher://x", "smtp://", "smtp://x:0", "smtp://x:70000"]
)
def test_endpoint_parse_rejects(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for users; the type is the contract
        Endpoint.parse(url)
