"""More of the checkpoint corpus: random bytes, zips whose inner pickle is hostile, NaN
weights, files huge for what they declare, symlink loops and pipes. Nothing runs code
without the trust option (a sentinel file a payload would create stays absent), every
refusal names the file and takes under a few seconds.

Real parts: the SmallCNN (digits) and its real state_dict, torch.save archives, safetensors.
"""

from __future__ import annotations

import os
import pickle
import shlex
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from cnn_viewer.models import CheckpointError, load_model
from cnn_viewer.models.checkpoint import save_checkpoint
from cnn_viewer.models.loading.weight_checks import nonfinite_weights
from cnn_viewer.models.zoo.digits import digits_info
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig

REFUSE_S = 3.0  # the longest any refusal may take


class Touch:
    """Unpickling this runs ``touch SENTINEL`` through os.system: a hostile payload."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.sentinel)}",))


@pytest.fixture(scope="module")
def digits_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return SmallCNN(SmallCNNConfig()).eval().state_dict()


@pytest.fixture
def sentinel(tmp_path) -> Path:
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "a hostile pickle ran"


def refused(path: Path, *words: str, model: str = "digits") -> str:
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        load_model(model, checkpoint=path)
    elapsed = time.perf_counter() - t0
    message = str(err.value)
    assert elapsed < REFUSE_S, f"{path.name}: {elapsed:.1f} s to refuse"
    assert str(path) in message, message
    for word in words:
        assert word in message, message
    return message


def rezip(src: Path, dst: Path, replace: dict[str, bytes], extra: dict[str, bytes] = {}) -> Path:  # noqa: B006
    """Copy the zip ``src`` to ``dst``, with some records' bytes replaced (matched by the
    end of their name) and ``extra`` records appended after the record they are named by."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": meant
        for info in zin.infolist():
            data = zin.read(info.filename)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            zout.writestr(info.filename, data)
            for suffix, new in extra.items():
                if info.filename.endswith(suffix):
                    zout.writestr(info.filename, new)  # a second record of that name
    return dst


# ---- code that must never run -------------------------------------------------------------


def test_the_sentinel_is_real_with_trust(tmp_path):
    """With --trust-checkpoint the same file does run its payload: the sentinel can fail."""
    sentinel = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"x": Touch(sentinel)}, path)
    with pytest.raises(CheckpointError):  # runs, then holds no weights
        load_model("digits", checkpoint=path, trust_checkpoint=True)
    assert sentinel.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_zip_whose_inner_pickle_is_hostile(tmp_path, digits_state, sentinel, protocol):
    good = tmp_path / "good.pth"
    torch.save(digits_state, good)
    evil = rezip(
        good, tmp_path / "evil.pth", {"/data.pkl": pickle.dumps(Touch(sentinel), protocol)}
    )
    refused(evil, "refused", "system", "--trust-checkpoint")


