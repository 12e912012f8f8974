"""How agentyield treats its own bugs: never break the host agent, never hide a bug from our tests.

In production an internal error is swallowed and logged: the first time at each place at WARNING, in one line
with no traceback (the host's logs are not ours to fill), and each time, at most once a minute per place, at
DEBUG with the traceback (for whoever investigates). Under the test suite (`AGENTYIELD_STRICT=1`, which
tests/conftest.py sets) it is raised, so a bug fails a test instead of disappearing into a log line.
A malformed provider response is not an internal error: the readers skip and name the field (`FieldReader`).
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
    if last is None:
        if len(_last_logged) >= _MAX_PLACES:
            _last_logged.clear()
        # The exception's type only: its message can quote the response being read.
        logger.warning(
            "agentyield internal error in %s (%s); the instrumented call is unaffected. "
            "Set the 'agentyield' logger to DEBUG for the traceback.",
            where,
            type(exc).__name__,
        )
    _last_logged[where] = now
    logger.debug("agentyield internal error in %s", where, exc_info=exc)
