"""`cnn-viewer layers`: the layer table (name, type, output shape, shown by default)."""

from __future__ import annotations

import argparse
import json

from cnn_viewer.cli.args import (
    LAYERS_HELP,
    add_model_options,
    checked_layers,
    fail,
    layer_names,
    load_model_from_args,
)


def add_parser(sub) -> None:
    lay = sub.add_parser("layers", help="print the layer table: name, type, output shape")
    add_model_options(lay)
    lay.add_argument(
        "--layers", type=layer_names, default=None, metavar="NAME,NAME,...",
        help=f"{LAYERS_HELP} (marked * instead of the default ones)",
    )  # fmt: skip
    lay.add_argument("--json", action="store_true", help="print one JSON array")


def cmd_layers(args: argparse.Namespace) -> int:
    import torch

    from cnn_viewer.models.zoo.layer_choice import layer_table

    model, error = load_model_from_args(args)
    if model is None:
        return fail(error)
    if isinstance(model.module, torch.jit.ScriptModule):  # no hooks there: names and types only
        rows = [
            {"name": n, "type": getattr(m, "original_name", type(m).__name__), "shape": None}
            for n, m in model.module.named_modules()
            if n
        ]
    else:
        rows = layer_table(model.module, (model.channels, *model.input_size))
    shown_names = model.display_layers
    if args.layers is not None:
        shown_names, error = checked_layers(model, args.layers)
        if shown_names is None:
            return fail(error)
    shown = set(shown_names)
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
        f"   (* = {'shown by default' if args.layers is None else 'chosen with --layers'})"
    )
    for r in rows:
        shape = " x ".join(map(str, r["shape"])) if r["shape"] is not None else "-"
        print(f"{'*' if r['shown'] else ' '} {r['name']:<{width}}  {r['type']:<18} {shape}")
    return 0
