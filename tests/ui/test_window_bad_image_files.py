"""The window opened on awkward image files: a usable one is shown and classified, a bad
one is named with its problem in the source caption and status bar, and the window goes on
(the next file, and the pad, still work)."""

from __future__ import annotations

import pytest

from tests.image_corpus import write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def test_each_file_gives_a_picture_or_a_message(qtbot, window, corpus):
    for name, case in corpus.items():
        assert window.set_source(str(case.path)), name
        if case.error is None:
            qtbot.waitUntil(
                lambda n=name: (
                    window.last_result is not None
                    and n in window.last_result.source
                    and bool(window.last_result.top)
                ),
                timeout=5000,
            )
            assert window.last_result.frame_image.shape[:2] == case.shape[:2]
            continue
        qtbot.waitUntil(lambda: window.source.status().state == "unavailable", timeout=2000)
        window._update_status()  # the status timer's job (twice a second)
        caption = window.source_panel.frame_view.caption.text()
        assert case.error in caption and name in caption, caption
        assert "(unavailable)" in window.status_text.text()
    assert window.set_source("pad")
    window.draw_example()  # the pad still works (a result of the last file may come first)
    qtbot.waitUntil(
        lambda: window.last_result.source == "pad" and bool(window.last_result.top),
        timeout=5000,
    )


def test_a_folder_of_mixed_files_skips_the_bad_ones_with_a_note(qtbot, window, corpus):
    folder = next(iter(corpus.values())).path.parent
    assert window.set_source(str(folder))
    src = window.source
    assert src.count == len(corpus)
    seen = set()
    for _ in range(src.count):
        qtbot.waitUntil(lambda: src.status().state == "running", timeout=2000)
        seen.add(src.paths[src.index].name)
        src.next()
    usable = {n for n, c in corpus.items() if c.error is None}
    assert seen == usable  # every bad file was stepped over
    src.go_to([p.name for p in src.paths].index("empty.png"))
    assert "empty.png: the file is empty" in src.status().message  # ... and named
