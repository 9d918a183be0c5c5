"""`cnn-viewer train`: train on an MNIST folder or an image folder (detected), or
`cnn-viewer train digits` (the shipped digit CNN's recipe); both on the one training loop."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnn_viewer.cli.args import add_device_option, fail, input_size, positive, positive_seconds


def add_parser(sub) -> None:
    train = sub.add_parser(
        "train", help="train a network on an MNIST folder or an image folder (class sub-folders)"
    )
    add_train_options(train)


def _channel_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the channels of each conv block, e.g. 8,16,32"
        )
    return values


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1, e.g. 0.2")
    return value


def add_train_options(train: argparse.ArgumentParser) -> None:
    """The `train` subcommand's arguments."""
    from cnn_viewer.models.zoo.small_cnn import ACTIVATIONS, POOLS

    train.add_argument(
        "recipe",
        nargs="?",
        choices=["digits"],
        help="'digits': retrain the shipped digit CNN with its own recipe (MNIST only)",
    )
    train.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="an MNIST folder (IDX files, .gz or not) or an image folder with one "
        "sub-folder per class",
    )
    train.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write")
    train.add_argument(
        "--epochs",
        type=positive,
        default=None,
        help="at most this many (default: 10 for MNIST, 60 for images, stopping earlier "
        "when validation stops improving; digits 40)",
    )
    train.add_argument("--seed", type=int, default=0, help="same seed, same result")
    add_device_option(train)
    train.add_argument(
        "--threads", type=positive, default=None, help="torch CPU threads (default: torch's)"
    )
    g = train.add_argument_group("architecture (not for 'digits')")
    g.add_argument(
        "--arch",
        default="auto",
        help="'auto' (default: for images, a pretrained mobilenet_v3_small fine-tuned when "
        "its weights are cached or can be downloaded, else a small CNN with BatchNorm from "
        "scratch; for MNIST the small CNN), 'small' (the small CNN with the options below) "
        "or a torchvision model to fine-tune, e.g. resnet18",
    )
    g.add_argument(
        "--no-transfer",
        action="store_true",
        help="'auto': always train the small CNN from scratch (no pretrained download)",
    )
    g.add_argument(
        "--conv-channels",
        type=_channel_list,
        default=None,
        metavar="C1,C2,..",
        help="channels of each conv block; their count is the number of blocks (default 8,16)",
    )
    g.add_argument("--blocks", type=positive, default=None, help="conv blocks: 8, 16, 32, ...")
    g.add_argument("--kernel", type=positive, default=None, help="kernel size (default 5)")
    g.add_argument("--stride", type=positive, default=None, help="default 1")
    g.add_argument("--padding", type=int, default=None, help="default: kernel // 2")
    g.add_argument("--activation", choices=sorted(ACTIVATIONS), default=None, help="default relu")
    g.add_argument("--pool", choices=sorted(POOLS), default=None, help="default max")
    g.add_argument("--hidden", type=positive, default=None, help="units of fc1 (default 64)")
    g.add_argument("--batchnorm", action="store_true", help="a BatchNorm after each conv")
    g.add_argument(
        "--input-size",
        type=input_size,
        default=None,
        metavar="HxW",
        help="network input (default: 28x28 for MNIST; for images the median short side "
        "in steps of 16 between 32 and 64 px, 160 to fine-tune 'auto', else the weights' size)",
    )
    g.add_argument(
        "--input-channels",
        type=int,
        choices=(1, 3),
        default=None,
        help="1 gray or 3 RGB (default: 1 for MNIST, 3 for images)",
    )
    g.add_argument(
        "--no-pretrained", action="store_true", help="torchvision: start from random weights"
    )
    g.add_argument(
        "--train-all", action="store_true", help="torchvision: train every layer, not the head"
    )
    t = train.add_argument_group("training (not for 'digits')")
    t.add_argument("--batch-size", type=positive, default=None, help="default 32 (MNIST), 16")
    t.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default 0.005 MNIST, 0.003)"
    )
    t.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random shifts, turns, scaling and colour (default: on for images, off for MNIST)",
    )
    t.add_argument(
        "--flips",
        action="store_true",
        help="augment with left-right mirroring too (only where that keeps the class: not "
        "for letters or digits)",
    )
    t.add_argument(
        "--patience",
        type=int,
        default=None,
        help="stop after this many epochs without a better validation; 0: never "
        "(default 15 for images, 8 to fine-tune, 0 for MNIST)",
    )
    t.add_argument(
        "--max-seconds",
        type=positive_seconds,
        default=None,
        help="stop after the epoch that passes this time (default 210 for images)",
    )
    t.add_argument("--val-fraction", type=_fraction, default=0.2, help="held out (default 0.2)")
    t.add_argument(
        "--timeline",
        metavar="FILE",
        default=None,
        help="also write the first layer's filter timeline: FILE.mp4 (video) or FILE.png (strip)",
    )


