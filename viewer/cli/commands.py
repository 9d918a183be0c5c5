"""The `cnn-viewer` parser, built from the subcommand modules, and main(), which runs one."""

from __future__ import annotations

import argparse
import sys

# Not soak: `python -m cnn_viewer.cli.soak` imports this package (and so this module) first,
# and runpy warns when the module it is about to run is already imported.
from cnn_viewer.cli import bench, explain, layers, predict, train, view, visualize

SUBCOMMANDS = ("view", "predict", "layers", "train", "bench", "explain", "visualize", "soak")


def build_parser() -> argparse.ArgumentParser:
    from cnn_viewer.cli import soak

    parser = argparse.ArgumentParser(
        prog="cnn-viewer",
        usage="cnn-viewer [view] [OPTIONS]  (the window)\n"
        "       cnn-viewer {predict,layers,train,bench,explain,visualize,soak} ...",
        description="See what a convolutional network sees, live.\n\n"
        "Without a subcommand the window opens (the built-in digit CNN with the drawing\n"
        "pad): `cnn-viewer [view] OPTIONS` takes the window's options, the main ones below.",
        epilog=view.main_view_options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command",
        metavar="{view,predict,layers,train,bench,explain,visualize,soak}",
        prog="cnn-viewer",  # not the custom usage above: `usage: cnn-viewer view ...`
    )
    # The order of --help's list.
    view.add_parser(sub)
    predict.add_parser(sub)
    layers.add_parser(sub)
    soak.add_parser(sub)
    bench.add_parser(sub)
    train.add_parser(sub)
    explain.add_parser(sub)
    visualize.add_parser(sub)
    return parser


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
            "view": view.cmd_view,
            "predict": predict.cmd_predict,
            "layers": layers.cmd_layers,
            "train": train.cmd_train,
            "bench": bench.cmd_bench,
            "explain": explain.cmd_explain,
            "visualize": visualize.cmd_visualize,
        }[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
