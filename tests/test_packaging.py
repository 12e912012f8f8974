"""A plain wheel carries the mapped packages (instrumentation/ and processors/ under agentyield)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_plain_wheel_installs_and_imports(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("agentyield-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"agentyield/instrumentation/openai.py", "agentyield/processors/_ledger.py", "agentyield/_api.py"} <= names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    code = "import agentyield.instrumentation.openai as m, agentyield.processors as p; print(m.__file__); print(p.AgentYieldSpanProcessor.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split()
    assert first.startswith(str(target)) and second == "AgentYieldSpanProcessor"
