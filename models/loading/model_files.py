"""The user's side of model loading: their own model file, class names from a labels
file, and overrides of input size and channels. Qt-free.

``--model-file net.py:Net`` imports ``net.py`` by path (code the user chose to run)
and instantiates ``Net()`` with no arguments.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.data.preprocess_options import PrepOptions, parse_input_size

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# Sizes tried, in order, when a model does not say what it takes (first that runs wins).
PROBE_SIZES = (224, 28, 32, 64, 96, 128, 256, 299, 384)
_IMPORTED: dict[str, str] = {}  # module name -> file, for the files imported here


class ModelFileError(ValueError):
    """A --model-file that cannot give a model; the message names the file and why."""


@dataclass(frozen=True)
class Overrides:
    """What the user says about the model where its checkpoint is silent.

    ``input_size``: (height, width). ``channels``: 1 or 3. ``labels``: a text file
    with one class name per line (blank lines ignored). ``prep``: --resize / --crop /
    --mean / --std, laid over the model's own preprocessing after it loads; --crop is the
    network's input size, so it also arrives here as ``input_size``.
    """

    labels: Path | None = None
    input_size: tuple[int, int] | None = None
    channels: int | None = None
    prep: PrepOptions = PrepOptions()

    @classmethod
    def make(
        cls,
        labels=None,
        input_size=None,
        channels=None,
        resize=None,
        crop=None,
        mean=None,
        std=None,
    ) -> Overrides:
        if channels is not None and channels not in (1, 3):
            raise ValueError(f"channels {channels!r}: use 1 (grayscale) or 3 (RGB)")
        prep = PrepOptions.make(resize=resize, crop=crop, mean=mean, std=std)
        size = parse_input_size(input_size)
        if prep.crop is not None and size not in (None, prep.crop):
            raise ValueError(
                f"--crop {prep.crop[0]}x{prep.crop[1]} and --input-size {size[0]}x{size[1]} "
                "disagree: the centre crop is the network's input size; give one of them"
            )
        return cls(
            labels=Path(labels) if labels is not None else None,
            input_size=prep.crop or size,
            channels=None if channels is None else int(channels),
            prep=prep,
        )

    @property
    def empty(self) -> bool:
        return (
            self.labels is None
            and self.input_size is None
            and self.channels is None
            and self.prep.empty
        )


def read_labels(path: str | Path, count: int | None = None) -> list[str]:
    """Class names from a text file, one per line, blank lines ignored.

    ``count``: the number of outputs the model has; a file with another number of
    names is a ValueError naming the file and both counts.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such labels file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the labels file ({exc})") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: the labels file has no class names (one per line)")
    if count is not None and len(names) != count:
        raise ValueError(
            f"{path}: {len(names)} class names, but the model has {count} outputs; "
            "give one name per output class, in class-index order"
        )
    return names


def choose_labels(
    count: int,
    overrides: Overrides,
    from_checkpoint: list[str] | None,
    source: str,
    fallback: list[str] | None = None,
) -> tuple[list[str], str]:
    """Class names for ``count`` outputs: labels file, else the checkpoint's, else
    ``fallback`` (e.g. ImageNet categories) when its count fits, else '0'..'N-1'.
    Returns (names, where they came from)."""
    if overrides.labels is not None:
        return read_labels(overrides.labels, count), f"class names from {overrides.labels}"
    if from_checkpoint is not None:
        if len(from_checkpoint) != count:
            raise CheckpointError(
                f"{source}: the file lists {len(from_checkpoint)} class names for a model with "
                f"{count} outputs"
            )
        return list(from_checkpoint), f"class names from {source}"
    if fallback is not None and len(fallback) == count:
        return list(fallback), ""
    return [str(i) for i in range(count)], f"{count} classes, numbered 0..{count - 1}" + (
        " (give names with --labels FILE)" if count else ""
    )


# ---- the user's model file ---------------------------------------------------------------


def split_model_file(spec: str) -> tuple[Path, str | None]:
    """'path/net.py:Net' -> (path, 'Net'); 'net.py' -> (path, None). Splits at the last ':'."""
    head, sep, tail = str(spec).rpartition(":")
    if sep and tail and tail.isidentifier() and head:
        return Path(head), tail
    return Path(spec), None


