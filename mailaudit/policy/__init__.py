"""Pure readers of the DNS mail policy records: SPF (RFC 7208), DMARC (RFC 7489), MTA-STS
(RFC 8461), TLS-RPT (RFC 8460) and DANE TLSA matching (RFC 6698/7671/7672).

Text in, frozen dataclasses out; a syntax error is data on the result (`errors`), never an
exception. No module here does I/O: the gathering lives in `mailaudit.probes.dns_policy`.
"""

__all__: list[str] = []
