"""Networks, Qt-free: registry, the built-in digit CNN, checkpoints, data, training."""

from models.checkpoint import CheckpointError
from models.images import InputError
from models.registry import LoadedModel, list_models, load_model

__all__ = ["CheckpointError", "InputError", "LoadedModel", "list_models", "load_model"]
