"""`cnn-viewer bench`: measure the engine the window uses, headless or drawn in the window."""

from __future__ import annotations

import argparse
import json
import sys

from cnn_viewer.cli.args import (
    LAYERS_HELP,
    add_model_options,
    checked_layers,
    fail,
    layer_names,
    load_model_from_args,
    positive,
)


def _bench_layers(text: str) -> str | tuple[str, ...]:
    return text if text in ("default", "all") else layer_names(text)


def add_parser(sub) -> None:
    bench = sub.add_parser("bench", help="measure the engine the window uses, headless")
    add_model_options(bench)
    bench.add_argument(
        "--source", default="synthetic", help="synthetic (as fast as the engine takes frames) "
        "or a video PATH (played at its own rate)",
    )  # fmt: skip
    bench.add_argument("--frames", type=positive, default=200, help="measured results")
    bench.add_argument("--saliency", choices=["gradcam", "none"], default="gradcam")
    bench.add_argument(
        "--layers", type=_bench_layers, default="default", metavar="default|all|NAME,...",
        help=f"default, all (every named module), or {LAYERS_HELP.split(' (e.g.')[0]}",
    )  # fmt: skip
    bench.add_argument("--render", action="store_true", help="draw each result in the window")
    bench.add_argument("--threads", type=positive, default=None, help="torch threads")
    bench.add_argument(
        "--trace", choices=["auto", "off"], default=None, help="auto: a TorchScript trace of "
        "the network where faithful (default; CNN_VIEWER_TRACE=off changes it); off: eager",
    )  # fmt: skip
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    t = bench.add_argument_group(
        "training (--train: generate small varied image sets, train each with the defaults "
        "of `cnn-viewer train --data DIR`, print held-out accuracy and seconds)"
    )
    t.add_argument("--train", action="store_true", help="bench the training recipe instead")
    t.add_argument(
        "--sets", type=_set_names, default=None, metavar="NAME,...",
        help="which generated sets (default: all of shapes, letters, stripes)",
    )  # fmt: skip
    t.add_argument(
        "--per-class", type=positive, default=72, help="images per class, a quarter held out"
    )
    t.add_argument(
        "--keep-data", metavar="DIR", default=None, help="write the sets here and keep them"
    )
    t.add_argument("--no-transfer", action="store_true", help="never the pretrained network")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--epochs", type=positive, default=None, help="at most this many (default: the recipe's)"
    )


def _set_names(text: str) -> list[str]:
    from cnn_viewer.models.data.synthetic_sets import SETS

    names = [n for n in text.replace(" ", "").split(",") if n]
    wrong = [n for n in names if n not in SETS]
    if wrong or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: name generated sets from {', '.join(SETS)}, e.g. shapes,letters"
        )
    return names


def _bench_train(args: argparse.Namespace) -> int:
    import tempfile

    import torch

    from cnn_viewer.core.bench.training import bench_training
    from cnn_viewer.models.data.synthetic_sets import SETS

    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.sets or list(SETS)
    print(
        f"training benchmark: {', '.join(names)}; {args.per_class} images per class (a "
        f"quarter held out); torch threads {torch.get_num_threads()}",
        file=sys.stderr if args.json else sys.stdout,
    )
    shown: set[str] = set()

    def report(result) -> None:
        if args.json:
            return
        for line in [*result.notes, result.recipe]:
            if line not in shown:
                shown.add(line)
                print(line)
        print(result.line(), flush=True)

    with tempfile.TemporaryDirectory(prefix="cnn-viewer-bench-") as tmp:
        root = args.keep_data or tmp
        try:
            results = bench_training(
                root, names, per_class=args.per_class, seed=args.seed,
                transfer=not args.no_transfer, epochs=args.epochs, on_result=report,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            return fail(str(exc))
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(r) for r in results]))
    return 0


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

    if args.train:
        return _bench_train(args)
    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    threads = args.threads or default_threads()
    layers = args.layers
    if not isinstance(layers, str):
        layers, error = checked_layers(model, layers)
        if layers is None:
            return fail(error)
    if args.source == "pad" and not args.render:
        return fail("--source pad draws in the window: add --render")
    if args.source not in ("synthetic", "pad"):
        from cnn_viewer.core.sources.open_source import parse_source_spec

        try:
            if parse_source_spec(args.source).kind != "video":
                return fail(f"--source {args.source}: use synthetic or a video file")
        except ValueError as exc:
            return fail(str(exc))
    engine = make_engine(model, layers, args.saliency, args.trace)
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
