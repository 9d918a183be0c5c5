"""The scripting API's entry point: ``load_model(name)`` -> LoadedModel.

Names: ``digits`` (the shipped digit CNN), any torchvision classification model
(``resnet18``, ``mobilenet_v3_small``, ...), ``timm:NAME``, a model folder (timm's or
transformers') and an .onnx file (cnn_viewer.models.foreign). Our own checkpoints load
by path; other checkpoints and model files go through cnn_viewer.models.loading.
"""

from __future__ import annotations

from pathlib import Path

from cnn_viewer.models.foreign.dispatch import foreign_kind, load_foreign
from cnn_viewer.models.loading.model_files import Overrides, read_labels
from cnn_viewer.models.loading.user_model import load_user_model
from cnn_viewer.models.zoo.detection import load_task_model, task_of
from cnn_viewer.models.zoo.digits import load_digits
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.torchvision_zoo import load_torchvision


def load_model(
    name: str = "digits",
    weights: str = "default",
    checkpoint: str | Path | None = None,
    *,
    model_file: str | None = None,
    labels: str | Path | None = None,
    input_size: tuple[int, int] | int | str | None = None,
    channels: int | None = None,
    trust_checkpoint: bool = False,
    resize: int | tuple[int, int] | str | None = None,
    crop: tuple[int, int] | int | str | None = None,
    mean: tuple[float, ...] | str | None = None,
    std: tuple[float, ...] | str | None = None,
) -> LoadedModel:
    """Load a model by registry name, from a checkpoint, or from the user's model file.

    ``weights``: 'default' (trained / pretrained), 'none' (random init), or a
    torchvision weights enum member name; ignored when a checkpoint gives the weights.
    ``checkpoint``: our .safetensors, a state_dict (bare or wrapped; .pth/.pt/.safetensors)
    for ``name`` or for ``model_file``, or - only with ``trust_checkpoint`` - TorchScript
    or a pickled nn.Module (opening those runs code). See cnn_viewer.models.loading.user_model.
    ``model_file``: 'path/net.py:ClassName'; the class is built with no arguments.
    ``labels``: a text file, one class name per line; its count must match the outputs.
    ``input_size``: (H, W), an int or 'HxW'; ``channels``: 1 or 3 - used where the
    checkpoint does not say (a torchvision model takes 1 channel only when its weights do).
    ``resize``: N (the short side to N, then the centre crop) or 'HxW' (stretch to HxW, then
    the centre crop); ``crop``: 'HxW', the centre crop = the network's input size (the same
    as ``input_size``; give one); ``mean`` / ``std``: 'R,G,B' (one value for gray models).
    These four are laid over the model's own preprocessing (torchvision weights' transforms,
    our checkpoint's metadata, or stretch + ImageNet/MNIST statistics for user models).

    Raises CheckpointError (a ValueError) for unusable or refused files, ValueError for bad
    options, WeightsUnavailable when pretrained weights cannot be had.
    """
    over = Overrides.make(
        labels=labels,
        input_size=input_size,
        channels=channels,
        resize=resize,
        crop=crop,
        mean=mean,
        std=std,
    )
    if checkpoint is None and model_file is None and Path(name).suffix == ".safetensors":
        checkpoint, name = name, "digits"
    user = checkpoint is not None or model_file is not None
    if user:  # these read --labels themselves
        loaded = load_user_model(name, checkpoint, model_file, over, trust_checkpoint)
    elif name == "digits":
        loaded = load_digits(weights, over.input_size, over.channels)
    elif task_of(name) is not None:
        loaded = load_task_model(name, weights, over.input_size)
    elif foreign_kind(name) is not None:
        loaded = load_foreign(name, weights, over)
    else:
        if over.channels == 1:
            raise ValueError(
                f"--channels 1: {name} takes 3-channel (RGB) input; it takes 1 channel only "
                "with weights whose first conv does (--checkpoint FILE with such a state_dict)"
            )
        loaded = load_torchvision(name, weights, over.input_size)
    if over.labels is not None:
        if not user:
            loaded.labels = read_labels(over.labels, len(loaded.labels))
        loaded.labels_source = f"--labels {over.labels.name}"
    if not over.prep.empty:
        loaded.preprocess = over.prep.apply(loaded.preprocess)
        # the input line says how the input is made now; drop the loader's stale note
        loaded.notes = [n for n in loaded.notes if not n.startswith("input ")]
    return loaded
