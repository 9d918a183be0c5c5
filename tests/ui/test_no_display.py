"""Without a usable display the viewer says why and exits 1; it never aborts."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_viewer(env_changes: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, env=env,
        timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_no_display_variable():
    done = run_viewer({})
    assert done.returncode == 1
    assert "no display found" in done.stderr and "offscreen" in done.stderr


def test_a_display_that_is_not_there():
    done = run_viewer({"DISPLAY": ":97"})  # no X server answers on :97 here
    assert done.returncode == 1, done.stderr  # not 134 (Qt's abort)
    assert "cannot open a window" in done.stderr and "Traceback" not in done.stderr
