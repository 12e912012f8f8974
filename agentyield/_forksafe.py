"""Locks that survive `fork()` (gunicorn, multiprocessing): a lock held by another thread at the moment of the
fork would stay held forever in the child, so the child gets a fresh one."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

__all__ = ["fork_safe_lock"]


def fork_safe_lock(owner: Any, attribute: str = "_lock") -> threading.Lock:
    """A new lock for `owner.<attribute>`, replaced by a new one in a forked child."""
    if hasattr(os, "register_at_fork"):
        ref = weakref.ref(owner)

        def renew() -> None:
            target = ref()
            if target is not None:
                setattr(target, attribute, threading.Lock())

        os.register_at_fork(after_in_child=renew)
    return threading.Lock()
