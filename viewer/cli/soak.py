"""`python -m cnn_viewer.cli.soak`: run the full window on a looping video for a set time and
report whether memory grows (after warm-up it must grow by at most 20 MB).

    QT_QPA_PLATFORM=offscreen python -m cnn_viewer.cli.soak --seconds 600 --warmup 60
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cnn_viewer.cli.args import add_model_options, fail, load_model_from_args, positive


def add_parser(sub) -> None:
    """`soak` in cnn-viewer's parser, for --help; cnn_viewer.cli.commands hands its arguments to
    main() here, which parses them with build_parser()."""
    sub.add_parser(
        "soak", help="run the full window on a looping video and watch its memory", add_help=False
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cnn-viewer soak",
        description="Run the full window on a looping video and sample its memory.",
    )
    add_model_options(p)
    p.add_argument(
        "--source",
        default=None,
        help="a video PATH (looped); default: a 640x480 clip of moving shapes written to a "
        "temporary folder",
    )
    p.add_argument("--seconds", type=float, default=600.0, help="how long (default 600)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds not counted (default 60)")
    p.add_argument("--every", type=float, default=1.0, help="seconds between memory samples")
    p.add_argument("--threads", type=positive, default=None, help="torch threads")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def write_clip(path: Path, frames: int = 300, size: tuple[int, int] = (640, 480)) -> Path:
    """A looping test clip: a bright disc and a bar moving over a dark background."""
    import cv2
    import numpy as np

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path}")
    for i in range(frames):
        frame = np.full((h, w, 3), 25, np.uint8)
        x = int((w - 80) * (0.5 + 0.5 * np.sin(i / 15))) + 40
        cv2.circle(frame, (x, h // 2), 60, (40, 200, 250), -1)
        cv2.rectangle(frame, (w // 2 - 10, (4 * i) % h), (w // 2 + 10, (4 * i) % h + 90),
                      (250, 250, 250), -1)  # fmt: skip
        writer.write(frame)
    writer.release()
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seconds <= args.warmup:
        return fail(f"--seconds {args.seconds:g} must be longer than --warmup {args.warmup:g}")
    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    with tempfile.TemporaryDirectory(prefix="cnn-viewer-soak-") as tmp:
        source = args.source or str(write_clip(Path(tmp) / "soak.avi"))
        from cnn_viewer.ui.app import make_app
        from cnn_viewer.ui.bench.soak_run import run_soak
        from cnn_viewer.ui.features import build_window

        app = make_app()
        window = build_window(model, threads=args.threads)
        window.show()
        if not window.set_source(source):
            window.shutdown()
            return fail(f"cannot open {source}: {window.last_error}")

        def progress(t: float, mb: float, shown: int) -> None:
            if not args.quiet and int(t) % 60 == 0 and t >= 1:
                print(f"  {t:5.0f} s  RSS {mb:7.1f} MB  results {shown}", file=sys.stderr)

        try:
            summary = run_soak(window, args.seconds, args.warmup, args.every, progress)
        finally:
            window.close()
            window.shutdown()
            app.processEvents()
    if args.json:
        print(json.dumps(summary))
    else:
        s = summary
        print(
            f"soak: {s['seconds']:.0f} s, {s['model']} on {s['source']}: "
            f"{s['results_shown']} results ({s['results_per_s']}/s)\n"
            f"  RSS after {s['warmup_s']:.0f} s warm-up {s['baseline_mb']} MB, at the end "
            f"{s['end_mb']} MB: growth {s['growth_mb']:+.1f} MB (limit {s['limit_mb']:.0f}), "
            f"peak {s['peak_above_baseline_mb']:+.1f} MB, trend "
            f"{s['slope_mb_per_10min']:+.1f} MB / 10 min -> {'OK' if s['ok'] else 'GROWS'}"
        )
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
