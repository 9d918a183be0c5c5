"""Shared fixtures: real models (loaded once), real drawn digits, the MNIST test split."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.models import load_model

REPO_ROOT = Path(__file__).resolve().parent.parent


def mnist_folder() -> Path:
    """$CNN_VIEWER_MNIST, else ../shared/data/mnist beside the repository."""
    env = os.environ.get("CNN_VIEWER_MNIST")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mnist"


def no_hooks_left(module: torch.nn.Module) -> list[str]:
    """Names of submodules that still carry any hook (empty list: clean)."""
    return [
        name or "<root>"
        for name, m in module.named_modules()
        if m._forward_hooks
        or m._forward_pre_hooks
        or m._backward_hooks
        or getattr(m, "_backward_pre_hooks", None)
    ]


# Strokes of a few digits on a 0..1 unit square (x right, y down); drawn at any size.
STROKES = {
    "1": [[(0.5, 0.0), (0.5, 1.0)]],
    "7": [[(0.0, 0.0), (0.65, 0.0), (0.25, 1.0)]],
    "0": "ellipse",
}


def draw_digit(
    digit: str,
    canvas_hw: tuple[int, int],
    box: tuple[int, int, int],
    *,
    dark_on_light: bool = False,
    thickness: float = 0.15,
) -> np.ndarray:
    """A digit drawn with OpenCV on a canvas: ``box`` = (x, y, height) of its top-left corner
    and height in pixels; stroke thickness is a fraction of the height. HxW uint8."""
    h, w = canvas_hw
    x0, y0, size = box
    img = np.zeros((h, w), np.uint8)
    t = max(1, round(thickness * size))
    if STROKES[digit] == "ellipse":
        centre = (round(x0 + 0.3 * size), round(y0 + 0.5 * size))
        cv2.ellipse(
            img, centre, (round(0.3 * size), round(0.5 * size)), 0, 0, 360, 255, t, cv2.LINE_AA
        )
    else:
        for stroke in STROKES[digit]:
            pts = [(round(x0 + px * size), round(y0 + py * size)) for px, py in stroke]
            for a, b in zip(pts, pts[1:], strict=False):
                cv2.line(img, a, b, 255, t, cv2.LINE_AA)
    return 255 - img if dark_on_light else img


@pytest.fixture(scope="session")
def digit_drawer():
    return draw_digit


@pytest.fixture(scope="session")
def hooks_left():
    return no_hooks_left


@pytest.fixture(scope="session")
def digits_model():
    """The shipped digit CNN (resources/digits.safetensors)."""
    return load_model("digits")


@pytest.fixture(scope="session")
def resnet18_model():
    torch.manual_seed(0)
    return load_model("resnet18", weights="none")


@pytest.fixture(scope="session")
def mobilenet_model():
    torch.manual_seed(1)
    return load_model("mobilenet_v3_small", weights="none")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = mnist_folder()
    if not any(folder.glob("*-idx?-ubyte*")):
        pytest.skip(
            f"MNIST IDX files not found in {folder} (set CNN_VIEWER_MNIST to a folder "
            "holding t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz)"
        )
    return folder


@pytest.fixture(scope="session")
def mnist_data(mnist_dir):
    from cnn_viewer.models.data.mnist import load_mnist_folder

    return load_mnist_folder(mnist_dir)


@pytest.fixture
def torch_threads():
    """Workers set the torch thread count; give the rest of the suite its own back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one torch thread is fastest (and fair to a shared 2-core machine);
    the count is put back after the module. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")`` or by name."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No cached weights (an empty TORCH_HOME) and no way out: every download goes to a
    proxy on a closed local port, so it fails as it does with no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "torch"


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's saved window settings (cnn_viewer.ui.session.settings)."""
    monkeypatch.setenv("CNN_VIEWER_SETTINGS", str(tmp_path_factory.mktemp("settings") / "s.ini"))


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run tests marked slow (soak, 20x races, the bigger torchvision architectures)",
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked slow run only with --run-slow or CNN_VIEWER_SLOW=1."""
    if config.getoption("--run-slow") or os.environ.get("CNN_VIEWER_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or CNN_VIEWER_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
