"""After fork() the child books spans even if another thread of the parent held the ledger's lock."""

from __future__ import annotations

import os
import threading

import pytest

from agentyield.processors import Ledger, PriceBook
from agentyield.processors._records import LLMCallRecord


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_child_gets_fresh_locks() -> None:
    ledger = Ledger(PriceBook())
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ledger._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: the holder thread does not exist here, its lock must not either
        try:
            call = ledger.end_llm(1, LLMCallRecord("openai", "gpt-4o", "gpt-4o", 2006, 300, cache_read_tokens=1920))
            os._exit(0 if call is not None and call.cost is not None else 3)
        except BaseException:
            os._exit(4)
    release.set()
    holder.join(10)
    waited = 0.0
    while True:  # bounded wait: a deadlocked child would never exit
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if waited > 20:
            os.kill(pid, 9)
            pytest.fail("the forked child deadlocked on the ledger's lock")
        threading.Event().wait(0.05)
        waited += 0.05
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
