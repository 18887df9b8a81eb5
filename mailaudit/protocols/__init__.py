"""Sans-I/O protocol core: SMTP, POP3 and IMAP readers and command builders.

Bytes in, replies out, None for "need more data"; no sockets (h11's design). Every reader
raises only `ProtocolError`, whatever it is fed, and caps lines and bytes per reply.
"""

from mailaudit.protocols.buffer import LineBuffer
from mailaudit.protocols.errors import ProtocolError
from mailaudit.protocols.imap import (
    ImapReader,
    ImapResponse,
    ImapTagger,
    capabilities_from,
    imap_auth_mechanisms,
    imap_command,
    imap_login_disabled,
    imap_supports_starttls,
)
from mailaudit.protocols.pop3 import (
    Pop3Capabilities,
    Pop3Reader,
    Pop3Response,
    parse_capa,
    pop3_command,
)
from mailaudit.protocols.smtp import Ehlo, SmtpReply, SmtpReplyReader, parse_ehlo, smtp_command

__all__ = [
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
]
