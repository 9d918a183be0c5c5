"""`cnn-viewer explain`: one saliency map for an image, written as .npy or a .png overlay."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cnn_viewer.cli.args import add_model_options, class_index, fail, load_model_from_args


def add_parser(sub) -> None:
    from cnn_viewer.core.explain.attribution import METHODS

    p = sub.add_parser(
        "explain",
        help="write a saliency map for an image (.npy raw map or .png overlay)",
        description="Which pixels of IMAGE matter for a class. The .npy file holds the raw "
        "float map at the network's input size (height x width); the .png is that map "
        "over the image the network saw.",
    )
    add_model_options(p)
    p.add_argument(
        "--method", required=True, choices=[*METHODS, "eigencam"],
        help="saliency method (a detector's box: gradcam or eigencam, with --box K)",
    )  # fmt: skip
    p.add_argument(
        "--box", type=int, default=None, metavar="K",
        help="detectors: the map of box K (0 = the best; numbered as `predict` lists them)",
    )  # fmt: skip
    p.add_argument(
        "--min-score", type=float, default=0.5, metavar="S",
        help="detectors: boxes scoring S or more are numbered (default 0.5)",
    )  # fmt: skip
    p.add_argument("--target", default=None, metavar="CLASS",
                   help="class index or name (default: the top-1 class)")  # fmt: skip
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="layer for gradcam / guided_gradcam (default: the model's "
                   "last conv block; `cnn-viewer layers` lists names)")  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE", help="output: FILE.npy or FILE.png")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("image", metavar="IMAGE")


def resolve_target(text: str | None, labels: list[str], logits) -> int:
    """A class index from '7', a label name, or None (the top-1 class)."""
    if text is None:
        return int(logits.argmax())
    return class_index(text, labels, "--target")


def overlay(net_image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """RGB uint8 image: ``heat`` ([0, 1]) through the heat colormap over the network image."""
    from cnn_viewer.core.display.colormaps import heat_lut

    rgb = net_image if net_image.ndim == 3 else np.repeat(net_image[..., None], 3, axis=2)
    lut = heat_lut()
    rgba = lut[(np.clip(heat, 0, 1) * 255).astype(np.uint8)].astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    out = rgb.astype(np.float32) * (1 - alpha) + rgba[..., :3] * alpha
    return out.round().astype(np.uint8)


def cmd_explain(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from cnn_viewer.core.explain.attribution import (
        BATCH,
        METHODS,
        attribute,
        baseline_for,
    )
    from cnn_viewer.core.hooks.recorder import LayerNotFound
    from cnn_viewer.models.data.images import InputError, read_image
    from cnn_viewer.models.private_copy import private_copy

    out = Path(args.out)
    if out.suffix.lower() not in (".npy", ".png"):
        return fail(f"--out {args.out}: end the name in .npy (raw map) or .png (overlay)")
    if not out.parent.is_dir():
        return fail(f"--out {args.out}: folder {out.parent} does not exist")
    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    if model.task == "detect" or args.box is not None or args.method == "eigencam":
        return _explain_box(args, model, out)
    try:
        image = read_image(args.image)
        # (a digit model's preprocess centres the digit: the one rule of every path)
        net_image = model.preprocess.to_network_image(image)
    except InputError as exc:
        message = str(exc)
        return fail(message if args.image in message else f"{args.image}: {message}")
    x = model.preprocess.to_tensor(net_image).to(model.device)
    with torch.inference_mode():
        logits = model.module(x)[0].float().cpu()
    layer = args.layer or (model.cam_layer if METHODS[args.method].uses_layer else None)
    if METHODS[args.method].uses_layer and not layer:
        return fail(f"{model.name} has no conv layer for {args.method}; give --layer NAME")
    try:
        target = resolve_target(args.target, model.labels, logits)
        result = attribute(
            private_copy(model.module), x, args.method, target, layer,
            baseline=baseline_for(model).to(model.device),
        )  # fmt: skip
    except (ValueError, LayerNotFound) as exc:
        return fail(str(exc))
    if out.suffix.lower() == ".npy":
        np.save(out, result.raw)
    else:
        rgb = overlay(net_image, result.display())
        if not cv2.imwrite(str(out), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            return fail(f"--out {args.out}: could not write the file")
    prob = float(torch.softmax(logits, 0)[target])
    if args.json:
        import json

        summary = {
            "method": args.method,
            "target": target,
            "label": model.labels[target],
            "prob": round(prob, 6),
            "layer": layer,
            "ms": round(result.seconds * 1000, 3),
            "passes": result.passes,
            "map_shape": list(result.raw.shape),
            "out": str(out),
            "input": model.preprocess.describe(),
            "labels_source": model.labels_source,
        }
        print(json.dumps(summary))
        return 0
    where = f", layer {layer}" if layer else ""
    print(
        f"{METHODS[args.method].title} for class {target} '{model.labels[target]}' "
        f"(p = {prob:.3f}){where}: {result.seconds * 1000:.1f} ms, {result.passes} forward "
        f"call(s) of up to {BATCH} images; map {result.raw.shape[0]} x {result.raw.shape[1]} "
        f"-> {out}"
    )
    return 0


def _explain_box(args: argparse.Namespace, model, out: Path) -> int:
    """``explain --box K`` for a detector: Grad-CAM of box K's score or EigenCAM inside
    it (cnn_viewer.core.explain.box_saliency), at the image's own size."""
    import json

    import cv2

    from cnn_viewer.core.explain.box_saliency import BOX_METHODS, box_saliency
    from cnn_viewer.core.hooks.recorder import LayerNotFound
    from cnn_viewer.models.data.images import InputError, read_image, to_rgb
    from cnn_viewer.models.zoo.task_outputs import full_size_input

    if model.task != "detect":
        return fail(f"--box and eigencam are for detectors; {model.name} is no detector")
    if args.method not in BOX_METHODS:
        return fail(f"--method {args.method}: a detector's box takes {' or '.join(BOX_METHODS)}")
    try:
        image = to_rgb(read_image(args.image))
    except InputError as exc:
        message = str(exc)
        return fail(message if args.image in message else f"{args.image}: {message}")
    try:
        got = box_saliency(
            model, full_size_input(model, image).to(model.device), args.box or 0,
            args.method, args.layer, args.min_score,
        )  # fmt: skip
    except (ValueError, LayerNotFound) as exc:
        return fail(str(exc))
    if out.suffix.lower() == ".npy":
        np.save(out, got.heat)
    else:
        rgb = overlay(image, got.heat)
        x0, y0, x1, y1 = (int(round(v)) for v in got.box["box"])
        cv2.rectangle(rgb, (x0, y0), (x1, y1), (255, 255, 255), 2)
        if not cv2.imwrite(str(out), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            return fail(f"--out {args.out}: could not write the file")
    summary = {
        "method": args.method, "box": got.number, "detection": got.box, "layer": got.layer,
        "map_shape": list(got.heat.shape), "out": str(out),
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        d = got.box
        print(
            f"{args.method} for box {got.number} '{d['label']}' (score {d['score']:.3f}), "
            f"layer {got.layer}: map {got.heat.shape[0]} x {got.heat.shape[1]} -> {out}"
        )
    return 0
