"""`cnn-viewer visualize`: the image a class, channel or unit responds to most, as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnn_viewer.cli.args import (
    add_model_options,
    class_index,
    fail,
    load_model_from_args,
    positive,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "visualize",
        help="write the image that most excites a class, a channel or a unit (PNG)",
        description="Activation maximisation: start from noise and optimise the input image, "
        "with jitter, small rotations and zooms and a smoothness prior, so that the chosen "
        "class score (--class) or channel (--layer with --channel) grows.",
    )
    add_model_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--class", dest="target_class", metavar="C",
                      help="class index or name, e.g. 2 for the digit CNN")  # fmt: skip
    what.add_argument("--layer", metavar="L", help="layer name (`cnn-viewer layers` lists them)")
    p.add_argument("--channel", type=int, metavar="K", help="channel of --layer")
    p.add_argument("--unit", metavar="Y,X", default=None,
                   help="one position of the channel's map instead of its mean")  # fmt: skip
    p.add_argument("--steps", type=positive, default=None, help="optimisation steps")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same image)")
    p.add_argument("--param", choices=["fourier", "pixel"], default=None,
                   help="image parametrisation (default: pixel for small gray models, "
                   "fourier otherwise)")  # fmt: skip
    p.add_argument("--zoom", type=positive, default=None,
                   help="enlarge the PNG this many times (default: to 224+ pixels)")  # fmt: skip
    p.add_argument("--threads", type=positive, default=None,
                   help="torch threads (default: 1 for small models, else torch's)")  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE.png", help="the PNG to write")


def _target(args, model):
    from cnn_viewer.core.visualize.featurevis import Target

    if args.target_class is not None:
        if args.channel is not None or args.unit is not None:
            raise ValueError("--channel and --unit go with --layer, not --class")
        return Target("class", class_index(args.target_class, model.labels, "--class"))
    if args.channel is None:
        raise ValueError(f"--layer {args.layer}: add --channel K (which channel to maximise)")
    if args.unit is None:
        return Target("channel", args.channel, args.layer)
    try:
        y, x = (int(v) for v in args.unit.split(","))
    except ValueError:
        raise ValueError(f"--unit {args.unit!r}: give the position as Y,X, e.g. 7,7") from None
    return Target("unit", args.channel, args.layer, (y, x))


def cmd_visualize(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from cnn_viewer.core.hooks.recorder import LayerNotFound
    from cnn_viewer.core.visualize.featurevis import default_settings, maximize

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        return fail(f"--out {args.out}: give a .png file name")
    if not out.parent.is_dir():
        return fail(f"--out {args.out}: the folder {out.parent} does not exist")
    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    # A small network runs fastest on one thread (tiny tensors: threads only add overhead).
    threads = args.threads or (1 if max(model.input_size) <= 64 else None)
    if threads:
        torch.set_num_threads(threads)
    try:
        target = _target(args, model)
        settings = default_settings(model, target)
        settings.seed = args.seed
        settings.steps = args.steps or settings.steps
        settings.param = args.param or settings.param
        result = maximize(model, target, settings)
    except (ValueError, LayerNotFound) as exc:
        return fail(str(exc))
    image = result.image
    zoom = args.zoom or max(1, -(-224 // max(image.shape[:2])))
    if zoom > 1:
        image = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(out), bgr):
        return fail(f"--out {args.out}: could not be written")
    best = int(result.probs.argmax())
    print(
        f"{target.describe(model.labels)} on {model.name}: {result.steps} steps in "
        f"{result.seconds:.2f} s; objective {result.start_value:.3g} -> {result.value:.3g}"
    )
    if target.kind == "class":
        print(f"  the model gives class {model.labels[target.index]} "
              f"{result.probs[target.index]:.2%} on the result")  # fmt: skip
    else:
        print(f"  the model's top class for it: {model.labels[best]} ({result.probs[best]:.2%})")
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})")
    return 0
