"""Command line: `cnn-viewer` (the window) and its subcommands predict, layers, train."""

from __future__ import annotations

import argparse
import json
import math
import sys

SUBCOMMANDS = ("view", "predict", "layers", "train", "bench", "explain", "visualize", "soak")


def _add_device_option(p) -> None:
    p.add_argument(
        "--device",
        default="auto",
        help="auto (a GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps",
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    _add_device_option(g)
    g.add_argument(
        "--model",
        default="digits",
        help="registry name: 'digits' (built in) or a torchvision model, e.g. resnet18",
    )
    g.add_argument(
        "--weights",
        default="default",
        help="'default' (trained/pretrained), 'none' (random init) or a weights name",
    )
    g.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="weights to load: a cnn-viewer .safetensors, or a state_dict (.pth, .pt, "
        ".safetensors; bare or under 'state_dict'/'model') for --model or --model-file",
    )
    g.add_argument(
        "--model-file",
        default=None,
        metavar="FILE:CLASS",
        help="your own model code: CLASS() from the Python file FILE (runs that file)",
    )
    g.add_argument(
        "--labels",
        default=None,
        metavar="FILE",
        help="class names, one per line; as many as the model has outputs",
    )
    g.add_argument(
        "--input-size",
        default=None,
        type=_input_size,
        metavar="HxW",
        help="input height x width, e.g. 224x224 or 224, where the checkpoint does not say it",
    )
    g.add_argument(
        "--channels",
        default=None,
        type=int,
        choices=(1, 3),
        help="input channels (1 gray, 3 RGB) where the weights do not say it",
    )
    g.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that run code when opened (TorchScript, pickled "
        "models); only for files you trust",
    )


def _input_size(text: str) -> tuple[int, int]:
    from cnn_viewer.models.loading.model_files import parse_input_size

    try:
        return parse_input_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _model_options(args: argparse.Namespace):
    """ModelOptions from the parsed model options (the flags are named as its fields)."""
    from dataclasses import fields

    from cnn_viewer.core.options import ModelOptions

    return ModelOptions(**{f.name: getattr(args, f.name) for f in fields(ModelOptions)})


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-viewer",
        description="See what a convolutional network sees, live. Without a subcommand the "
        "viewer opens (the built-in digit CNN with the drawing pad).",
    )
    sub = parser.add_subparsers(
        dest="command", metavar="{view,predict,layers,train,bench,explain,visualize,soak}"
    )

    view = sub.add_parser("view", help="open the viewer window (the default)")
    _add_view_options(view)

    pred = sub.add_parser("predict", help="print the top classes for image files")
    _add_model_options(pred)
    pred.add_argument(
        "--as-drawing",
        action="store_true",
        help="preprocess like the drawing pad (MNIST-style centring)",
    )
    pred.add_argument("--top", type=_positive, default=5, help="how many classes (default 5)")
    pred.add_argument("--json", action="store_true", help="print one JSON array")
    pred.add_argument("images", nargs="+", metavar="IMAGE")

    lay = sub.add_parser("layers", help="print the layer table: name, type, output shape")
    _add_model_options(lay)
    lay.add_argument("--json", action="store_true", help="print one JSON array")

    sub.add_parser(  # listed for --help; main() hands its arguments to cnn_viewer.cli.soak
        "soak", help="run the full window on a looping video and watch its memory", add_help=False
    )
    bench = sub.add_parser("bench", help="measure the engine the window uses, headless")
    _add_model_options(bench)
    bench.add_argument(
        "--source", default="synthetic", help="synthetic (as fast as the engine takes frames) "
        "or a video PATH (played at its own rate)",
    )  # fmt: skip
    bench.add_argument("--frames", type=_positive, default=200, help="measured results")
    bench.add_argument("--saliency", choices=["gradcam", "none"], default="gradcam")
    bench.add_argument("--layers", choices=["default", "all"], default="default")
    bench.add_argument("--render", action="store_true", help="draw each result in the window")
    bench.add_argument("--threads", type=_positive, default=None, help="torch threads")
    bench.add_argument(
        "--trace", choices=["auto", "off"], default=None, help="auto: a TorchScript trace of "
        "the network where faithful (default; CNN_VIEWER_TRACE=off changes it); off: eager",
    )  # fmt: skip
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    train = sub.add_parser(
        "train", help="train a network on an MNIST folder or an image folder (class sub-folders)"
    )
    from cnn_viewer.cli.train import add_train_options

    add_train_options(train, _add_device_option, _input_size)

    from cnn_viewer.cli.explain import add_parser as add_explain

    add_explain(sub, _add_model_options)

    from cnn_viewer.cli.visualize import add_parser as add_visualize

    add_visualize(sub, _add_model_options, _positive)
    return parser


