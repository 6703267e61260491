"""`sketchlab loss PHOTO SKETCH.svg`: the CLIPasso objective of any sketch against its photo.

So sketches made elsewhere (the reference code, people, other methods) can be compared on
the optimizer's scale. `--augmentations 0` gives the deterministic clean-pair loss, the same
number as the optimizer's eval loss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def loss_command(
    photo: Annotated[Path, typer.Argument(help="The photo the sketch depicts.")],
    sketch: Annotated[
        Path, typer.Argument(help="The sketch SVG (other canvas sizes are scaled to 224).")
    ],
    mask: Annotated[
        Path | None, typer.Option(help="Object mask of the photo (bright = object).")
    ] = None,
    fit: Annotated[
        str,
        typer.Option(
            help="How the photo becomes the 224x224 target: squash (the reference's rule), pad "
            "or crop; use the run's (run.json settings.fit) to match its losses."
        ),
    ] = "squash",
    weights: Annotated[
        str | None,
        typer.Option(help="Local RN101 checkpoint ('random': random weights, tests only)."),
    ] = None,
    augmentations: Annotated[
        int, typer.Option(min=0, help="Augmented views (0 = clean pair only).")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the augmentation draws.")] = 0,
    model: Annotated[str, typer.Option(help="open_clip ResNet model of the loss.")] = "RN101",
    pretrained: Annotated[str, typer.Option(help="open_clip pretrained tag.")] = "openai",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "cpu",
    renderer: Annotated[
        str, typer.Option(help="torch (built in) or diffvg (pydiffvg, if installed).")
    ] = "torch",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the CLIPasso objective (total, layer2, layer3, semantic as weighted in the total)."""
    import torch

    from sketchgen.devices import parse_device
    from sketchgen.diffvg_backend import check_renderer
    from sketchgen.losses import ClipassoLoss, sketch_objective
    from sketchgen.models import RANDOM_WEIGHTS, load_frozen_clip
    from sketchgen.preprocess import check_fit, load_target
    from sketchgen.svg import read_svg
    from sketchlab.contracts import CANVAS

    torch_device = parse_device(device)
    check_renderer(renderer)
    target = load_target(photo, mask, check_fit(fit))
    drawn = read_svg(sketch)
    scale = torch.tensor([CANVAS / drawn.width, CANVAS / drawn.height])
    points = drawn.points * scale
    half_widths = drawn.half_widths * float(scale.prod().sqrt())
    if weights == RANDOM_WEIGHTS:
        print(
            f"sketchlab: warning: --weights random scores with a randomly initialised {model}; "
            "the numbers mean nothing outside tests.",
            file=sys.stderr,
        )
    clip = load_frozen_clip(model, pretrained, weights, device=torch_device)
    values = sketch_objective(
        ClipassoLoss(clip, augmentations=augmentations),
        points,
        half_widths,
        target,
        colors=drawn.colors,
        seed=seed,
        renderer=renderer,
    )
    if as_json:
        print(json.dumps({**values, "augmentations": augmentations, "seed": seed, "model": model}))
    else:
        for name in ("total", "layer2", "layer3", "semantic"):
            print(f"{name:9s}{values[name]:.6g}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("loss")(loss_command)
