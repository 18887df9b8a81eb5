"""The public surface of mailaudit.protocols: others code against it, so drift must fail a test."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

import mailaudit.protocols as protocols
from mailaudit.protocols import Ehlo, ImapResponse, Pop3Response, ProtocolError, SmtpReply

EXPECTED = {
    "Ehlo",
    "ImapReader",
    "ImapResponse",
    "ImapTagger",
    "LineBuffer",
    "Pop3Capabilities",
    "Pop3Reader",
    "Pop3Response",
    "ProtocolError",
    "SmtpReply",
    "SmtpReplyReader",
    "capabilities_from",
    "imap_auth_mechanisms",
    "imap_command",
    "imap_login_disabled",
    "imap_supports_starttls",
    "parse_capa",
    "parse_ehlo",
    "pop3_command",
    "smtp_command",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(protocols.__all__) == EXPECTED
    for name in protocols.__all__:
        assert getattr(protocols, name).__module__.startswith("mailaudit.protocols.")


def test_protocol_error_carries_reason_and_message() -> None:
    error = ProtocolError("line-too-long", "line longer than 10 bytes")
    assert error.reason == "line-too-long"
    assert str(error) == "line longer than 10 bytes"
    assert ProtocolError("bad-response").message == "bad-response"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, str(copy)) == (error.reason, str(error))


@pytest.mark.parametrize(
    "value",
    [
        SmtpReply(code=250, lines=("ok",)),
        Ehlo(hostname="mx", greeting="hi", extensions={}),
        Pop3Response(ok=True, text=""),
        ImapResponse("tagged", "A1", "OK", None, (), "", "A1 OK"),
    ],
)
def test_results_are_frozen(value: object) -> None:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)


@pytest.mark.parametrize(
    "reader", [protocols.SmtpReplyReader, protocols.Pop3Reader, protocols.ImapReader]
)
def test_reader_options_are_keyword_only(reader: type) -> None:
    with pytest.raises(TypeError):
        reader(100)