def _add_view_options(p: argparse.ArgumentParser) -> None:
    _add_model_options(p)
    p.add_argument(
        "--source",
        default="pad",
        help="pad (default), camera or camera:N, or a PATH to an image, a folder or a video",
    )
    p.add_argument(
        "--screenshot",
        metavar="FILE",
        help="save the window as PNG after --frames "
        "results, then exit (works with QT_QPA_PLATFORM=offscreen)",
    )
    p.add_argument(
        "--frames",
        type=_positive,
        default=1,
        help="results to show before --screenshot, or to record with --record",
    )
    p.add_argument(
        "--wait",
        type=_positive_seconds,
        default=20.0,
        metavar="SECONDS",
        help="with --screenshot: when no new result is shown for SECONDS (default 20), save "
        "the window as it is and exit with status 1 (a source that sends no frames)",
    )
    p.add_argument(
        "--record",
        metavar="FILE",
        help="record the window to FILE (.mp4) from the start until it closes, or until "
        "--frames results were shown when --frames is given",
    )
    p.add_argument(
        "--reset-settings",
        action="store_true",
        help="start fresh: forget the saved model, source, layers, colours and layout",
    )
    p.add_argument("--threads", type=_positive, default=None, help="torch threads for inference")
    p.add_argument(
        "--draw",
        type=int,
        choices=range(10),
        metavar="DIGIT",
        help="start with an example DIGIT (0-9) drawn on the pad",
    )