def import_model_file(spec: str) -> type[nn.Module]:
    """Import the file in ``spec`` ('FILE:CLASS' or 'FILE') and return the model class.

    Without CLASS the file must define exactly one nn.Module subclass. The file is
    imported under its stem (so pickles naming ``net.Net`` find it) unless another
    module already has that name; its folder is on sys.path while it imports.
    """
    path, class_name = split_model_file(spec)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file (expected FILE.py:CLASS)")
    path = path.resolve()
    name = path.stem if path.stem.isidentifier() else "user_model"
    if name in sys.modules and _IMPORTED.get(name) != str(path):
        name = f"_cnn_viewer_user_{abs(hash(str(path))):x}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ModelFileError(f"{path}: cannot be imported as Python (is it a .py file?)")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for --json
            module_spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ModelFileError(f"{path}: importing it failed: {_where(exc, path)}") from None
    finally:
        if sys.path and sys.path[0] == str(path.parent):
            sys.path.pop(0)
    _IMPORTED[name] = str(path)
    classes = {
        n: c
        for n, c in vars(module).items()
        if inspect.isclass(c) and issubclass(c, nn.Module) and c.__module__ == name
    }
    if class_name is None:
        if len(classes) != 1:
            raise ModelFileError(
                f"{path}: name the model class as {path.name}:CLASS ({found_classes(module, name)})"
            )
        class_name = next(iter(classes))
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ModelFileError(f"{path}: has no {class_name!r} ({found_classes(module, name)})")
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ModelFileError(f"{path}: {class_name} is not a torch.nn.Module subclass")
    return cls


def found_classes(module, name: str) -> str:
    """'nn.Module classes defined: A, B; imported: C (from pkg.mod)', torch's own left out."""
    defined, imported = [], []
    for n, c in sorted(vars(module).items()):
        if not (inspect.isclass(c) and issubclass(c, nn.Module)):
            continue
        if c.__module__ == name:
            defined.append(n)
        elif not c.__module__.startswith(("torch.", "torchvision.")):
            imported.append(f"{n} (from {c.__module__})")
    return (
        f"nn.Module classes defined: {', '.join(defined) or 'none'}; "
        f"imported: {', '.join(imported) or 'none'}"
    )


def instantiate(cls: type[nn.Module], spec: str) -> nn.Module:
    """``cls()`` with no arguments; a failure names the file and the error."""
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the user's prints: not on stdout
            return cls()
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise ModelFileError(
            f"{split_model_file(spec)[0]}: {cls.__name__}() failed: {_where(exc)} "
            "(the class must build with no arguments; give its parameters defaults)"
        ) from None


def _where(exc: BaseException, path: Path | None = None) -> str:
    """'ErrorType: message (line N)' with the line in ``path`` where it was raised."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if path is None or Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    at = f" (line {line})" if line is not None and path is not None else ""
    return f"{type(exc).__name__}: {exc}{at}"


# ---- fitting weights and probing ------------------------------------------------------------


def first_conv_channels(module: nn.Module) -> int | None:
    """Input channels of the first 4-D weight (the first conv) in parameter order."""
    for _name, p in module.named_parameters():
        if p.ndim == 4:
            return int(p.shape[1])
    return None


def fit_keys(expected: set[str], tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop one leading 'name.' shared by every key (e.g. Lightning's 'model.') when that
    makes the keys match the model; otherwise return ``tensors`` unchanged."""
    if set(tensors) == expected or not tensors:
        return tensors
    heads = {k.split(".", 1)[0] for k in tensors}
    if len(heads) == 1 and all("." in k for k in tensors):
        cut = len(next(iter(heads))) + 1
        stripped = {k[cut:]: v for k, v in tensors.items()}
        if len(set(stripped) & expected) > len(set(tensors) & expected):
            return stripped
    return tensors


def load_weights(module: nn.Module, tensors: dict[str, torch.Tensor], path, arch: str) -> None:
    """Strictly load ``tensors``; CheckpointError naming the file, the architecture and the
    keys or shapes that do not fit (at most 5 of each)."""
    from cnn_viewer.models.zoo.loaded import load_state

    tensors = fit_keys(set(module.state_dict()), tensors)
    try:
        load_state(module, tensors, path)
    except CheckpointError as exc:
        message = str(exc).replace("the architecture", arch, 1)
        raise CheckpointError(
            f"{message}. Is the file for another model? Pick it with --model NAME or "
            "--model-file FILE:CLASS"
        ) from None
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: weights do not load into {arch} ({exc})") from None


def output_count(module: nn.Module, channels: int, size: tuple[int, int]) -> int:
    """Classes the module outputs for a 1 x channels x H x W zero input; raises if it cannot
    run there or its output is not N x classes."""
    with torch.inference_mode():
        out = module(torch.zeros(1, channels, *size))
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model's output is {shape}, not 1 x classes (class scores)")
    return int(out.shape[1])


def probe_input(
    module: nn.Module, channels: int, size: tuple[int, int] | None, label: str
) -> tuple[tuple[int, int], int]:
    """(input size, class count): ``size`` if given, else the first of PROBE_SIZES the
    module runs on. ValueError naming ``label`` when none works."""
    sizes = [size] if size is not None else [(s, s) for s in PROBE_SIZES]
    error: Exception | None = None
    for hw in sizes:
        try:
            return hw, output_count(module, channels, hw)
        except Exception as exc:  # noqa: BLE001 - the model's forward may raise anything
            error = exc
    tried = (
        f"{size[0]}x{size[1]}"
        if size
        else "the usual sizes " + ", ".join(str(s) for s in PROBE_SIZES)
    )
    raise ValueError(
        f"{label} does not run on a {channels}-channel input at {tried} "
        f"({type(error).__name__}: {str(error)[:200]}); set the size with --input-size HxW"
    )
