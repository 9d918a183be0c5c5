"""`cnn-viewer predict`: the top classes for image files, as text or one JSON array."""

from __future__ import annotations

import argparse
import json
import sys

from cnn_viewer.cli.args import add_model_options, fail, load_model_from_args, positive


def add_parser(sub) -> None:
    pred = sub.add_parser("predict", help="print the top classes for image files")
    add_model_options(pred)
    pred.add_argument(
        "--as-drawing",
        action="store_true",
        help="preprocess like the drawing pad (MNIST-style centring)",
    )
    pred.add_argument("--top", type=positive, default=5, help="how many classes (default 5)")
    pred.add_argument("--json", action="store_true", help="print one JSON array")
    pred.add_argument("images", nargs="+", metavar="IMAGE")


def cmd_predict(args: argparse.Namespace) -> int:
    from cnn_viewer.models.data.drawing import center_digit
    from cnn_viewer.models.data.images import InputError, read_image

    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    rows, failed = [], 0
    for path in args.images:
        try:
            image = read_image(path)
            if args.as_drawing:
                digit = center_digit(image)
                if digit is None:
                    raise InputError(f"{path}: no ink found; the drawing looks empty")
                image = digit
            top = model.predict(image, k=args.top)
            rows.append(
                {
                    "file": path,
                    "top": [
                        {"index": i, "label": label, "prob": round(p, 6)} for i, label, p in top
                    ],
                }
            )
        except InputError as exc:
            failed += 1
            message = str(exc)
            rows.append(
                {"file": path, "error": message if path in message else f"{path}: {message}"}
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            if "error" in row:
                print(f"{row['file']}: error: {row['error']}", file=sys.stderr)
                continue
            print(row["file"])
            for t in row["top"]:
                print(f"  {t['prob']:7.2%}  {t['label']}  (class {t['index']})")
    return 1 if failed else 0
