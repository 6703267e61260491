"""`sketchlab generate` (photos -> run folder of sketches; its bench is bench_generate.py).

`generate` parses its own arguments with argparse because `--levels 4 8 16 32` and
`--seeds 0 1000 2000` take several values after one flag, which click options cannot.
"""

import argparse

import typer


def _parser() -> argparse.ArgumentParser:
    """The options; every list in them (presets, methods, fits) comes from its registry."""
    from sketchgen.methods import METHODS
    from sketchgen.models import RANDOM_WEIGHTS
    from sketchgen.preprocess import FITS
    from sketchgen.presets import PRESETS
    from sketchgen.runner import GPU_BATCH_SKETCHES

    parser = argparse.ArgumentParser(
        prog="sketchlab generate",
        description="CLIPasso sketches of every photo in IMAGES.csv at several stroke counts; "
        "writes stimuli.csv, svg/, png/, run.json, curves/ and sheets/ into --out. Rerun the "
        "same command to resume after an interruption.",
    )
    parser.add_argument(
        "images_csv",
        metavar="IMAGES.csv",
        help="image_id, class, path[, mask_path] (see `sketchlab images`)",
    )
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    parser.add_argument(
        "--levels",
        type=int,
        nargs="+",
        default=None,
        help="stroke counts (default: the preset's, or the --init SVG's count)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="one sketch per seed and level; the lowest eval loss wins (default: the preset's)",
    )
    parser.add_argument(
        "--preset",
        default=None,
        metavar="|".join(PRESETS),
        help="named settings (docs/generation.md's preset table): "
        + PRESETS.listing(lambda preset: preset.description),
    )
    parser.add_argument(
        "--method",
        choices=list(METHODS),
        default=None,
        help="the loss (default: the preset's): "
        + METHODS.listing(lambda method: method.description),
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--iterations", type=int, default=None, help="override the preset's")
    parser.add_argument(
        "--augmentations",
        type=int,
        default=None,
        help="augmented views per step (default: the preset's; 0 = clean pair only)",
    )
    parser.add_argument(
        "--init",
        default=None,
        metavar="saliency|edges|FILE.svg",
        help="start strokes: the saliency init (clipasso's default), uniform on "
        "XDoG edges (no weights needed), or the strokes of an SVG file",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help=f"local checkpoint for the loss model ({RANDOM_WEIGHTS!r}: random init)",
    )
    parser.add_argument(
        "--saliency-weights",
        default=None,
        help=f"local checkpoint for the saliency model ({RANDOM_WEIGHTS!r}: random init)",
    )
    parser.add_argument(
        "--loss-model", default=None, help="open_clip model name (default: the preset's)"
    )
    parser.add_argument(
        "--renderer",
        default="torch",
        metavar="torch|diffvg",
        help="rasterizer: the built-in PyTorch one (default) or pydiffvg, if installed",
    )
    parser.add_argument(
        "--fit",
        choices=FITS,
        default=None,
        help="how a non-square photo becomes the 224x224 target (default: the preset's): "
        "squash = resized to the square, proportions changed (the reference code's rule); "
        "pad = whole photo kept, white bars added; crop = centre square kept",
    )
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local (default), or ray to spread images over a Ray cluster (pip install "
        "'sketchlab[ray]')",
    )
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    parser.add_argument(
        "--batch-sketches",
        type=int,
        default=None,
        help="most sketches optimised together (default on CPU: "
        + ", ".join(f"{m.cpu_batch_sketches} for {name}" for name, m in METHODS.items())
        + f"; on a GPU: {GPU_BATCH_SKETCHES})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    return parser


def generate(ctx: typer.Context) -> None:
    """Make sketches at 4/8/16/32 strokes from images.csv (see `sketchlab generate --help`)."""
    args = _parser().parse_args(ctx.args)
    from sketchgen.runner import generate as run_generate

    folder = run_generate(
        args.images_csv,
        args.out,
        levels=args.levels,
        seeds=args.seeds,
        preset=args.preset,
        method=args.method,
        device=args.device,
        iterations=args.iterations,
        augmentations=args.augmentations,
        weights=args.weights,
        init=args.init if args.init in ("saliency", "edges") else None,
        init_svg=None if args.init in (None, "saliency", "edges") else args.init,
        saliency_weights=args.saliency_weights,
        loss_model=args.loss_model,
        renderer=args.renderer,
        fit=args.fit,
        executor=args.executor,
        ray_address=args.ray_address,
        progress=not args.no_progress,
        max_batch_sketches=args.batch_sketches,
    )
    print(f"wrote {folder / 'stimuli.csv'}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command(
        "generate",
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "help_option_names": [],
        },
        add_help_option=False,
    )(generate)
