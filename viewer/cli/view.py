"""`cnn-viewer view` (the default): the window's options, and the handler that opens it."""

from __future__ import annotations

import argparse

from cnn_viewer.cli.args import (
    LAYERS_HELP,
    add_model_options,
    layer_names,
    model_options,
    positive,
    positive_seconds,
)


def add_parser(sub) -> None:
    view = sub.add_parser("view", help="open the viewer window (the default)")
    add_view_options(view)


def add_view_options(p: argparse.ArgumentParser) -> None:
    add_model_options(p)
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
        type=positive,
        default=1,
        help="results to show before --screenshot, or to record with --record",
    )
    p.add_argument(
        "--wait",
        type=positive_seconds,
        default=20.0,
        metavar="SECONDS",
        help="with --screenshot, for a slow source: when no new result is shown for SECONDS "
        "(default 20), save the window as it is and exit with status 1; a source that fails "
        "for good (no such camera, an unreadable file) ends the run at once",
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
    p.add_argument("--threads", type=positive, default=None, help="torch threads for inference")
    p.add_argument(
        "--layers", type=layer_names, default=None, metavar="NAME,NAME,...", help=LAYERS_HELP
    )
    p.add_argument(
        "--draw",
        type=int,
        choices=range(10),
        metavar="DIGIT",
        help="start with an example DIGIT (0-9) drawn on the pad",
    )


# The window options that the top-level --help lists (all of them: cnn-viewer view --help).
MAIN_VIEW_OPTIONS = (
    "--model", "--weights", "--checkpoint", "--source", "--draw", "--layers",
    "--screenshot", "--frames", "--wait", "--record", "--device",
)  # fmt: skip


def main_view_options_help() -> str:
    """The top-level --help's closing text: how to open the window and its main options,
    each with the help that ``view --help`` gives it."""
    p = argparse.ArgumentParser(prog="cnn-viewer", add_help=False)
    add_view_options(p)
    actions = {a.option_strings[0]: a for a in p._actions if a.option_strings}
    formatter = p._get_formatter()
    formatter.start_section("the window's main options (all of them: cnn-viewer view --help)")
    formatter.add_arguments([actions[name] for name in MAIN_VIEW_OPTIONS])
    formatter.end_section()
    return formatter.format_help().strip("\n")


def given_view_options(argv: list[str]) -> frozenset[str]:
    """Names of the view options that ``argv`` sets, whatever their values (these win
    over saved settings; the rest may come from them)."""
    p = argparse.ArgumentParser(add_help=False)
    add_view_options(p)
    unset = object()
    p.set_defaults(**dict.fromkeys(vars(p.parse_args([])), unset))
    given, _ = p.parse_known_args(argv[1:] if argv[:1] == ["view"] else argv)
    return frozenset(k for k, v in vars(given).items() if v is not unset)


def cmd_view(args: argparse.Namespace) -> int:
    from cnn_viewer.core.options import ViewerOptions
    from cnn_viewer.ui.app import run_viewer

    return run_viewer(
        ViewerOptions(
            model=model_options(args),
            source=args.source,
            screenshot=args.screenshot,
            frames=args.frames,
            wait=args.wait,
            threads=args.threads,
            record=args.record,
            reset_settings=args.reset_settings,
            layers=args.layers,
            explicit=given_view_options(getattr(args, "argv", [])),
        ),
        draw=args.draw,
    )
