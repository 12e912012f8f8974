"""The command's conventions: `--version`, and a demo that names the extra it needs."""

from __future__ import annotations

import subprocess
import sys

import agentyield
from process_util import BIN


def test_version() -> None:
    result = subprocess.run([str(BIN / "agentyield"), "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"agentyield {agentyield.__version__}\n")


def test_demo_without_a_client_sdk_names_the_extra(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `import anthropic` fails exactly as on a plain `pip install agentyield`.
    code = "import sys; sys.modules['anthropic'] = None\nfrom agentyield._cli import main\nraise SystemExit(main(['demo']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "agentyield demo: it drives the real anthropic SDK, not installed here: pip install 'agentyield[demo]'\n"
    assert not (tmp_path / ".agentyield").exists()
