"""The house rules, checked: one import name, imports only go down and never in a circle,
no private name crosses a module, small modules in small folders, and every package is
installed."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
# Folder in the repository -> the import name it installs as (pyproject.toml's package-dir).
INSTALLED_AS = {"viewer": "cnn_viewer", "models": "cnn_viewer.models"}
MAX_MODULES_PER_FOLDER = 15
MAX_MODULE_LINES = 400


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def package_files() -> list[Path]:
    return sorted(p for folder in INSTALLED_AS for p in (REPO_ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    folder, *rest = path.relative_to(REPO_ROOT).with_suffix("").parts
    parts = [INSTALLED_AS[folder], *rest]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


IMPORT_ALL = """
import importlib, pkgutil, sys
import cnn_viewer.models, cnn_viewer.core
names = []
for pkg in (cnn_viewer.models, cnn_viewer.core):
    names.append(pkg.__name__)
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        names.append(info.name)
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules
            if m.split(".")[0] in ("PyQt6", "PyQt5", "PySide6", "pyqtgraph")
            or m == "cnn_viewer.ui" or m.startswith(("cnn_viewer.ui.", "cnn_viewer.cli")))
print(len(names))
print(",".join(qt))
"""


def test_models_and_core_import_without_qt(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        cwd=tmp_path,  # outside the checkout: the installed package, nothing else
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    count, qt = proc.stdout.splitlines()
    engine_side = [
        p
        for p in package_files()
        if module_name(p).startswith(("cnn_viewer.models", "cnn_viewer.core"))
    ]
    assert int(count) == len(engine_side)  # every module under models and core was imported
    assert qt == "", f"Qt (or ui/cli) modules imported by cnn_viewer.models / core: {qt}"


def test_one_import_name_outside_the_checkout(tmp_path):
    code = (
        "import importlib\n"
        "for name in ('models', 'viewer', 'resources'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        print(name, 'absent')\n"
        "import cnn_viewer, cnn_viewer.models, cnn_viewer.resources\n"
        "print(cnn_viewer.models.load_model('digits').name)\n"
        "print(cnn_viewer.resources.RESOURCES / 'digits.safetensors')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["models absent", "viewer absent", "resources absent"]
    assert lines[3] == "digits"
    assert Path(lines[4]).is_file()


def installed_layout(tmp_path: Path) -> Path:
    """The installed layout as links, for import-linter and mypy (they walk folders, so
    they cannot follow setuptools' package-dir mapping of an editable install)."""
    root = tmp_path / "layout"
    top = root / "cnn_viewer"
    top.mkdir(parents=True)
    for entry in (REPO_ROOT / "viewer").iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    (top / "models").symlink_to(REPO_ROOT / "models")
    (top / "resources").symlink_to(REPO_ROOT / "resources")
    return root


def run_on_layout(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run a checker from inside the installed layout, which is its import path too."""
    root = installed_layout(tmp_path)
    env = dict(clean_env(), PYTHONPATH=str(root), MYPYPATH=str(root))
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_import_contracts_hold(tmp_path):
    exe = Path(sys.executable).with_name("lint-imports")
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert exe, "lint-imports not found: install the test extras (pip install -e .[test])"
    proc = run_on_layout([exe, "--no-cache", str(REPO_ROOT / "pyproject.toml")], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"Analyzed (\d+) files", proc.stdout), proc.stdout
    analysed = int(re.search(r"Analyzed (\d+) files", proc.stdout).group(1))
    assert analysed > len(package_files())  # ours (and resources) + the external modules named
    for name in (
        "layers: cli > ui > core > models",
        "models and core stay Qt-free",
        "no import cycles between siblings",
    ):
        assert f"{name} KEPT" in proc.stdout, proc.stdout
    assert "Contracts: 3 kept, 0 broken" in proc.stdout, proc.stdout


def test_types_check_in_models_and_core(tmp_path):
    config = str(REPO_ROOT / "pyproject.toml")
    proc = run_on_layout([sys.executable, "-m", "mypy", "--config-file", config], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"Success: no issues found in \d+ source files", proc.stdout), proc.stdout


def test_no_private_name_is_imported_from_another_module():
    offences = []
    for path in [*package_files(), *sorted((REPO_ROOT / "tests").rglob("*.py"))]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnn_viewer"):
                offences += [
                    f"{path.relative_to(REPO_ROOT)}:{node.lineno} {a.name} from {node.module}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert offences == [], "give what is shared a public name:\n" + "\n".join(offences)


def test_small_modules_in_small_folders():
    too_long = [
        f"{p.relative_to(REPO_ROOT)}: {n} lines"
        for p in package_files()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert too_long == []
    folders: dict[Path, int] = {}
    for p in package_files():
        if p.name != "__init__.py":
            folders[p.parent] = folders.get(p.parent, 0) + 1
    crowded = {str(f.relative_to(REPO_ROOT)): n for f, n in folders.items()}
    assert {f: n for f, n in crowded.items() if n > MAX_MODULES_PER_FOLDER} == {}, crowded


def test_every_package_folder_is_installed():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {module_name(p) for p in package_files() if p.name == "__init__.py"}
    assert set(config["packages"]) == folders | {"cnn_viewer.resources"}
    assert config["package-dir"] == {
        **{v: k for k, v in INSTALLED_AS.items()},
        "cnn_viewer.resources": "resources",
    }
