"""`sketchlab loss PHOTO SKETCH.svg`: the CLIPasso objective of any sketch against its photo.

So sketches made elsewhere (the reference code, people, other methods) can be compared on
the optimizer's scale. `--augmentations 0` gives the deterministic clean-pair loss, the same
number as the optimizer's eval loss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

RANDOM_WEIGHTS = "random"


def loss_command(
    photo: Path = typer.Argument(..., help="The photo the sketch depicts (as in images.csv)."),
    sketch: Path = typer.Argument(..., help="The sketch SVG (ours or CLIPasso's; other canvas sizes are scaled to 224)."),
    mask: Path | None = typer.Option(None, "--mask", help="Object mask of the photo (object bright, same size)."),
    weights: str | None = typer.Option(
        None, "--weights", help="Local RN101 checkpoint instead of the cached open_clip weights ('random': tests only)."
    ),
    augmentations: int = typer.Option(4, "--augmentations", min=0, help="Augmented views (0 = clean pair only, deterministic)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the augmentation draws."),
    model: str = typer.Option("RN101", "--model", help="open_clip ResNet model for the loss."),
    pretrained: str = typer.Option("openai", "--pretrained", help="open_clip pretrained tag."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda[:N]."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print the CLIPasso objective (total, layer2, layer3, semantic as weighted in the total)."""
    import torch

    from sketchgen.losses import ClipassoLoss, sketch_objective
    from sketchgen.models import RANDOM_INIT_SEED, load_clip
    from sketchgen.preprocess import CANVAS, load_target
    from sketchgen.svg import read_svg

    target = load_target(photo, mask)
    drawn = read_svg(sketch)
    scale = torch.tensor([CANVAS / drawn.width, CANVAS / drawn.height])
    points = drawn.points * scale
    half_widths = drawn.half_widths * float(scale.prod().sqrt())
    if weights == RANDOM_WEIGHTS:
        print(f"sketchlab: warning: --weights random scores with a randomly initialised {model}; "
              "the numbers mean nothing outside tests.", file=sys.stderr)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            clip, _ = load_clip(model, None, device=device)
    else:
        clip, _ = load_clip(model, None if weights else pretrained, weights=weights, device=device)
    values = sketch_objective(ClipassoLoss(clip, augmentations=augmentations), points, half_widths, target,
                              colors=drawn.colors, seed=seed)
    if as_json:
        print(json.dumps({**values, "augmentations": augmentations, "seed": seed, "model": model}))
    else:
        for name in ("total", "layer2", "layer3", "semantic"):
            print(f"{name:9s}{values[name]:.6g}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("loss")(loss_command)
