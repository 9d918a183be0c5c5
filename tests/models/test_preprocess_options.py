"""--resize / --crop / --mean / --std laid over a model's own preprocessing, checked against
torchvision's own transforms (v2 Resize + CenterCrop + Normalize, and the weights'
transforms()) on varied images; bad values refused with messages naming the option; the
studio's checkpoints keep what training used; every loader says where its names came from."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from cnn_viewer.models import load_model
from cnn_viewer.models.checkpoint import read_checkpoint, save_checkpoint
from cnn_viewer.models.data.images import Preprocess, read_image
from cnn_viewer.models.data.preprocess_options import PrepOptions
from cnn_viewer.models.zoo.loaded import input_line
from tests.shapes_data import write_shapes

pytestmark = pytest.mark.usefixtures("one_thread")

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def scene(h: int, w: int, seed: int) -> np.ndarray:
    """An RGB uint8 picture with gradients, discs, text and sensor-like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], -1) * 255
    img = np.ascontiguousarray(ramp.astype(np.uint8))
    for _ in range(8):
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, centre, int(rng.integers(5, min(h, w) // 3)), colour, -1)
    cv2.putText(
        img, "cnn", (w // 4, h // 2), cv2.FONT_HERSHEY_SIMPLEX, min(h, w) / 100, (255,) * 3, 3
    )
    noisy = img.astype(np.float32) + rng.normal(0, 8, img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _images() -> list[np.ndarray]:
    """Landscape, portrait, a wide strip, a small square (upscaled), and a photograph when
    matplotlib's sample data is installed."""
    images = [scene(300, 400, 0), scene(480, 360, 1), scene(200, 600, 2), scene(150, 150, 3)]
    try:
        import matplotlib.cbook as cbook

        images.append(read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    except (ImportError, OSError, ValueError):
        pass
    return images


IMAGES = _images()


def reference(image, resize, crop, mean, std) -> torch.Tensor:
    tf = v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(resize, antialias=True),
            v2.CenterCrop(crop),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )
    return tf(image)


@pytest.mark.parametrize(
    ("resize", "crop", "mean", "std"),
    [
        (256, (224, 224), *IMAGENET),
        (232, (224, 224), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ((256, 256), (224, 224), (127 / 255,) * 3, (128 / 255,) * 3),
        (160, (128, 160), (0.2, 0.3, 0.4), (0.3, 0.2, 0.1)),
    ],
)
def test_options_make_the_tensor_torchvision_makes(resize, crop, mean, std):
    loaded = load_model(
        "mobilenet_v3_small",
        weights="none",
        resize="x".join(map(str, resize)) if isinstance(resize, tuple) else resize,
        crop=f"{crop[0]}x{crop[1]}",
        mean=",".join(map(str, mean)),
        std=",".join(map(str, std)),
    )
    prep = loaded.preprocess
    assert prep.input_size == crop and prep.mean == pytest.approx(mean)
    assert prep.std == pytest.approx(std)
    for image in IMAGES:
        ours = prep(image)[0]
        ref = reference(image, resize, crop, mean, std)
        assert ours.shape == ref.shape
        # OpenCV's resize is not torchvision's antialias filter: same pixels, small errors.
        # In 0..1 pixel units: a crop from 240 instead of 256, or a mean off by 0.05, is over
        # 0.04 here; stretching instead of cropping over 0.13.
        error = (ours - ref) * torch.tensor(std).view(3, 1, 1)
        assert float(error.abs().mean()) < 0.03, image.shape


@pytest.mark.parametrize("shape", [(300, 400), (480, 360), (512, 640), (201, 603)])
def test_crop_box_is_torchvision_geometry(shape):
    """The source region Resize(N) + CenterCrop sees, from torchvision's own size rules."""
    h, w = shape
    prep = PrepOptions.make(resize=256, crop=224).apply(Preprocess((224, 224), 3, *IMAGENET))
    short, long = min(h, w), max(h, w)
    new_long = int(256 * long / short)
    new_h, new_w = (256, new_long) if h <= w else (new_long, 256)
    top, left = int(round((new_h - 224) / 2)), int(round((new_w - 224) / 2))
    sy, sx = new_h / h, new_w / w
    expected = (left / sx, top / sy, (left + 224) / sx, (top + 224) / sy)
    got = prep.crop_box(h, w)
    if shape == (512, 640):  # a whole-number scale: exactly the same pixels
        assert got == tuple(round(v) for v in expected) == (96, 32, 544, 480)
    assert got == pytest.approx(expected, abs=1 / min(sx, sy) + 1)


def test_torchvision_defaults_are_the_weights_transforms():
    from torchvision.models import ResNet18_Weights

    loaded = load_model("resnet18", weights="none")
    tf = ResNet18_Weights.DEFAULT.transforms()
    prep = loaded.preprocess
    assert prep.resize_short == tf.resize_size[0] and prep.input_size == tuple(tf.crop_size * 2)
    assert prep.mean == pytest.approx(tf.mean) and prep.std == pytest.approx(tf.std)
    for image in IMAGES[:3]:
        ref = tf(torch.from_numpy(image).permute(2, 0, 1))
        error = (prep(image)[0] - ref) * torch.tensor(tf.std).view(3, 1, 1)
        assert float(error.abs().mean()) < 0.03  # 0..1 pixel units, as above
    assert input_line(loaded) == (
        "input: short side to 256, centre crop 224x224, RGB, mean 0.485,0.456,0.406 "
        "std 0.229,0.224,0.225; labels: the default weights' metadata (1000)"
    )
    # the options win over the weights' own description, and --crop is --input-size
    same = load_model("resnet18", weights="none", input_size=192).preprocess
    assert load_model("resnet18", weights="none", crop="192x192").preprocess == same
    assert same.resize_short == round(192 * 256 / 224)  # the crop keeps its margin


def test_stretch_then_crop_and_gray_models():
    digits = load_model("digits", resize="40x32", mean="0.5", std="0.25")
    prep = digits.preprocess
    assert (prep.resize_hw, prep.input_size, prep.mean, prep.std) == (
        (40, 32),
        (28, 28),
        (0.5,),
        (0.25,),
    )
    assert prep.crop_box(400, 320) == (20, 60, 300, 340)  # both scales 0.1: 280 x 280
    assert input_line(digits).startswith(
        "input: stretched to 40x32, centre crop 28x28, gray, mean 0.5 std 0.25; labels: "
    )
    image = scene(400, 320, 5)
    small = cv2.resize(image, (32, 40), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    want = (gray[6:34, 2:30].astype(np.float32) / 255 - 0.5) / 0.25
    assert np.abs(prep(image)[0, 0].numpy() - want).max() < 1e-5  # the same 10x10 blocks
    # one value for every RGB channel
    rgb = load_model("mobilenet_v3_small", weights="none", mean="0.5", std="0.5").preprocess
    assert rgb.mean == (0.5, 0.5, 0.5) and rgb.std == (0.5, 0.5, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"resize": "0"}, "--resize '0': each side must be between 2 and 4096"),
        ({"resize": "256x"}, "--resize '256x': give HEIGHTxWIDTH such as 224x224, or one number"),
        ({"crop": "a"}, "--crop 'a'"),
        ({"std": "0.2,0,0.2"}, "--std '0.2,0,0.2': a std must be positive"),
        ({"std": "-1"}, "a std must be positive"),
        ({"mean": "0.1,nan,0.2"}, "--mean '0.1,nan,0.2': every value must be a finite"),
        ({"mean": "1,2,x"}, "--mean '1,2,x': give numbers separated by commas"),
        ({"mean": "0.1,0.2"}, "--mean 0.1,0.2: 2 values for a RGB (3-channel) model"),
        ({"resize": 200, "crop": 224}, "--resize 200: the centre crop 224x224"),
        ({"resize": 200}, "give --resize 224 or more, or a smaller --crop"),
        ({"resize": "256x200"}, "--resize 256x200: the centre crop 224x224"),
        ({"crop": 200, "input_size": 224}, "--crop 200x200 and --input-size 224x224 disagree"),
    ],
)
def test_bad_values_are_refused_naming_the_option(kwargs, words):
    with pytest.raises(ValueError) as info:
        load_model("resnet18", weights="none", **kwargs)
    assert words in str(info.value)


def test_gray_model_refuses_three_values():
    with pytest.raises(ValueError, match=r"--std 0.2,0.2,0.2: 3 values for a gray"):
        load_model("digits", std="0.2,0.2,0.2")


def test_studio_checkpoints_keep_what_training_used(tmp_path):
    from cnn_viewer.models.training.studio import TrainSettings
    from cnn_viewer.models.training.studio_run import prepare, run, save
    from cnn_viewer.models.zoo.studio_models import ArchOptions

    data = write_shapes(tmp_path / "shapes", per_class=3, size=40)
    for arch, resize in (("mobilenet_v3_small", round(32 * 256 / 224)), ("small", None)):
        options = ArchOptions(arch=arch, channels=[4], input_size=(32, 32), pretrained=False)
        prepared = prepare(data, options, seed=0)
        settings = TrainSettings(epochs=1, batch_size=8)
        outcome = run(prepared, settings)
        path = tmp_path / f"{arch}.safetensors"
        save(path, prepared, outcome, settings)
        tensors, info = read_checkpoint(path)
        assert info.extra.get("resize") == resize
        loaded = load_model(checkpoint=path)
        trained = prepared.built.prep
        assert loaded.preprocess == trained, arch
        assert loaded.labels_source == "the checkpoint's metadata"
        # a file from before 'resize' was recorded loads as it did then
        info.extra.pop("resize", None)
        info.extra["task"] = "shapes"
        old = tmp_path / f"{arch}-old.safetensors"
        save_checkpoint(old, tensors, info)
        before = load_model(checkpoint=old).preprocess
        assert before.resize_short == resize and before.resize_hw is None
    # a recorded stretch-then-crop comes back too
    info.extra["resize"] = [36, 40]
    save_checkpoint(old, tensors, info)
    assert load_model(checkpoint=old).preprocess.resize_hw == (36, 40)


def test_every_loader_says_where_its_names_come_from(tmp_path):
    from torchvision.models import get_model

    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"digit {i}" for i in range(10)))
    assert load_model("digits").labels_source == "the checkpoint's metadata"
    assert load_model("digits", weights="none").labels_source == "the digits 0-9"
    assert load_model("digits", labels=labels).labels_source == "--labels names.txt"
    state = tmp_path / "r18.pth"
    torch.save(get_model("resnet18", weights=None, num_classes=1000).state_dict(), state)
    tv = load_model("resnet18", checkpoint=state)
    assert tv.labels_source == "torchvision's resnet18 categories" and tv.labels[0] == "tench"
    small = tmp_path / "r18-3.pth"
    torch.save(get_model("resnet18", weights=None, num_classes=3).state_dict(), small)
    three = load_model("resnet18", checkpoint=small)
    assert three.labels_source.startswith("numbers 0..2, no names")
    assert input_line(three).endswith("(give them with --labels FILE) (3)")
    net = tmp_path / "net.py"
    net.write_text(
        "from torch import nn\n"
        "class Net(nn.Sequential):\n"
        "    def __init__(self):\n"
        "        super().__init__(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),"
        " nn.Linear(4, 5))\n"
    )
    user = load_model(model_file=f"{net}:Net", resize=40, crop=32, mean="0.5", std="0.5")
    assert user.labels_source.startswith("numbers 0..4")
    assert user.preprocess.describe() == (
        "short side to 40, centre crop 32x32, RGB, mean 0.5,0.5,0.5 std 0.5,0.5,0.5"
    )
    assert not any(n.startswith("input ") for n in user.notes)  # the stale note is gone
