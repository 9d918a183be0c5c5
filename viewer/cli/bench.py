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
