"""Offscreen runs print no Qt plugin chatter; every other Qt message still reaches stderr.
Real processes: pytest-qt replaces the message handler inside tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from PyQt6.QtCore import qWarning
from cnn_viewer.ui.app import make_app
app = make_app()
qWarning("This plugin does not support propagateSizeHints()")
qWarning("a message worth keeping")
qWarning("This plugin does not support propagateSizeHints() - and more")
"""


def offscreen_env() -> dict[str, str]:
    env = os.environ.copy()  # keeps the private $CNN_VIEWER_SETTINGS of the autouse fixture
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_only_the_exact_chatter_is_dropped():
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=offscreen_env(),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert "a message worth keeping" in lines
    assert "This plugin does not support propagateSizeHints() - and more" in lines
    assert "This plugin does not support propagateSizeHints()" not in lines


def test_a_screenshot_run_prints_no_qt_chatter(tmp_path):
    out = tmp_path / "s.png"
    cmd = [sys.executable, "main.py", "--draw", "3", "--screenshot", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, env=offscreen_env(), capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"saved {out}"
    assert "propagateSizeHints" not in run.stderr, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
