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
        help="accepted for old scripts and ignored: the digit model always centres the "
        "digit like MNIST (either polarity), so a drawing needs no option",
    )
    pred.add_argument("--top", type=positive, default=5, help="how many classes (default 5)")
    pred.add_argument("--json", action="store_true", help="print one JSON array")
    pred.add_argument("images", nargs="+", metavar="IMAGE")


def cmd_predict(args: argparse.Namespace) -> int:
    from cnn_viewer.models.data.images import InputError, read_image

    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    rows, failed = [], 0
    # how the input was made and where the names are from, in every row (also on stderr)
    made = {"input": model.preprocess.describe(), "labels_source": model.labels_source}
    for path in args.images:
        try:
            image = read_image(path)
            top = model.predict(image, k=args.top)
            rows.append(
                {
                    "file": path,
                    "top": [
                        {"index": i, "label": label, "prob": round(p, 6)} for i, label, p in top
                    ],
                    **made,
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
                # "FILE: error: what is wrong", the file named once
                message = row["error"].removeprefix(f"{row['file']}: ")
                print(f"{row['file']}: error: {message}", file=sys.stderr)
                continue
            print(row["file"])
            for t in row["top"]:
                # the class number only where the name does not already say it
                same = t["label"] == str(t["index"])
                print(
                    f"  {t['prob']:7.2%}  {t['label']}"
                    + ("" if same else f"  (class {t['index']})")
                )
    return 1 if failed else 0
