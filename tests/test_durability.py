"""The embedded store survives what processes go through: signals, a full disk, a read-only directory.

Real signals to a real agent process; a real full filesystem and a real read-only one (small tmpfs
mounts, which need root: the project's machines and CI run as root).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from agentyield._otlp_json import JsonLinesWriter
from process_util import AGENT, CALL_COST, agent_env, metric_names, spans


def mount_tmpfs(target: Path, size: str, *options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join((f"size={size}", *options)), "tmpfs", str(target)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot mount a tmpfs on CI: {result.stderr.strip()}")
        pytest.skip(f"a real full or read-only filesystem needs `mount` (root): {result.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB filesystem of its own."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "64k")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte; the filler file frees the space again when removed."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (4096, 1):
            try:
                while True:
                    os.write(fd, b"x" * chunk)
            except OSError as exc:
                assert exc.errno == 28
    finally:
        os.close(fd)
    return filler


def test_a_failed_write_leaves_no_partial_line_and_the_next_starts_fresh(small_disk: Path) -> None:
    writer = JsonLinesWriter(small_disk / "store", "traces")
    first = json.dumps({"resourceSpans": [], "n": 1}) + "\n"
    writer.write([first])
    filler = fill(small_disk)
    big = json.dumps({"resourceSpans": [], "pad": "y" * 20_000}) + "\n"
    with pytest.raises(OSError) as failed:
        writer.write([big])
    assert failed.value.errno == 28  # ENOSPC, from the kernel
    assert writer.path.read_text() == first  # nothing partial stays, nothing written before is lost
    filler.unlink()
    second = json.dumps({"resourceSpans": [], "n": 2}) + "\n"
    writer.write([second])
    assert writer.path.read_text() == first + second


def test_a_line_cut_by_a_crash_is_ended_before_the_next(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, "traces")
    writer.path.write_text('{"resourceSpans": []}\n{"resourceSp')  # a process killed mid-write
    writer.write(['{"resourceSpans": [], "n": 2}\n'])
    assert writer.path.read_text().splitlines() == ['{"resourceSpans": []}', '{"resourceSp', '{"resourceSpans": [], "n": 2}']


def run_agent_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, AGENT, "--instrument", *args], capture_output=True, text=True, timeout=120, env=agent_env(directory))


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("agentyield:")]


def test_full_disk_one_warning_agent_unaffected_nothing_lost(small_disk: Path) -> None:
    store = small_disk / "store"
    store.mkdir()
    earlier = json.dumps({"resourceSpans": [], "earlier": True}) + "\n"
    (store / "traces.jsonl").write_text(earlier)
    fill(small_disk)
    result = run_agent_in(store, "--calls", "3")
    assert (result.returncode, result.stdout) == (0, "done\n"), result.stderr
    said = warnings_in(result.stderr)
    # One warning when writing fails, and at exit what did not arrive; nothing else.
    assert said == [
        f"agentyield: cannot write to {store} (No space left on device); telemetry is dropped until it can be written, the agent is unaffected",
        f"agentyield: at exit, could not deliver {3 + 1} spans and 1 metric exports to {store}",  # 3 calls and their task
    ]
    assert (store / "traces.jsonl").read_text() == earlier


def test_read_only_directory_one_warning_agent_unaffected_nothing_lost(tmp_path: Path) -> None:
    store = tmp_path / "store"
    mount_tmpfs(store, "1m")
    try:
        earlier = json.dumps({"resourceSpans": [], "earlier": True}) + "\n"
        (store / "traces.jsonl").write_text(earlier)
        subprocess.run(["mount", "-o", "remount,ro", str(store)], check=True)
        result = run_agent_in(store)
        assert (result.returncode, result.stdout) == (0, "done\n"), result.stderr
        assert warnings_in(result.stderr) == [
            f"agentyield: cannot write to {store} (Read-only file system); telemetry is dropped until it can be written, the agent is unaffected",
            f"agentyield: at exit, could not deliver {1 + 1} spans and 1 metric exports to {store}",  # 1 call and its task
        ]
        assert (store / "traces.jsonl").read_text() == earlier
    finally:
        subprocess.run(["umount", "-l", str(store)], check=True)


def start_agent(directory: Path, *args: str) -> subprocess.Popen[str]:
    agent = subprocess.Popen([sys.executable, AGENT, "--instrument", "--sleep", "60", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=agent_env(directory))
    assert agent.stdout is not None and agent.stdout.readline() == "done\n"
    return agent


def assert_everything_on_disk(directory: Path, calls: int) -> None:
    chats = [s for s in spans(directory) if s["name"].startswith("chat ")]
    assert [s["attributes"]["agentyield.cost.usd"] for s in chats] == pytest.approx([CALL_COST] * calls, abs=1e-12)
    assert any(s["name"] == "invoke_agent coder" for s in spans(directory))
    assert {"agentyield.artifact.cost.usd", "agentyield.cost.usd"} <= metric_names(directory)


@pytest.mark.parametrize(("signum", "after_s"), [(signal.SIGTERM, 0.3), (signal.SIGTERM, 6.0), (signal.SIGINT, 0.3)])
def test_killed_by_a_signal_after_its_work_leaves_everything_on_disk(tmp_path: Path, signum: int, after_s: float) -> None:
    agent = start_agent(tmp_path, "--calls", "2")
    time.sleep(after_s)
    agent.send_signal(signum)
    _, stderr = agent.communicate(timeout=60)
    # The exit the host would have had: killed by SIGTERM; KeyboardInterrupt for SIGINT, which Python ends by SIGINT.
    assert agent.returncode == -signum, stderr
    assert_everything_on_disk(tmp_path, 2)


def test_the_hosts_own_signal_handler_still_decides_the_exit(tmp_path: Path) -> None:
    agent = start_agent(tmp_path, "--sigterm-exit", "7")
    agent.send_signal(signal.SIGTERM)
    _, stderr = agent.communicate(timeout=60)
    assert agent.returncode == 7, stderr
    assert_everything_on_disk(tmp_path, 1)


def test_the_agents_thread_does_no_file_io(tmp_path: Path) -> None:
    """Serialization and writes of the embedded default happen on background threads (the batch span processor's
    worker, the metric reader's, the exit flush), never on the thread that makes the calls. Every write opens
    the file, so Python's audit hook for `open` sees each one, with the thread that made it."""
    code = f"""
import sys, threading, runpy
opened = []
def hook(event, args):
    if event == "open" and str(args[0]).startswith({str(tmp_path)!r}):
        opened.append(threading.current_thread().name)
sys.addaudithook(hook)
import atexit
atexit.register(lambda: print(sorted(set(opened)), len(opened)))  # runs after agentyield's exit flush
sys.argv = [{AGENT!r}, "--instrument", "--calls", "40"]
try:
    runpy.run_path({AGENT!r}, run_name="__main__")
except SystemExit:
    pass
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=agent_env(tmp_path))
    assert result.returncode == 0, result.stderr
    threads, count = result.stdout.splitlines()[-1].rsplit(" ", 1)
    assert int(count) >= 2 and "MainThread" not in threads, result.stdout
    assert len([s for s in spans(tmp_path) if s["name"].startswith("chat ")]) == 40
