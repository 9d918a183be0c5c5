"""torchvision's classifiers by name: the model list, building one with its weights (or
random ones), and the preprocessing its weights were trained with."""

from __future__ import annotations

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.classifier import finish_classifier
from cnn_viewer.models.zoo.detection import DETECTORS, SEGMENTERS
from cnn_viewer.models.zoo.loaded import LoadedModel
from cnn_viewer.models.zoo.torchvision_weights import build_with_weights


def list_models() -> list[str]:
    """Names load_model accepts: 'digits', torchvision's classification models, then its
    detectors and segmenters (cnn_viewer.models.zoo.detection)."""
    import torchvision

    classifiers = sorted(torchvision.models.list_models(module=torchvision.models))
    return ["digits", *classifiers, *DETECTORS, *SEGMENTERS]


def load_torchvision(
    name: str, weights: str, input_size: tuple[int, int] | None = None
) -> LoadedModel:
    from torchvision.models import get_model, get_model_weights

    try:
        weights_enum = get_model_weights(name)
    except ValueError:
        raise ValueError(
            f"unknown model {name!r}; choose from: {', '.join(list_models())}"
        ) from None
    module, spec, notes = build_with_weights(
        name, weights, weights_enum, lambda entry: get_model(name, weights=entry)
    )
    labels = [str(c) for c in spec.meta.get("categories", [])]
    where = "the weights' metadata" if weights != "none" else "the default weights' metadata"
    return finish_classifier(
        module,
        name=name,
        source=f"torchvision:{name}",
        prep=torchvision_preprocess(spec, input_size),
        names=labels,
        names_source=where,
        notes=notes,
    )


def torchvision_preprocess(
    spec, input_size: tuple[int, int] | None = None, channels: int = 3
) -> Preprocess:
    """Preprocessing from a torchvision weights entry's transforms().

    ``input_size`` (H, W) replaces the crop size; the short side is then resized to
    ``round(max(H, W) * resize / crop)`` (256/224 for most models), so the crop keeps
    the same margin and fits inside the resized image. With ``channels=1`` the
    mean and std are the averages of the three RGB values.
    """
    tf = spec.transforms()
    crop = int(tf.crop_size[0])
    resize = int(tf.resize_size[0])
    size = (crop, crop) if input_size is None else (int(input_size[0]), int(input_size[1]))
    mean, std = tuple(float(m) for m in tf.mean), tuple(float(s) for s in tf.std)
    if channels == 1:
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    return Preprocess(
        input_size=size,
        channels=channels,
        mean=mean,
        std=std,
        resize_short=round(max(size) * resize / crop),
    )
