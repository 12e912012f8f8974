"""A small agent run as its own process by the tests of how users start agentyield.

It makes `--calls` chat calls (the mock's usage: prompt 2006 of which 1920 cached, completion 300, on
gpt-4o-2024-08-06) inside one task that yields one accepted patch, prints `done` and then sleeps `--sleep`
seconds (so a test can signal it while it idles, as a long-lived agent does).

usage: python agent_process.py [--instrument] [--calls N] [--sleep S] [--exit-code N] [--sigterm-exit N]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import agentyield  # noqa: E402
from openai_mock import OpenAIMock, clients  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instrument", action="store_true", help="call agentyield.instrument() (the one line)")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--sigterm-exit", type=int, help="the host's own SIGTERM handler (installed first): exit with this code")
    args = parser.parse_args()
    if args.sigterm_exit is not None:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(args.sigterm_exit))
    if args.instrument:
        agentyield.instrument()
    sync, _ = clients(OpenAIMock())
    with agentyield.task("fix-bug", agent="coder") as task:
        for _ in range(args.calls):
            sync.chat.completions.create(model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "go"}])
        task.artifact("patch", accepted=True)
    print("done", flush=True)
    time.sleep(args.sleep)
    return args.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
