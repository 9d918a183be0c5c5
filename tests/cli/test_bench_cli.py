"""`cnn-viewer bench` prints one JSON object with exactly the promised keys."""

import json

import pytest
import torch

from cnn_viewer.cli.commands import main
from cnn_viewer.core.bench.headless import KEYS


def test_bench_json_has_exactly_the_keys(capsys, torch_threads):
    code = main(["bench", "--frames", "8", "--json", "--threads", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0
    figures = json.loads(out)
    assert list(figures) == list(KEYS)
    assert isinstance(figures["stage_ms"], dict) and figures["stage_ms"]["forward"] > 0
    assert "device: cpu" in err  # the device is reported, outside the JSON object


def test_bench_refuses_what_it_cannot_run(capsys, tmp_path):
    image = tmp_path / "still.png"
    image.write_bytes(b"")
    assert main(["bench", "--source", str(image), "--frames", "2"]) == 1
    assert "video" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["bench", "--device", "cuda", "--frames", "2"]) == 1
        err = capsys.readouterr().err
        assert "no CUDA GPU" in err and "Traceback" not in err


@pytest.mark.slow  # about 15 s: ten warm-up frames of an eager detector with random weights
def test_bench_a_detector_reports_the_same_keys(capsys, torch_threads):
    argv = ["bench", "--model", "ssdlite320_mobilenet_v3_large", "--weights", "none"]
    code = main([*argv, "--frames", "2", "--json", "--threads", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    figures = json.loads(out)
    assert list(figures) == list(KEYS)
    assert figures["stage_ms"]["forward"] > 0 and figures["pipeline_fps"] > 0
    assert "not traced" in err  # boxes and NMS run eager, and it says so
