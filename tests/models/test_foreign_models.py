"""Models from other libraries, each checked against that library's own inference with its
own preprocessing: a timm folder written with save_for_hf, timm:NAME, a transformers
classifier written with save_pretrained, an ONNX export of a torchvision model."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from cnn_viewer.cli import main
from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.engine.engine import Engine
from cnn_viewer.models import load_model
from cnn_viewer.models.zoo.loaded import WeightsUnavailable, input_line

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")


def photo(h: int, w: int, seed: int) -> np.ndarray:
    """A varied RGB picture: a colour gradient background, noise, a few shapes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0, 255, 3)
    tilt = rng.uniform(-0.6, 0.6, (2, 3))
    img = base + yy[..., None] * tilt[0] / h * 255 + xx[..., None] * tilt[1] / w * 255
    img += rng.normal(0, 12, (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(4):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(8, min(h, w) // 3)), colour, -1)
        else:
            size = (int(rng.integers(10, w // 2)), int(rng.integers(10, h // 2)))
            cv2.ellipse(img, centre, size, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return img


PHOTOS = [
    photo(h, w, s) for s, (h, w) in enumerate([(240, 320), (300, 300), (480, 360), (97, 211)])
]


def agree(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    """Our end-to-end probabilities against the library's: same top class wherever the
    library's answer is clear, close probabilities everywhere (our resize is OpenCV's,
    theirs PIL's bicubic: pixels differ slightly)."""
    p, q = torch.softmax(ours, -1), torch.softmax(theirs, -1)
    assert float((p - q).abs().max()) < 0.1
    top2 = q.topk(2).values
    if float(top2[0] - top2[1]) > 0.1:
        assert int(p.argmax()) == int(q.argmax())


def ours_logits(model, image: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return model.module(model.preprocess(image))[0]


@pytest.fixture(scope="module")
def timm_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timm") / "lite0-5"
    torch.manual_seed(0)
    module = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=5).eval()
    names = ["mug", "key", "pen", "cup", "box"]
    data = {"input_size": (3, 160, 160), "crop_pct": 0.8, "mean": (0.5, 0.4, 0.3),
            "std": (0.2, 0.25, 0.3), "interpolation": "bicubic", "crop_mode": "center"}  # fmt: skip
    timm.models.save_for_hf(
        module, folder, model_config={"label_names": names}, safe_serialization=True,
        data_config=data,
    )  # fmt: skip
    return folder, module, names


def test_a_timm_folder_loads_offline_with_its_preprocessing_and_names(timm_folder):
    folder, module, names = timm_folder
    model = load_model(str(folder))
    assert model.labels == names and "label_names" in model.labels_source
    prep = model.preprocess
    assert (prep.input_size, prep.resize_short) == ((160, 160), 200)  # floor(160 / 0.8)
    assert prep.mean == (0.5, 0.4, 0.3) and prep.std == (0.2, 0.25, 0.3)
    config = timm.data.resolve_model_data_config(module)
    transform = timm.data.create_transform(**config)
    for image in PHOTOS:
        theirs_x = transform(Image.fromarray(image)).unsqueeze(0)
        with torch.inference_mode():
            theirs = module(theirs_x)[0]
            # the same network: on timm's own tensor the logits are timm's
            assert torch.allclose(model.module(theirs_x)[0], theirs, atol=1e-5)
        agree(ours_logits(model, image), theirs)
    assert input_line(model).startswith("input: short side to 200, centre crop 160x160")


def test_timm_by_name_random_weights_has_blocks_and_imagenet_names():
    model = load_model("timm:resnet18", weights="none")
    assert len(model.labels) == 1000 and model.labels[0] == "tench"
    assert "ImageNet" in model.labels_source
    assert [r for r in model.display_layers if r.startswith("layer")] == [
        f"layer{i}.{j}" for i in range(1, 5) for j in range(2)
    ]
    assert model.cam_layer == "layer4.1"
    assert model.preprocess.resize_short == 235  # timm: floor(224 / 0.95)


def test_timm_pretrained_offline_is_a_plain_message(monkeypatch, tmp_path):
    import cnn_viewer.models.foreign.timm_models as tm

    monkeypatch.setenv("HF_HOME", str(tmp_path))  # nothing cached
    monkeypatch.setattr(tm, "HUB_HOST", "hub.invalid")  # a name that never resolves
    with pytest.raises(WeightsUnavailable) as info:
        load_model("timm:resnet18")
    message = str(info.value)
    assert "pretrained weights for timm:resnet18 are not cached" in message
    assert "--weights none" in message


def test_unknown_timm_name_suggests_close_ones():
    with pytest.raises(ValueError, match="unknown timm model 'resnet1'.*similar: .*resnet1"):
        load_model("timm:resnet1")


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetForImageClassification

    folder = tmp_path_factory.mktemp("hf") / "tiny-resnet"
    labels = {0: "heron", 1: "stork", 2: "crane"}
    config = ResNetConfig(
        embedding_size=16, hidden_sizes=[16, 24, 32, 48], depths=[1, 1, 1, 1],
        num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()},
    )  # fmt: skip
    torch.manual_seed(1)
    model = ResNetForImageClassification(config).eval()
    model.save_pretrained(folder)
    processor = ConvNextImageProcessor(
        size={"shortest_edge": 192}, crop_pct=0.75, image_mean=[0.45, 0.45, 0.4],
        image_std=[0.27, 0.26, 0.28],
    )  # fmt: skip
    processor.save_pretrained(folder)
    return folder, model, processor


def test_a_transformers_folder_loads_with_its_processor_and_id2label(hf_folder):
    folder, hf_model, processor = hf_folder
    model = load_model(str(folder))
    assert model.labels == ["heron", "stork", "crane"]
    assert (model.preprocess.input_size, model.preprocess.resize_short) == ((192, 192), 256)
    assert model.display_layers and all("embedder.embedder." not in r for r in model.display_layers)
    for image in PHOTOS:
        inputs = processor(images=Image.fromarray(image), return_tensors="pt")
        with torch.inference_mode():
            theirs = hf_model(**inputs).logits[0]
            assert torch.allclose(model.module(inputs["pixel_values"])[0], theirs, atol=1e-5)
        agree(ours_logits(model, image), theirs)


def test_a_folder_that_is_neither_says_what_it_needs(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden": 3}))
    with pytest.raises(ValueError, match="neither timm's .* nor transformers'"):
        load_model(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="needs a config.json"):
        load_model(str(empty))


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "resnet18-7.onnx"
    torch.manual_seed(2)
    module = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notes
        torch.onnx.export(
            module, (torch.zeros(1, 3, 128, 128),), str(path), dynamo=False,
            opset_version=17, input_names=["image"], output_names=["logits"],
        )  # fmt: skip
    return path, module


def test_an_onnx_export_gives_the_models_numbers_blocks_and_gradcam(onnx_file):
    path, module = onnx_file
    model = load_model(str(path))
    assert model.input_size == (128, 128) and len(model.labels) == 7
    for image in PHOTOS[:2]:
        x = model.preprocess(image)
        with torch.inference_mode():
            assert torch.allclose(model.module(x), module(x), atol=1e-4)
    rows = model.display_layers
    assert 10 <= len(rows) <= 30, rows
    assert not [r for r in rows if r.split("/")[-1] in ("Relu", "Identity", "Flatten")][:-8]
    assert model.cam_layer in rows
    engine = Engine(model, saliency="gradcam")
    result = engine.process(Frame(1, 0.0, PHOTOS[0], "test"))
    assert result.error is None and result.saliency is not None
    assert float(np.ptp(result.saliency)) > 0


def test_an_onnx_operator_the_converter_lacks_is_named(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Det", ["x"], ["y"])],
        "det",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    path = tmp_path / "det.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ValueError, match="onnx2torch cannot convert this graph.*Det.*Re-export"):
        load_model(str(path))
    path.write_bytes(b"not onnx at all")
    with pytest.raises(ValueError, match="not a readable ONNX file"):
        load_model(str(path))


def test_the_cli_prints_the_input_line_and_labels_source(timm_folder, capsys):
    folder, _, names = timm_folder
    cv2.imwrite(str(folder / "photo.png"), cv2.cvtColor(PHOTOS[1], cv2.COLOR_RGB2BGR))
    assert main(["predict", "--model", str(folder), "--json", str(folder / "photo.png")]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert rows[0]["top"][0]["label"] in names
    assert "input: short side to 200, centre crop 160x160" in err
    assert "labels: the model's config (label_names) (5)" in err
