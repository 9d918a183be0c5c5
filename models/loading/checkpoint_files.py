"""Opening checkpoints made elsewhere: state_dicts, wrapped dicts, safetensors, TorchScript,
pickled models. Qt-free; called from whichever thread loads a model.

Nothing here runs code from a file unless the caller says the file is trusted:

- pickles are first scanned statically (no unpickling) for globals that
  ``weights_only`` would not allow, and such files are refused with a message;
- every ``torch.load`` passes ``weights_only=True`` (False only when trusted), with
  ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` removed from the environment for the call;
- TorchScript archives are recognised from their zip directory and refused before
  torch opens them.

Every failure is a CheckpointError whose message names the file and the problem.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import pickletools
import re
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnn_viewer.models.checkpoint import META_KEY, CheckpointError

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "state")
LABEL_KEYS = ("labels", "classes", "class_names")
STRIPPED_PREFIXES = ("module.", "_orig_mod.")  # DataParallel / DDP, torch.compile
NO_WEIGHTS_ONLY_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
WEIGHTS_ONLY_ENV = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
TRUST_HINT = (
    "If you trust where the file came from, open it with --trust-checkpoint "
    "(trust_checkpoint=True) - never for files from someone you do not trust. "
    "Safer: save a state_dict (torch.save(model.state_dict(), path)) and load it with "
    "--model NAME or --model-file FILE:CLASS."
)
_ENV_LOCK = threading.Lock()


@dataclass
class OpenedCheckpoint:
    """What a file held. Exactly one of ``state_dict`` and ``module`` is set.

    ``kind``: 'state_dict' (torch.save of a dict), 'safetensors', 'torchscript' or
    'pickled model'. ``labels``: class names the file carried, if any.
    """

    path: Path
    kind: str
    state_dict: dict[str, torch.Tensor] | None = None
    module: nn.Module | None = None
    labels: list[str] | None = None


def _short(items, limit: int = 5) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def _head(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _is_safetensors_head(head: bytes) -> bool:
    """safetensors: 8-byte little-endian header length, then a JSON object."""
    if len(head) < 9:
        return False
    size = int.from_bytes(head[:8], "little")
    return 1 < size < 100_000_000 and head[8:9] == b"{"


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        if path.is_symlink():  # is_file() follows links: a loop or a dangling target
            raise CheckpointError(
                f"{path}: a symbolic link that leads nowhere (a loop, or its target is "
                "missing); give the checkpoint file itself"
            )
        if path.exists():  # a folder, a pipe, a device: opening it could block or fail
            raise CheckpointError(f"{path}: not a regular file; give the checkpoint file")
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the checkpoint file is empty")
    return path


def is_cnn_viewer_checkpoint(path: str | Path) -> bool:
    """True for a safetensors file whose header carries our metadata (reads the header only)."""
    try:
        path = Path(path)
        if not path.is_file() or not _is_safetensors_head(_head(path)):
            return False
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        return META_KEY in (header.get("__metadata__") or {})
    except (OSError, ValueError, AttributeError):
        return False


def open_checkpoint(path: str | Path, *, trust: bool = False) -> OpenedCheckpoint:
    """Open any checkpoint form we accept; CheckpointError if it is unusable or refused."""
    path = _check_file(path)
    head = _head(path)
    if head[:4] == b"PK\x03\x04":  # torch.save zip format or TorchScript
        if _is_torchscript(path):
            return _open_torchscript(path, trust)
        return _interpret(_torch_load(path, trust), path)
    if _is_safetensors_head(head) or path.suffix == ".safetensors":
        return _open_safetensors(path)
    return _interpret(_torch_load(path, trust), path)  # legacy torch.save, or a plain pickle


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(
            f"{path}: damaged or truncated: its zip archive cannot be read ({exc})"
        ) from None
    return any(n.split("/", 1)[-1] == "constants.pkl" for n in names)


def _refusal(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: refused: opening it could run code ({why}). {TRUST_HINT}")


def _open_torchscript(path: Path, trust: bool) -> OpenedCheckpoint:
    if not trust:
        raise _refusal(path, "it is a TorchScript archive, which holds a program")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated"
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure of a bad archive is a bad file
        raise CheckpointError(f"{path}: TorchScript archive could not be loaded ({exc})") from None
    return OpenedCheckpoint(path, "torchscript", module=module)


def _open_safetensors(path: Path) -> OpenedCheckpoint:
    from safetensors import safe_open

    try:
        tensors: dict[str, torch.Tensor] = {}
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for key in f.keys():
                tensors[key] = f.get_tensor(key)
    except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError, ValueError, ...
        raise CheckpointError(
            f"{path}: not a readable safetensors file, maybe truncated (safetensors said: {exc})"
        ) from None
    labels = None
    for key in LABEL_KEYS:
        with contextlib.suppress(ValueError, TypeError):
            labels = labels or _label_list(json.loads(meta.get(key, "null")))
    return OpenedCheckpoint(path, "safetensors", state_dict=_strip_prefixes(tensors), labels=labels)


# ---- torch.load, safely ----------------------------------------------------------------


@contextlib.contextmanager
def _load_env() -> Iterator[None]:
    """Remove TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD while torch.load runs (then put it back).

    torch 2.14 only honours it when weights_only is not passed, and we always pass it;
    removing it guards versions that honour it regardless, and avoids torch's error
    when it is set together with TORCH_FORCE_WEIGHTS_ONLY_LOAD.
    """
    with _ENV_LOCK:
        saved = os.environ.pop(NO_WEIGHTS_ONLY_ENV, None)
        try:
            yield
        finally:
            if saved is not None:
                os.environ[NO_WEIGHTS_ONLY_ENV] = saved


def _torch_load(path: Path, trust: bool):
    if not trust:
        unsafe = unsafe_globals(path)
        if unsafe:
            raise _refusal(path, f"it is a pickle that calls {_short(sorted(unsafe))}")
    try:
        with _load_env():
            return torch.load(str(path), map_location="cpu", weights_only=not trust, mmap=False)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        blocked = re.findall(r"GLOBAL (\S+) (?:was not an allowed global|whose module)", message)
        blocked += re.findall(r"reduce for unrecognized function (.+?)(?: which|$)", message)
        if blocked and not trust:
            raise _refusal(path, f"it is a pickle that calls {_short(blocked)}") from None
        if blocked:  # trusted, yet the weights-only unpickler ran: the environment forces it
            raise CheckpointError(
                f"{path}: needs full unpickling ({_short(blocked)}), but {WEIGHTS_ONLY_ENV} is "
                "set in the environment, which forbids it"
            ) from None
        raise _damaged(path, exc) from None
    except Exception as exc:  # noqa: BLE001 - EOF, zip, RuntimeError, ... all mean a bad file
        if trust and isinstance(exc, (ModuleNotFoundError, AttributeError, ImportError)):
            raise CheckpointError(
                f"{path}: the pickled model needs code that cannot be imported ({exc}); "
                "pass the file that defines it with --model-file, or save a state_dict"
            ) from None
        raise _damaged(path, exc) from None


def _damaged(path: Path, exc: BaseException) -> CheckpointError:
    text = str(exc).split("WeightsUnpickler error:")[-1].strip()  # skip torch's advice
    detail = text.splitlines()[0][:200] if text else "no details"
    return CheckpointError(
        f"{path}: not a readable PyTorch checkpoint - damaged, truncated or another format "
        f"({type(exc).__name__}: {detail})"
    )


def unsafe_globals(path: str | Path) -> set[str]:
    """Globals in the file's pickles that weights_only would not allow; read, never run.

    Zip checkpoints: the data.pkl record. Others (legacy torch.save, plain pickles):
    the first few pickles in the file. Unreadable data gives an empty set (the real
    load then reports the damage).
    """
    from torch import _weights_only_unpickler as wou

    allowed = set(wou._get_allowed_globals()) | set(wou._get_user_allowed_globals())
    found: set[str] = set()
    try:
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":
                with zipfile.ZipFile(f) as z:
                    name = next(
                        (n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"),
                        None,
                    )
                    streams = [io.BytesIO(z.read(name))] if name else []
            else:
                f.seek(0)
                streams = [io.BytesIO(f.read(64 * 1024 * 1024))]
        for stream in streams:
            for _ in range(6):  # legacy format: magic, protocol, sys info, object, keys
                if not _scan_pickle(stream, found):
                    break
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError):
        pass
    return {g for g in found if g not in allowed}


def _py3_name(module: str, name: str = "") -> str:
    """'__builtin__ set' (protocol 2, as torch.save writes) -> 'builtins.set', as unpickling
    (and torch's weights-only unpickler) maps it."""
    from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

    if (module, name) in NAME_MAPPING:
        module, name = NAME_MAPPING[(module, name)]
    else:
        module = IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


def _scan_pickle(stream: io.BytesIO, found: set[str]) -> bool:
    """Add the globals of the next pickle in ``stream`` to ``found``; False when none is left.

    Follows strings through the memo so protocol-4 STACK_GLOBAL names are seen too.
    """
    strings: list[str] = []
    memo: dict[Any, object] = {}  # memo index -> value (genops types op args as Any | None)
    last: object = None
    try:
        for op, arg, _pos in pickletools.genops(stream):
            name = op.name
            if name in ("GLOBAL", "INST"):
                found.add(_py3_name(*str(arg).split(" ", 1)))
            elif name == "STACK_GLOBAL":
                found.add(".".join(strings[-2:]) if len(strings) >= 2 else "<unknown global>")
            elif name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if name == "MEMOIZE" else arg] = last
                continue
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                last = memo.get(arg)
                if isinstance(last, str):
                    strings.append(last)
                continue
            last = arg if isinstance(arg, str) and ("UNICODE" in name or "STRING" in name) else None
            if isinstance(last, str):
                strings.append(last)
    except (ValueError, EOFError, UnicodeDecodeError, KeyError):
        return False
    return True


