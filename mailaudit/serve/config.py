"""What the operator chose on the command line, in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailaudit.serve.limits import Rate


@dataclass(frozen=True)
class ServeConfig:
    # Per client address: discoveries, and every other request.
    discovery_rate: Rate = field(default_factory=lambda: Rate(burst=5, per_minute=6))
    page_rate: Rate = field(default_factory=lambda: Rate(burst=60, per_minute=120))
    # Discoveries running at once, whoever asks; a request waits this long for a slot, then
    # gets 503.
    max_concurrent_discoveries: int = 8
    slot_wait_s: float = 2.0
    # Everything one discovery may take, sources and probes together.
    discovery_deadline_s: float = 40.0
    # A finished answer is reused for the same address for this long (a help desk's page is
    # reloaded; the same provider must not be probed again for every reload).
    reuse_s: float = 60.0
    # Downloads refer to a finished answer by an unguessable token for this long.
    keep_s: float = 900.0
    max_kept: int = 512
    # Bytes of a form body; an address is at most 254 characters.
    max_body_bytes: int = 16_384
