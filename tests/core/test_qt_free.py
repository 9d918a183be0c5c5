"""The layering rule: models and viewer.core never import PyQt6, pyqtgraph or viewer.ui."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, pkgutil, sys
import models, viewer.core
names = []
for pkg in (models, viewer.core):
    names.append(pkg.__name__)
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        names.append(info.name)
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules
            if m.split(".")[0] in ("PyQt6", "PyQt5", "PySide6", "pyqtgraph") or m == "viewer.ui"
            or m.startswith("viewer.ui."))
print(len(names))
print(",".join(qt))
"""


def test_models_and_core_import_without_qt():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    count, qt = proc.stdout.splitlines()
    assert int(count) >= 15  # every module under models and viewer.core was imported
    assert qt == "", f"Qt modules imported by models / viewer.core: {qt}"


def test_import_linter_contract_holds():
    exe = Path(sys.executable).with_name("lint-imports")
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert exe, "lint-imports not found: install the test extras (pip install -e .[test])"
    proc = subprocess.run(
        [exe, "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", proc.stdout), proc.stdout
    assert "models and viewer.core stay Qt-free KEPT" in proc.stdout
