"""Networks, Qt-free: the scripting API (load_model), the zoo, what users bring, data, training."""

from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.data.images import InputError
from cnn_viewer.models.load import load_model
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.torchvision_zoo import list_models

__all__ = ["CheckpointError", "InputError", "LoadedModel", "list_models", "load_model"]
