"""Exit is prompt when the Collector is down, and says what could not be delivered.

The "Collector" is a real listening socket that never answers: connections are accepted by the kernel and
requests hang, the worst case for the SDK exporters' timeouts and retries (29-41 s at exit before).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from process_util import AGENT, agent_env


def test_exit_is_bounded_and_says_what_was_not_delivered(tmp_path: Path) -> None:
    with socket.socket() as collector:
        collector.bind(("127.0.0.1", 0))
        collector.listen(64)
        endpoint = f"http://127.0.0.1:{collector.getsockname()[1]}"
        env = agent_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, AGENTYIELD_SHUTDOWN_TIMEOUT="2")
        agent = subprocess.Popen([sys.executable, AGENT, "--instrument", "--calls", "3"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
        assert agent.stdout is not None and agent.stdout.readline() == "done\n"  # the calls were unaffected
        done = time.monotonic()
        _, stderr = agent.communicate(timeout=60)
        took = time.monotonic() - done
    assert agent.returncode == 0, stderr
    assert took < 15, f"exit took {took:.1f} s"  # 2 s of shutdown plus interpreter exit; not half a minute
    spans, metrics = stderr.splitlines()
    assert spans == f"agentyield: at exit, could not deliver {3 + 1} spans to {endpoint}/v1/traces within 2 s (AGENTYIELD_SHUTDOWN_TIMEOUT)"
    # The meter provider's shutdown is given the same 2 s as its export timeout: its failed export ends right at
    # the deadline, so whether the timeout is named as the cause depends on which side of it the thread ends.
    assert metrics in (f"agentyield: at exit, could not deliver 1 metric exports to {endpoint}/v1/metrics{why}"
                       for why in ("", " within 2 s (AGENTYIELD_SHUTDOWN_TIMEOUT)")), metrics
