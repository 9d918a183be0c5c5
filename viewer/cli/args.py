"""What the subcommands share: model and device options, argument types, load, fail."""

from __future__ import annotations

import argparse
import math
import sys


def add_device_option(p) -> None:
    p.add_argument(
        "--device",
        default="auto",
        help="auto (a GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps",
    )


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    add_device_option(g)
    g.add_argument(
        "--model",
        default="digits",
        help="'digits' (built in), a torchvision model (resnet18), timm:NAME (a timm model, "
        "e.g. timm:efficientnet_lite0), a folder written by timm or transformers, or a "
        "file.onnx",
    )
    g.add_argument(
        "--weights",
        default="default",
        help="'default' (trained/pretrained), 'none' (random init) or a weights name",
    )
    g.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="weights to load: a cnn-viewer .safetensors, or a state_dict (.pth, .pt, "
        ".safetensors; bare or under 'state_dict'/'model') for --model or --model-file",
    )
    g.add_argument(
        "--model-file",
        default=None,
        metavar="FILE:CLASS",
        help="your own model code: CLASS() from the Python file FILE (runs that file)",
    )
    g.add_argument(
        "--labels",
        default=None,
        metavar="FILE",
        help="class names, one per line; as many as the model has outputs",
    )
    g.add_argument(
        "--input-size",
        default=None,
        type=input_size,
        metavar="HxW",
        help="input height x width, e.g. 224x224 or 224, where the checkpoint does not say it "
        "(the same as --crop: the centre crop is the network's input)",
    )
    g.add_argument(
        "--resize",
        default=None,
        type=_prep_type("resize"),
        metavar="N|HxW",
        help="N: resize the short side to N, then crop the centre (--crop or the input "
        "size); HxW: stretch to HxW, then crop the centre (default: the model's own)",
    )
    g.add_argument(
        "--crop",
        default=None,
        type=_prep_type("crop"),
        metavar="HxW",
        help="the centre crop the network sees, i.e. its input size (like --input-size)",
    )
    g.add_argument(
        "--mean",
        default=None,
        type=_prep_type("mean"),
        metavar="R,G,B",
        help="normalisation mean per channel, of 0..1 pixel values (one value for gray models)",
    )
    g.add_argument(
        "--std",
        default=None,
        type=_prep_type("std"),
        metavar="R,G,B",
        help="normalisation std per channel (positive; one value for gray models); the "
        "input is (pixel / 255 - mean) / std",
    )
    g.add_argument(
        "--channels",
        default=None,
        type=int,
        choices=(1, 3),
        help="input channels (1 gray, 3 RGB) where the weights do not say it",
    )
    g.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that run code when opened (TorchScript, pickled "
        "models); only for files you trust",
    )


LAYERS_HELP = (
    "the layers to show, as named by `cnn-viewer layers` (e.g. layer1.0,layer4.1,fc); "
    "default: the model's blocks in forward order"
)


def layer_names(text: str) -> tuple[str, ...]:
    """--layers NAME,NAME,...: the names, checked against the model once it is loaded
    (``checked_layers``)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give layer names separated by commas, e.g. conv1,layer1.0"
        )
    return names


def checked_layers(model, names) -> tuple[list[str] | None, str | None]:
    """(names, None) when each is a named module of ``model``, else (None, a message
    naming the unknown ones with the closest names the model has)."""
    from cnn_viewer.models.zoo.layer_choice import check_layer_names

    try:
        return check_layer_names(model.module, list(names)), None
    except ValueError as exc:
        return None, str(exc)


def input_size(text: str) -> tuple[int, int]:
    from cnn_viewer.models.data.preprocess_options import parse_input_size

    try:
        return parse_input_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _prep_type(option: str):
    """An argparse type for --resize / --crop / --mean / --std (a bad value exits with 2)."""
    from cnn_viewer.models.data import preprocess_options as po

    parse = {
        "resize": po.parse_resize,
        "crop": po.parse_crop,
        "mean": lambda text: po.parse_values(text, "--mean"),
        "std": lambda text: po.parse_values(text, "--std"),
    }[option]

    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = option  # argparse names the option's type in its messages
    return convert


def model_options(args: argparse.Namespace):
    """ModelOptions from the parsed model options (the flags are named as its fields)."""
    from dataclasses import fields

    from cnn_viewer.core.options import ModelOptions

    return ModelOptions(**{f.name: getattr(args, f.name) for f in fields(ModelOptions)})


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def class_index(text: str, labels: list[str], option: str) -> int:
    """A class index from '7' or a label name (any case), given as ``option`` (e.g.
    '--class'); ValueError names the option and the valid indices."""
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(labels):
            raise ValueError(f"{option} {text}: class index must be 0..{len(labels) - 1}")
        return index
    matches = [i for i, name in enumerate(labels) if name.lower() == text.lower()]
    if not matches:
        raise ValueError(
            f"{option} {text!r} is not a class name of this model; give an index "
            f"0..{len(labels) - 1} or a name such as {labels[0]!r}"
        )
    return matches[0]


def fail(message: str) -> int:
    print(f"cnn-viewer: error: {message}", file=sys.stderr)
    return 1


def load_model_from_args(args: argparse.Namespace):
    """Load the model the options name; expected failures become a message, not a traceback."""
    from cnn_viewer.models import CheckpointError
    from cnn_viewer.models.zoo.loaded import WeightsUnavailable, input_line

    options = model_options(args)
    try:
        prefetch_with_bar(options)
        model = options.load()
    except (CheckpointError, WeightsUnavailable, ValueError) as exc:
        return None, str(exc)
    # the one place the cli says how the image becomes the input (stderr: --json stays pure)
    print(input_line(model), file=sys.stderr)
    return model, None


def prefetch_with_bar(options) -> None:
    """Download pretrained weights not yet cached, with a progress bar in the terminal."""
    from cnn_viewer.models.zoo.weights_download import cache_path, fetch, weights_url

    if options.checkpoint or options.model_file:
        return
    url = weights_url(options.model, options.weights)
    if url is None or cache_path(url).is_file():
        return
    from tqdm import tqdm

    with tqdm(unit="B", unit_scale=True, desc=f"downloading {options.model}", leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)

        fetch(url, on_progress=progress)