def test_zip_with_a_second_hostile_data_pkl(tmp_path, digits_state, sentinel):
    """Two records named data.pkl: whichever a reader takes, nothing runs."""
    good = tmp_path / "good.pth"
    torch.save(digits_state, good)
    payload = pickle.dumps(Touch(sentinel), 2)
    both = rezip(good, tmp_path / "dup.pth", {}, extra={"/data.pkl": payload})
    with pytest.raises(CheckpointError):
        load_model("digits", checkpoint=both)
    first = tmp_path / "first.pth"
    with (
        zipfile.ZipFile(good) as zin,
        zipfile.ZipFile(first, "w") as zout,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", UserWarning)
        for info in zin.infolist():
            if info.filename.endswith("/data.pkl"):
                zout.writestr(info.filename, payload)  # hostile first, good second
            zout.writestr(info.filename, zin.read(info.filename))
    # Python's zipfile and torch's reader both take the last record of a name: the good
    # one loads, the hostile one is never unpickled (the sentinel fixture checks).
    model = load_model("digits", checkpoint=first)
    torch.testing.assert_close(model.module.state_dict()["fc2.weight"], digits_state["fc2.weight"])


def test_hostile_torchscript_constants_and_legacy_pickles(tmp_path, digits_state, sentinel):
    good = tmp_path / "good.pth"
    torch.save(digits_state, good)
    payload = pickle.dumps(Touch(sentinel), 2)
    scripted = rezip(good, tmp_path / "scripted.pt", {}, extra={"/version": b"3\n"})
    with zipfile.ZipFile(scripted, "a") as z:  # looks like TorchScript: refused unopened
        z.writestr("good/constants.pkl", payload)
    refused(scripted, "TorchScript", "--trust-checkpoint")
    legacy = tmp_path / "legacy.pth"
    torch.save(digits_state, legacy, _use_new_zipfile_serialization=False)
    data = legacy.read_bytes()
    hidden = tmp_path / "hidden.pth"  # the payload as the 2nd pickle of a legacy file
    hidden.write_bytes(data[:11] + payload + data[11:])
    refused(hidden)
    (tmp_path / "plain.pkl").write_bytes(payload)
    refused(tmp_path / "plain.pkl", "refused", "system")


def test_random_bytes_in_every_disguise(tmp_path, sentinel):
    rng = np.random.default_rng(8)
    heads = {
        "noise.pth": b"",
        "zip.pth": b"PK\x03\x04",
        "pickle.pth": b"\x80\x02",
        "legacy.pth": b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.",  # torch's magic number
        "st.safetensors": (64).to_bytes(8, "little") + b'{"a": {"dtype": "F32", ',
        "huge_header.safetensors": (2**62).to_bytes(8, "little") + b"{",
    }
    for name, head in heads.items():
        for size in (1, 100, 300_000):
            path = tmp_path / f"{size}_{name}"
            path.write_bytes(head + rng.integers(0, 256, size, np.uint8).tobytes())
            refused(path)


# ---- weights that are not numbers ---------------------------------------------------------


@pytest.mark.parametrize("form", ["state_dict", "own"])
def test_nan_and_inf_weights_are_refused_naming_the_tensors(tmp_path, digits_state, form):
    bad = {k: v.clone() for k, v in digits_state.items()}
    bad["conv2.weight"][0, 0, 0, :2] = float("nan")
    bad["fc1.bias"][3] = float("inf")
    path = tmp_path / ("bad.pth" if form == "state_dict" else "bad.safetensors")
    if form == "state_dict":
        torch.save(bad, path)
    else:
        save_checkpoint(path, bad, digits_info(SmallCNNConfig()))
    message = refused(path, "3 weight values are NaN or infinite", "diverged")
    assert "conv2.weight: 2 NaN" in message and "fc1.bias: 1 Inf" in message
    # the same weights, finite, load and give finite outputs
    torch.save(digits_state, tmp_path / "fine.pth")
    model = load_model("digits", checkpoint=tmp_path / "fine.pth")
    assert nonfinite_weights(model.module) == []
    drawn = np.full((28, 28), 128, np.uint8)
    drawn[6:22, 12:16] = 0  # a stroke: the digit rule needs ink to centre
    x = model.preprocess(drawn)
    assert bool(model.module(x).isfinite().all())


# ---- size, links and special files --------------------------------------------------------


def sparse_tail(path: Path, size: int = 2**31) -> Path:
    """Grow ``path`` to ``size`` bytes (a hole on disk: no space used)."""
    with open(path, "r+b") as f:
        f.truncate(size)
    return path


def test_files_huge_for_what_they_declare(tmp_path, digits_state):
    st = tmp_path / "tail.safetensors"
    save_file(dict(digits_state), str(st))
    refused(sparse_tail(st), "safetensors")  # header covers a few KB of a 2 GiB file
    z = tmp_path / "tail.pth"
    torch.save(digits_state, z)
    refused(sparse_tail(z), "zip")  # its directory is no longer at the end
    own = tmp_path / "own.safetensors"
    save_checkpoint(own, dict(digits_state), digits_info(SmallCNNConfig()))
    refused(sparse_tail(own))
    claim = tmp_path / "claims_1tb.safetensors"  # a header declaring 1 TB of data, 16 bytes given
    header = (
        b'{"w": {"dtype": "F32", "shape": [500000, 500000], "data_offsets": [0, 1000000000000]}}'
    )
    claim.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    refused(claim, "safetensors")


def test_legacy_file_with_a_huge_tail_loads_its_weights_quickly(tmp_path, digits_state):
    """Old torch.save files carry no total length: bytes after the last storage are never
    read, so the weights load (in well under REFUSE_S), and they are the right ones."""
    legacy = tmp_path / "legacy.pth"
    torch.save(digits_state, legacy, _use_new_zipfile_serialization=False)
    sparse_tail(legacy)
    t0 = time.perf_counter()
    model = load_model("digits", checkpoint=legacy)
    assert time.perf_counter() - t0 < REFUSE_S
    torch.testing.assert_close(model.module.state_dict()["fc2.weight"], digits_state["fc2.weight"])


def test_symlink_loop_dangling_link_folder_and_pipe(tmp_path):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    a.symlink_to(b)
    b.symlink_to(a)
    refused(a, "symbolic link", "loop")
    (tmp_path / "dangling.pth").symlink_to(tmp_path / "gone.pth")
    refused(tmp_path / "dangling.pth", "symbolic link")
    refused(tmp_path, "not a regular file")
    fifo = tmp_path / "pipe.pth"
    os.mkfifo(fifo)  # opening a pipe for reading would block forever
    refused(fifo, "not a regular file")