def _given_view_options(argv: list[str]) -> frozenset[str]:
    """Names of the view options that ``argv`` sets, whatever their values (these win
    over saved settings; the rest may come from them)."""
    p = argparse.ArgumentParser(add_help=False)
    _add_view_options(p)
    unset = object()
    p.set_defaults(**dict.fromkeys(vars(p.parse_args([])), unset))
    given, _ = p.parse_known_args(argv[1:] if argv[:1] == ["view"] else argv)
    return frozenset(k for k, v in vars(given).items() if v is not unset)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["soak"]:  # its own parser (cnn_viewer.cli.soak)
        from cnn_viewer.cli.soak import main as soak_main

        try:
            return soak_main(argv[1:])
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 2
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["view", *argv]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage error (argparse printed it; code 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv  # for the view: which options were given
    try:
        return {
            "view": cmd_view,
            "predict": cmd_predict,
            "layers": cmd_layers,
            "train": cmd_train,
            "bench": cmd_bench,
            "explain": cmd_explain,
            "visualize": cmd_visualize,
        }[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"cnn-viewer: error: {message}", file=sys.stderr)
    return 1


def _load(args: argparse.Namespace):
    """Load the model the options name; expected failures become a message, not a traceback."""
    from cnn_viewer.models import CheckpointError
    from cnn_viewer.models.zoo.loaded import WeightsUnavailable

    options = _model_options(args)
    try:
        _prefetch_with_bar(options)
        return options.load(), None
    except (CheckpointError, WeightsUnavailable, ValueError) as exc:
        return None, str(exc)


def _prefetch_with_bar(options) -> None:
    """Download pretrained weights not yet cached, with a progress bar in the terminal."""
    from cnn_viewer.models.zoo.weights_download import cache_path, fetch, weights_url

    if options.checkpoint or options.model_file:
        return
    url = weights_url(options.model, options.weights)
    if url is None or cache_path(url).is_file():
        return
    from tqdm import tqdm

    with tqdm(unit="B", unit_scale=True, desc=f"downloading {options.model}", leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)

        fetch(url, on_progress=progress)


def cmd_view(args: argparse.Namespace) -> int:
    from cnn_viewer.core.options import ViewerOptions
    from cnn_viewer.ui.app import run_viewer

    return run_viewer(
        ViewerOptions(
            model=_model_options(args),
            source=args.source,
            screenshot=args.screenshot,
            frames=args.frames,
            wait=args.wait,
            threads=args.threads,
            record=args.record,
            reset_settings=args.reset_settings,
            explicit=_given_view_options(getattr(args, "argv", [])),
        ),
        draw=args.draw,
    )


def cmd_predict(args: argparse.Namespace) -> int:
    from cnn_viewer.models.data.drawing import center_digit
    from cnn_viewer.models.data.images import InputError, read_image

    model, error = _load(args)
    if model is None:
        return _fail(error)
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


def cmd_layers(args: argparse.Namespace) -> int:
    import torch
    from cnn_viewer.models.zoo.layer_choice import layer_table

    model, error = _load(args)
    if model is None:
        return _fail(error)
    if isinstance(model.module, torch.jit.ScriptModule):  # no hooks there: names and types only
        rows = [
            {"name": n, "type": getattr(m, "original_name", type(m).__name__), "shape": None}
            for n, m in model.module.named_modules()
            if n
        ]
    else:
        rows = layer_table(model.module, (model.channels, *model.input_size))
    shown = set(model.display_layers)
    for r in rows:
        r["shown"] = r["name"] in shown
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"{model.name}: no layers to list ({'; '.join(model.notes) or 'no hooks ran'})")
        return 0
    width = max(len(r["name"]) for r in rows)
    print(
        f"{model.name}: input {model.channels} x {model.input_size[0]} x {model.input_size[1]}"
        "   (* = shown by default)"
    )
    for r in rows:
        shape = " x ".join(map(str, r["shape"])) if r["shape"] is not None else "-"
        print(f"{'*' if r['shown'] else ' '} {r['name']:<{width}}  {r['type']:<18} {shape}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cnn_viewer.cli.train import cmd_train as run

    return run(args)


def _input_delay_line(delays: list[float]) -> str:
    """'--render': how long input events waited for the GUI thread."""
    if not delays:
        return ""
    import numpy as np

    p50, p95 = np.percentile(delays, [50, 95])
    return (
        f"gui input events handled after p50 {p50:.1f} / p95 {p95:.1f} / max {max(delays):.1f}"
        f" ms ({len(delays)} events, one per 50 ms)"
    )


def cmd_bench(args: argparse.Namespace) -> int:
    from cnn_viewer.core.bench.headless import (
        make_engine,
        measure_raw_fps,
        run_headless,
        summarize,
    )
    from cnn_viewer.core.engine.pipeline import default_threads

    model, error = _load(args)
    if model is None:
        return _fail(error)
    threads = args.threads or default_threads()
    if args.source == "pad" and not args.render:
        return _fail("--source pad draws in the window: add --render")
    if args.source not in ("synthetic", "pad"):
        from cnn_viewer.core.sources.open_source import parse_source_spec

        try:
            if parse_source_spec(args.source).kind != "video":
                return _fail(f"--source {args.source}: use synthetic or a video file")
        except ValueError as exc:
            return _fail(str(exc))
    engine = make_engine(model, args.layers, args.saliency, args.trace)
    engine.warm_up()
    traced = engine.traced is not None
    # The model alone, right before and right after the run: on a shared machine speed
    # drifts by tens of percent in a minute, and the mean of both brackets the run. It
    # runs as the engine runs it: a plain trace when the engine runs a traced network.
    eager = measure_raw_fps(model, threads) if traced else None
    raw_before = measure_raw_fps(model, threads, traced=traced)
    if args.render:
        from cnn_viewer.ui.bench.render import run_rendered

        run = run_rendered(model, engine, args.source, args.frames, threads)
    else:
        run = run_headless(engine, args.source, args.frames, threads)
    raw_after = measure_raw_fps(model, threads, traced=traced)
    raw = (raw_before + raw_after) / 2
    figures = summarize(run, raw)
    from cnn_viewer.models.devices import describe

    mode = "pipelined" if engine.pipelined else "serial"
    where = (
        f"device: {describe(model.device)}, torch threads: {threads}, model: {model.name}, "
        f"layers: {len(engine.layers)}, {mode}; raw fps before/after the run "
        f"{raw_before:.1f}/{raw_after:.1f}"
    )
    if traced:
        where += f"; traced network (raw eager PyTorch: {eager:.1f} fps)"
    elif engine.trace_note:
        where += f"; {engine.trace_note}"
    gui = _input_delay_line(run.input_delay_ms)
    if args.json:
        print(json.dumps(figures))
        print(where, file=sys.stderr)
        if gui:
            print(gui, file=sys.stderr)
        return 0
    print(where)
    if gui:
        print(gui)
    for key, value in figures.items():
        if key == "stage_ms":
            value = ", ".join(f"{k} {v:.2f}" for k, v in value.items())
        print(f"  {key:<15} {value}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from cnn_viewer.cli.explain import cmd_explain as run

    return run(args, _load, _fail)


def cmd_visualize(args: argparse.Namespace) -> int:
    from cnn_viewer.cli.visualize import cmd_visualize as run

    return run(args, _load, _fail)
