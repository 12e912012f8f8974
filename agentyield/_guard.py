"""How agentyield treats its own bugs: never break the host agent, never hide a bug from our tests.

In production an internal error is logged (at most once a minute per place) and swallowed. Under the
test suite (`AGENTYIELD_STRICT=1`, which tests/conftest.py sets) it is raised, so a bug fails a test
instead of disappearing into a log line.
"""

from __future__ import annotations

import logging
import os
import time

__all__ = ["internal_error", "strict"]

logger = logging.getLogger("agentyield")

_LOG_INTERVAL_S = 60.0
_last_logged: dict[str, float] = {}
_MAX_PLACES = 256


def strict() -> bool:
    return os.environ.get("AGENTYIELD_STRICT") == "1"


def internal_error(where: str, exc: BaseException) -> None:
    """Report an exception raised by agentyield's own code at `where`.

    Call this only from an `except` block around telemetry code, never around the user's call.
    """
    if strict():
        raise exc
    now = time.monotonic()
    last = _last_logged.get(where)
    if last is not None and now - last < _LOG_INTERVAL_S:
        return
    if last is None and len(_last_logged) >= _MAX_PLACES:
        _last_logged.clear()
    _last_logged[where] = now
    logger.warning("agentyield internal error in %s; the instrumented call is unaffected", where, exc_info=exc)