SMALL_OPTIONS = ("conv_channels", "blocks", "kernel", "stride", "padding", "activation", "pool",
                 "hidden", "input_channels", "batchnorm")  # fmt: skip
STUDIO_OPTIONS = ("arch", *SMALL_OPTIONS, "input_size", "no_pretrained", "train_all",
                  "no_transfer", "batch_size", "lr", "augment", "flips", "patience",
                  "max_seconds", "val_fraction", "timeline")  # fmt: skip
DEFAULTS = {"arch": "auto", "no_pretrained": False, "train_all": False, "no_transfer": False,
            "batchnorm": False, "flips": False, "val_fraction": 0.2}  # fmt: skip


def cmd_train(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.recipe == "digits":
        return _train_digits(args)
    return _train_studio(args)


def _arch_options(args: argparse.Namespace):
    from cnn_viewer.models.zoo.studio_models import ArchOptions

    channels = args.conv_channels
    arch = args.arch
    if arch == "auto" and any(getattr(args, n) != DEFAULTS.get(n) for n in SMALL_OPTIONS):
        arch = "small"  # small-CNN options given: the small CNN they describe
    if args.blocks is not None:
        if channels is not None and len(channels) != args.blocks:
            raise ValueError(
                f"--blocks {args.blocks} but --conv-channels lists {len(channels)} blocks; "
                "give one of them"
            )
        channels = channels or [8 * 2**i for i in range(args.blocks)]
    return ArchOptions(
        arch=arch,
        channels=channels or [8, 16],
        kernel_size=args.kernel or 5,
        stride=args.stride or 1,
        padding=args.padding,
        activation=args.activation or "relu",
        pool=args.pool or "max",
        hidden=args.hidden or 64,
        batchnorm=args.batchnorm,
        input_size=args.input_size,
        in_channels=args.input_channels,
        pretrained=not args.no_pretrained,
        freeze=not args.train_all,
    )


def _train_studio(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from cnn_viewer.models.checkpoint import CheckpointError
    from cnn_viewer.models.data.mnist import DataError
    from cnn_viewer.models.devices import describe, resolve_device
    from cnn_viewer.models.training.filter_images import export_strip, export_video
    from cnn_viewer.models.training.overfit import overfit_hint
    from cnn_viewer.models.training.recipe import Overrides
    from cnn_viewer.models.training.studio_run import prepare, run, save

    if Path(args.out).is_dir():
        return fail(f"--out {args.out} is a folder; give the checkpoint file to write")
    if args.timeline and Path(args.timeline).suffix.lower() not in (".mp4", ".png"):
        return fail(f"--timeline {args.timeline}: use a .mp4 (video) or .png (strip) name")
    try:
        device = resolve_device(args.device)
        options = _arch_options(args)
        prepared = prepare(
            args.data,
            options,
            seed=args.seed,
            val_fraction=args.val_fraction,
            transfer=not args.no_transfer,
        )
    except (DataError, CheckpointError, ValueError, OSError) as exc:
        return fail(str(exc))
    data = prepared.data
    counts = ", ".join(f"{c} {n}" for c, n in zip(data.classes, data.counts(), strict=True))
    print(f"{data.source}: {data.kind}, {len(data.classes)} classes ({counts})")
    if data.skipped:
        print(f"skipped {len(data.skipped)} unreadable images, e.g. {data.skipped[0]}")
    print(
        f"training {len(prepared.train_y)}, validation {len(prepared.val_y)} images; "
        f"on {describe(device)}"
    )
    for note in [*prepared.notes, *prepared.built.notes]:
        print(note)
    settings = prepared.settings(
        Overrides(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            augment=args.augment,
            flips=args.flips,
            patience=args.patience,
            max_seconds=args.max_seconds,
            seed=args.seed,
            device=str(device),
        )
    )
    print(prepared.describe(settings))
    bar = tqdm(unit="step", desc="training", dynamic_ncols=True)

    def progress(p) -> None:
        bar.total = p.total_steps
        if p.val_accuracy is None:
            bar.set_postfix(loss=f"{p.loss:.3f}", epoch=f"{p.epoch}/{p.epochs}", refresh=False)
            bar.update(p.step - bar.n)
        else:
            bar.write(
                f"epoch {p.epoch}/{p.epochs}: loss {p.loss:.3f}, training accuracy "
                f"{p.train_accuracy:.2%}; validation loss {p.val_loss:.3f}, accuracy "
                f"{p.val_accuracy:.2%}"
            )

    outcome = run(prepared, settings, on_progress=progress)
    bar.close()
    print(outcome.message)
    hint = overfit_hint(outcome.history)
    if hint:
        print(hint)
    print("per-class validation accuracy, and the confusion matrix (rows: true, columns: guessed)")
    for line in confusion_lines(data.classes, outcome.per_class_accuracy, outcome.confusion):
        print(line)
    try:
        save(args.out, prepared, outcome, settings)
        print(f"wrote {args.out}")
        if args.timeline:
            layer = next(iter(outcome.timeline[0].filters))
            if args.timeline.lower().endswith(".mp4"):
                frames = export_video(outcome.timeline, layer, args.timeline)
                print(f"wrote {args.timeline} ({frames} frames of {layer}'s filters)")
            else:
                export_strip(outcome.timeline, layer, args.timeline)
                print(f"wrote {args.timeline} ({layer}'s filters across training)")
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    return 0


def confusion_lines(classes: list[str], per_class: list[float], confusion) -> list[str]:
    """The per-class accuracy and confusion matrix as text: a header row naming the
    guessed classes over their columns, one row per true class."""
    width = max(len(c) for c in [*classes, "true"])
    cols = [max(5, len(c)) for c in classes]
    head = f"  {'true':<{width}}  {'accuracy':>8}   " + " ".join(
        f"{c:>{w}}" for c, w in zip(classes, cols, strict=True)
    )
    lines = [head]
    for name, acc, row in zip(classes, per_class, confusion, strict=True):
        cells = " ".join(f"{int(v):>{w}d}" for v, w in zip(row, cols, strict=True))
        lines.append(f"  {name:<{width}}  {acc:8.2%}   {cells}")
    return lines


def _train_digits(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from cnn_viewer.models.data.mnist import DataError
    from cnn_viewer.models.devices import describe, resolve_device
    from cnn_viewer.models.training.digits import DIGITS_EPOCHS, train_digits

    epochs = args.epochs or DIGITS_EPOCHS
    studio_only = [n for n in STUDIO_OPTIONS if getattr(args, n) != DEFAULTS.get(n)]
    if studio_only:
        names = ", ".join("--" + n.replace("_", "-") for n in studio_only)
        return fail(f"{names}: not for 'train digits' (its recipe is fixed); drop 'digits'")
    if Path(args.out).is_dir():
        return fail(f"--out {args.out} is a folder; give the checkpoint file to write")
    bar = tqdm(total=epochs, unit="epoch", desc="training digits", dynamic_ncols=True)

    def progress(p) -> None:
        if p.val_accuracy is None:
            bar.set_postfix(
                loss=f"{p.loss:.3f}", step=f"{p.epoch_step}/{p.steps_per_epoch}", refresh=False
            )
        else:
            bar.set_postfix(loss=f"{p.loss:.3f}", val_acc=f"{p.val_accuracy:.2%}")
            bar.update(1)

    try:
        device = resolve_device(args.device)
        bar.write(f"training on {describe(device)}")
        metrics = train_digits(
            args.data,
            args.out,
            epochs=epochs,
            seed=args.seed,
            on_progress=progress,
            device=str(device),
        )
    except (DataError, OSError, ValueError) as exc:  # OSError: the checkpoint could not be written
        bar.close()
        return fail(str(exc))
    bar.close()
    print(
        f"best epoch {metrics['best_epoch']}: validation accuracy {metrics['val_accuracy']:.2%} "
        f"on {metrics['val_images']} images"
    )
    print(
        f"held-out test accuracy {metrics['test_accuracy']:.2%} on {metrics['test_images']} "
        f"images never used in training or model selection ({metrics['split']})"
    )
    print(f"wrote {args.out}")
    return 0
