"""A user's own project, as most PyTorch repositories are laid out (its own `models`,
`viewer` and `utils` packages), loads through --model-file: cnn-viewer's one import name
(cnn_viewer) shadows none of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

CLI = [str(Path(sys.executable).with_name("cnn-viewer"))]  # the installed command
PACKAGES = {
    "models/__init__.py": "",
    "models/mynet.py": """
        import torch
        from torch import nn

        from utils.blocks import conv_block
        from viewer.names import CLASSES


        class MyNet(nn.Module):
            def __init__(self, classes: int = len(CLASSES)):
                super().__init__()
                self.features = nn.Sequential(conv_block(3, 6), conv_block(6, 12))
                self.head = nn.Linear(12 * 8 * 8, classes)

            def forward(self, x):
                return self.head(torch.flatten(self.features(x), 1))
        """,
    "utils/__init__.py": "",
    "utils/blocks.py": """
        from torch import nn


        def conv_block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        """,
    # a package named like ours, holding something else entirely
    "viewer/__init__.py": "",
    "viewer/names.py": "CLASSES = ['cat', 'dog', 'fox', 'owl']\n",
    "net.py": "from models.mynet import MyNet  # noqa: F401 - the class --model-file names\n",
}
# The project's own inference, with its own preprocessing (0..1, ImageNet mean and std,
# the image already at the 32x32 input size), as its README would show it.
REFERENCE = """
import json, sys
import cv2, numpy as np, torch
from models.mynet import MyNet
from viewer.names import CLASSES
net = MyNet().eval()
net.load_state_dict(torch.load(sys.argv[1], weights_only=True))
rows = []
for image in sys.argv[2:]:
    rgb = cv2.cvtColor(cv2.imread(image), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    x = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    x = torch.from_numpy(x.transpose(2, 0, 1)).float()[None]
    with torch.no_grad():
        p = torch.softmax(net(x), 1)[0]
    rows.append([[CLASSES[i], float(p[i])] for i in torch.argsort(p, descending=True)])
print(json.dumps(rows))
"""
IMAGES = ("red.png", "teal.png")


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("user") / "proj"
    for rel, text in PACKAGES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (root / "labels.txt").write_text("cat\ndog\nfox\nowl\n")
    # Weights saved by the project itself, from its own code.
    save = (
        "import torch\nfrom models.mynet import MyNet\ntorch.manual_seed(3)\n"
        "torch.save(MyNet().state_dict(), 'weights.pth')\n"
    )
    proc = run([sys.executable, "-c", save], root)
    assert proc.returncode == 0, proc.stderr
    rng = np.random.default_rng(5)
    for name, colour in zip(IMAGES, ((40, 40, 220), (170, 160, 20)), strict=True):
        img = np.full((32, 32, 3), colour, np.uint8)
        cv2.circle(img, tuple(int(v) for v in rng.integers(8, 24, 2)), 6, (250, 250, 250), -1)
        cv2.imwrite(str(root / name), img)
    return root


@pytest.fixture(scope="module")
def reference(project) -> list:
    """The project's own top classes for each of IMAGES (one run, shared by the tests)."""
    proc = run([sys.executable, "-c", REFERENCE, "weights.pth", *IMAGES], project)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_user_project_with_its_own_models_viewer_utils_loads(project, reference, where):
    cwd = project.parent if where == "outside" else project
    spec = str(project / "net.py") + ":MyNet"
    args = [*CLI, "predict", "--model-file", spec, "--checkpoint", str(project / "weights.pth")]
    args += ["--labels", str(project / "labels.txt"), "--input-size", "32x32", "--top", "4"]
    images = [str(project / name) for name in IMAGES]
    proc = run([*args, "--json", *images], cwd)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(reference) == len(IMAGES) and reference[0] != reference[1]
    for row, expected in zip(rows, reference, strict=True):
        got = [[t["label"], t["prob"]] for t in row["top"]]
        assert [g[0] for g in got] == [e[0] for e in expected]
        assert np.allclose([g[1] for g in got], [e[1] for e in expected], atol=1e-4)
