"""The client SDKs' own warnings reach the caller through agentyield, named at the caller's line.

The Anthropic SDK warns `The model '...' is deprecated` with a `stacklevel` that names its caller. Through
a wrapper that names the wrapper's file instead, and Python's default filter (DeprecationWarning shown
only when triggered in `__main__`) hides it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Callable

from anthropic.resources.messages.messages import DEPRECATED_MODELS

from test_anthropic import json_response, make_client, message

DEPRECATED = next(iter(DEPRECATED_MODELS))
AGENT = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    import agentyield
    if sys.argv[1:] == ["instrumented"]:
        agentyield.instrument()
    from test_anthropic import json_response, make_client, message
    client = make_client("sync", json_response(message()))
    client.messages.create(model={DEPRECATED!r}, max_tokens=5, messages=[{{"role": "user", "content": "hi"}}])
    print("done")
    """
)


def test_deprecation_warning_is_shown_at_the_callers_line_as_without_agentyield(tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    runs = [subprocess.run([sys.executable, str(script), *mode], capture_output=True, text=True, timeout=120, cwd=tmp_path)
            for mode in ([], ["instrumented"])]
    plain, instrumented = runs
    assert plain.returncode == instrumented.returncode == 0, instrumented.stderr
    line = next(n for n, text in enumerate(AGENT.splitlines(), 1) if text.startswith("client.messages.create"))
    assert f"{script}:{line}: DeprecationWarning: The model '{DEPRECATED}' is deprecated" in plain.stderr
    assert instrumented.stderr == plain.stderr


def caught(call: Callable[[], Any]) -> list[tuple[str, int, str]]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [(w.filename, w.lineno, str(w.message)) for w in seen]


def test_the_warning_names_the_same_file_and_line_instrumented(instrument: Callable[..., None]) -> None:
    client = make_client("sync", json_response(message()))

    def call() -> None:
        client.messages.create(model=DEPRECATED, max_tokens=5, messages=[{"role": "user", "content": "hi"}])

    plain = caught(call)
    instrument()
    assert caught(call) == plain
    assert plain[0][:2] == (__file__, call.__code__.co_firstlineno + 1)
