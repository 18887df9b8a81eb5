"""The worker process's side of `mailaudit.net.worker`: read a call, run it, send back its
result, hand freed memory back to the system, repeat.

Standard library only, and not asyncio: everything imported here is carried by every TLS scan
worker (issue 10, item 6: a command's whole process tree stays under 150 MB). The calls' own
modules (sslyze and its adapter) come in with the first call that names them.
"""

from __future__ import annotations

import gc
import pickle
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection

__all__ = ["heap_trimmer", "loaded_modules", "serve"]


def serve(conn: Connection) -> None:
    """The worker's loop: one call at a time until told to stop (an empty message) or the
    parent is gone."""
    # Ctrl-C reaches the whole process group: the parent decides, and kills us on its way out.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    trim = heap_trimmer()
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:  # the parent's "stop"
            return
        # The call's objects are gone when _answer returns, so their heap can go back.
        answer = _answer(data)
        del data
        try:
            conn.send_bytes(answer)
        except OSError:  # the parent is gone
            return
        del answer
        gc.collect()
        trim()


def _answer(data: bytes) -> bytes:
    try:
        fn, args, kwargs = pickle.loads(data)
        return pickle.dumps(("ok", fn(*args, **kwargs)))
    except BaseException as exc:  # reported to the parent, which decides
        message = "".join(traceback.format_exception_only(exc)).strip()
        return pickle.dumps(("error", message))


def heap_trimmer() -> Callable[[], object]:
    """glibc keeps freed heap (in every thread's arena) for reuse; malloc_trim gives it back. An
    sslyze scan frees most of what it took, so this keeps a reused worker at its first scan's
    size. Elsewhere (musl, macOS): nothing."""
    import ctypes

    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: malloc_trim(0)


def loaded_modules() -> list[str]:
    """The names of the modules this process has imported (what a worker carries)."""
    return sorted(sys.modules)
