"""`cnn-viewer predict` on awkward image files: each gets a result or a one-line message
naming the file, the others go on, and the exit status says that some failed."""

from __future__ import annotations

import json
import time

import pytest

from cnn_viewer.cli.commands import main
from cnn_viewer.models.data.images import InputError, read_image, to_rgb
from tests.image_corpus import write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def test_read_image_on_the_corpus(corpus):
    for name, case in corpus.items():
        if case.error is None:
            image = read_image(str(case.path))
            assert image.shape == case.shape, name
            continue
        with pytest.raises(InputError, match=case.error):
            to_rgb(read_image(str(case.path)))  # 1x1 reads, then is refused as too small


def test_cmyk_jpeg_and_16_bit_png_keep_their_values(corpus):
    cmyk = read_image(str(corpus["cmyk.jpg"].path))
    assert cmyk[5, 5].min() > 240  # white paper stays white (not inverted CMYK)
    assert cmyk[60, 45].max() < 40  # the black stroke stays black
    deep = read_image(str(corpus["deep16.png"].path))
    assert deep.dtype.name == "uint16" and deep.max() == 65535 and deep.min() == 0


def test_predict_reports_each_bad_file_and_goes_on(corpus, capsys):
    paths = [str(c.path) for c in corpus.values()]
    t0 = time.perf_counter()
    code = main(["predict", "--as-drawing", "--json", *paths])
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert code == 1  # some files failed
    assert "Traceback" not in err
    rows = {row["file"]: row for row in json.loads(out)}
    assert list(rows) == paths  # one row per file, in order
    for name, case in corpus.items():
        row = rows[str(case.path)]
        if case.error is None:
            assert "top" in row and len(row["top"]) == 5, (name, row)
        else:
            assert case.error in row["error"] and str(case.path) in row["error"], row
            assert "\n" not in row["error"]
    # A "1" drawn dark on white, in a 16-bit PNG, a CMYK JPEG and the GIF's first frame.
    for name in ("deep16.png", "cmyk.jpg", "animated.gif"):
        assert rows[str(corpus[name].path)]["top"][0]["label"] == "1", name
    assert elapsed < 20


def test_predict_text_output_names_the_problem(corpus, capsys):
    bad = corpus["text.png"].path
    assert main(["predict", str(bad), str(corpus["cmyk.jpg"].path)]) == 1
    out, err = capsys.readouterr()
    assert f"{bad}: error: not an image file" in err
    assert err.count(str(bad)) == 1  # named once, not "FILE: error: FILE: ..."
    assert str(corpus["cmyk.jpg"].path) in out and "Traceback" not in err
