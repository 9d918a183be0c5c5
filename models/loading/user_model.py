"""Building a LoadedModel from what a user brings. Qt-free; runs in the loading thread.

Accepted, by what the checkpoint file holds:

- our self-describing .safetensors: rebuilt from its metadata (--labels may rename);
- a state_dict (bare, wrapped in {'state_dict'|'model'|'model_state_dict'|'net': ...},
  'module.' prefixes stripped, or a safetensors file without our metadata) for
  ``--model NAME``: a torchvision model built with ``weights=None`` and the class count
  read from the final layer's weight, or 'digits' (the SmallCNN, its config read from
  the weight shapes); or for ``--model-file FILE:CLASS``: ``CLASS()`` from the user's
  file, then the weights loaded strictly;
- TorchScript or a whole pickled nn.Module, only when trusted (opening them runs code).

Class names: --labels FILE, else the checkpoint's 'labels'/'classes'/'class_names',
else the registry's (ImageNet) categories when the class count matches, else '0'..'N-1'.
"""

from __future__ import annotations

from pathlib import Path

from cnn_viewer.models.loading.checkpoint_files import (
    OpenedCheckpoint,
    is_cnn_viewer_checkpoint,
    open_checkpoint,
)
from cnn_viewer.models.loading.finish import finish_user_model, hw_text, state_dict_of
from cnn_viewer.models.loading.model_files import (
    Overrides,
    import_model_file,
    instantiate,
    load_weights,
    read_labels,
    split_model_file,
)
from cnn_viewer.models.loading.registered_state import (
    digits_from_state,
    is_torchvision_name,
    torchvision_from_state,
)
from cnn_viewer.models.loading.task_state import task_from_state
from cnn_viewer.models.loading.weight_checks import check_finite_weights
from cnn_viewer.models.zoo.detection import task_of
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.own_checkpoint import build_from_checkpoint


def load_user_model(
    name: str, checkpoint, model_file: str | None, overrides: Overrides, trust: bool
) -> LoadedModel:
    """``load_model`` for a checkpoint and/or a model file (see the module docstring).
    Weights with NaN or Inf are refused (cnn_viewer.models.loading.weight_checks says why)."""
    loaded = _build_user_model(name, checkpoint, model_file, overrides, trust)
    if checkpoint is not None:
        check_finite_weights(loaded.module, str(checkpoint))
    return loaded


def _build_user_model(
    name: str, checkpoint, model_file: str | None, overrides: Overrides, trust: bool
) -> LoadedModel:
    if checkpoint is not None and model_file is None and is_cnn_viewer_checkpoint(checkpoint):
        return _own_checkpoint(Path(checkpoint), overrides)
    cls = import_model_file(model_file) if model_file else None  # first: pickles may need it
    opened = open_checkpoint(checkpoint, trust=trust) if checkpoint is not None else None
    if opened is not None and opened.module is not None:
        return _whole_model(opened, name, overrides)
    if cls is not None:
        assert model_file is not None  # cls came from it
        module = instantiate(cls, model_file)
        notes = []
        if opened is None:
            notes.append("random weights (no --checkpoint): predictions are meaningless")
        else:
            load_weights(module, state_dict_of(opened), opened.path, cls.__name__)
        source = str(split_model_file(model_file)[0]) + (f" + {opened.path}" if opened else "")
        return finish_user_model(
            module,
            name=cls.__name__,
            source=source,
            overrides=overrides,
            opened=opened,
            notes=notes,
        )
    # load_model comes here with a checkpoint or a model file, and a model file returned
    assert opened is not None
    if name == "digits":
        return digits_from_state(opened, overrides)
    if task_of(name) is not None:
        return task_from_state(
            name, state_dict_of(opened), str(opened.path), overrides.labels, overrides.input_size
        )
    return torchvision_from_state(name, opened, overrides)


def _own_checkpoint(path: Path, overrides: Overrides) -> LoadedModel:
    loaded = build_from_checkpoint(path)
    if overrides.input_size not in (None, tuple(loaded.input_size)):
        raise ValueError(
            f"{path} is built for input {hw_text(loaded.input_size)}; --input-size "
            f"{hw_text(overrides.input_size)} does not fit it"
        )
    if overrides.channels not in (None, loaded.channels):
        raise ValueError(
            f"{path} is built for {loaded.channels}-channel input; --channels "
            f"{overrides.channels} does not fit it"
        )
    if overrides.labels is not None:
        loaded.labels = read_labels(overrides.labels, len(loaded.labels))
    return loaded


def _whole_model(opened: OpenedCheckpoint, name: str, overrides: Overrides) -> LoadedModel:
    tv_name = name if name != "digits" and is_torchvision_name(name) else None
    assert opened.module is not None  # only called for a file that held a whole module
    return finish_user_model(
        opened.module,
        name=opened.path.stem,
        source=f"{opened.kind}:{opened.path}",
        overrides=overrides,
        opened=opened,
        notes=[f"{opened.kind}, opened as trusted"],
        tv_name=tv_name,
    )