# ---- what the file held ----------------------------------------------------------------


def _label_list(value) -> list[str] | None:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    if isinstance(value, dict) and value and all(isinstance(v, int) for v in value.values()):
        return [str(k) for k, _ in sorted(value.items(), key=lambda kv: kv[1])]  # class_to_idx
    return None


def _strip_prefixes(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in STRIPPED_PREFIXES:
        if tensors and all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix) :]: v for k, v in tensors.items()}
    return tensors


def _tensors_only(d: dict) -> dict[str, torch.Tensor] | None:
    tensors = {str(k): v for k, v in d.items() if isinstance(v, torch.Tensor)}
    return tensors if tensors and len(tensors) >= len(d) / 2 else None


def _interpret(obj, path: Path) -> OpenedCheckpoint:
    if isinstance(obj, nn.Module):  # only reachable when trusted
        return OpenedCheckpoint(path, "pickled model", module=obj)
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{path}: holds a {type(obj).__name__}, not weights; expected a state_dict "
            "(name -> tensor) or a dict holding one"
        )
    labels = None
    for key in (*LABEL_KEYS, "class_to_idx"):
        labels = labels or _label_list(obj.get(key))
    tensors = _tensors_only(obj)
    if tensors is None:
        for key in WRAPPER_KEYS:
            value = obj.get(key)
            if isinstance(value, nn.Module):
                return OpenedCheckpoint(path, "pickled model", module=value, labels=labels)
            if isinstance(value, dict) and _tensors_only(value):
                tensors = _tensors_only(value)
                break
    if tensors is None:
        raise CheckpointError(
            f"{path}: a dict without weights (keys: {_short(map(repr, obj))}); expected a "
            f"state_dict or a dict holding one under {_short(map(repr, WRAPPER_KEYS))}"
        )
    return OpenedCheckpoint(path, "state_dict", state_dict=_strip_prefixes(tensors), labels=labels)
