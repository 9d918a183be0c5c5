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
    pred.add_argument(
        "--min-score", type=score_cut, default=0.5, metavar="S",
        help="detectors: list the boxes scoring S or more (0..1, default 0.5)",
    )  # fmt: skip
    pred.add_argument("--json", action="store_true", help="print one JSON array")
    pred.add_argument("images", nargs="+", metavar="IMAGE")


def score_cut(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is no score: give a number from 0 to 1")
    return value


def _answer(model, image, args: argparse.Namespace) -> dict:
    """The JSON fields for one image: "top" for a classifier, "detections" for a
    detector, "segments" for a segmenter (cnn_viewer.models.zoo.task_outputs)."""
    from cnn_viewer.models.zoo.task_outputs import detect, segment

    if model.task == "detect":
        found = detect(model, image, args.min_score)
        for d in found:
            d["score"] = round(d["score"], 6)
            d["box"] = [round(v, 2) for v in d["box"]]
        return {"detections": found, "min_score": args.min_score}
    if model.task == "segment":
        shares = segment(model, image)
        return {"segments": [{**s, "fraction": round(s["fraction"], 6)} for s in shares]}
    top = model.predict(image, k=args.top)
    return {"top": [{"index": i, "label": label, "prob": round(p, 6)} for i, label, p in top]}


def _print_row(row: dict) -> None:
    print(row["file"])
    for d in row.get("detections", []):
        box = ", ".join(f"{v:.0f}" for v in d["box"])
        print(f"  {d['score']:7.2%}  {d['label']}  box [{box}]")
    if "detections" in row and not row["detections"]:
        print(f"  no detection scores {row['min_score']} or more (--min-score S)")
    for s in row.get("segments", []):
        print(f"  {s['fraction']:7.2%}  {s['label']}  (class {s['index']})")
    for t in row.get("top", []):
        # the class number only where the name does not already say it
        same = t["label"] == str(t["index"])
        print(f"  {t['prob']:7.2%}  {t['label']}" + ("" if same else f"  (class {t['index']})"))


def cmd_predict(args: argparse.Namespace) -> int:
    from cnn_viewer.models.data.images import InputError, read_image

    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    rows, failed = [], 0
    # how the input was made and where the names are from, in every row (also on stderr)
    made = {"input": model.preprocess.describe(), "labels_source": model.labels_source}
    if model.task != "classify":  # run at the image's own size: boxes in its pixels
        made["input"] = "the whole image at its own size (the model resizes it inside)"
    for path in args.images:
        try:
            image = read_image(path)
            rows.append({"file": path, **_answer(model, image, args), **made})
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
            _print_row(row)
    return 1 if failed else 0
