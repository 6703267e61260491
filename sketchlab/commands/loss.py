"""`sketchlab loss PHOTO SKETCH.svg`: any registered method's objective of a sketch against its
photo.

So sketches made elsewhere (the reference code, people, other methods) can be compared on
the optimizer's scale. `--augmentations 0` gives the deterministic clean-pair loss, the same
number as the optimizer's eval loss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperCommand

METHOD_HELP = "The loss, one of the registered methods"


class MethodsListedInHelp(TyperCommand):
    """`loss`, whose --help lists the registered methods under `--method`: the method registry
    is read only when help is shown, so `sketchlab study ...` never imports sketchgen."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from sketchgen.methods import METHODS

        for param in self.params:
            if param.name == "method":
                listing = METHODS.listing(lambda entry: entry.description)
                param.help = f"{METHOD_HELP}: {listing}."
        super().format_help(ctx, formatter)


def loss_command(
    photo: Annotated[Path, typer.Argument(help="The photo the sketch depicts.")],
    sketch: Annotated[
        Path, typer.Argument(help="The sketch SVG (other canvas sizes are scaled to 224).")
    ],
    method: Annotated[
        str | None,
        typer.Option(help=METHOD_HELP, show_default="the default preset's"),
    ] = None,
    loss_weight: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TERM=WEIGHT",
            help="The weight of one of the method's terms in the total (repeatable), as a "
            "preset's loss_weights sets it.",
            show_default="the method's",
        ),
    ] = None,
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
        typer.Option(
            help="Local checkpoint of a CLIP method's model ('random': random weights, tests only)."
        ),
    ] = None,
    augmentations: Annotated[
        int, typer.Option(min=0, help="Augmented views (0 = clean pair only).")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the augmentation draws.")] = 0,
    model: Annotated[
        str, typer.Option(help="open_clip ResNet model of a CLIP method's loss.")
    ] = "RN101",
    pretrained: Annotated[str, typer.Option(help="open_clip pretrained tag.")] = "openai",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "cpu",
    renderer: Annotated[
        str, typer.Option(help="torch (built in) or diffvg (pydiffvg, if installed).")
    ] = "torch",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print a method's objective: the total and each of its terms as weighted in the total."""
    import torch

    from sketchgen.devices import parse_device
    from sketchgen.losses import sketch_objective
    from sketchgen.methods import METHODS, LossOptions, term_weights
    from sketchgen.models import RANDOM_WEIGHTS
    from sketchgen.preprocess import check_fit, load_target
    from sketchgen.presets import PRESETS
    from sketchgen.raster import check_renderer
    from sketchgen.svg import read_svg
    from sketchlab.contracts import CANVAS
    from sketchlab.errors import BadInput

    method = method or PRESETS[PRESETS.default].method
    chosen = METHODS.entry(method)
    try:
        weighted = term_weights(method, _term_weights(loss_weight or []))
    except ValueError as error:
        raise BadInput(f"--loss-weight: {error}.") from error
    torch_device = parse_device(device)
    check_renderer(renderer)
    target = load_target(photo, mask, check_fit(fit))
    drawn = read_svg(sketch)
    scale = torch.tensor([CANVAS / drawn.width, CANVAS / drawn.height])
    if chosen.uses_clip and weights == RANDOM_WEIGHTS:
        print(
            f"sketchlab: warning: --weights {RANDOM_WEIGHTS} scores with a randomly initialised "
            f"{model}; the numbers mean nothing outside tests.",
            file=sys.stderr,
        )
    options = LossOptions(model, pretrained, weights, augmentations, False, "fp32", weighted)
    loss, record = chosen.build_loss(options, torch_device)
    values = sketch_objective(
        loss,
        drawn.points * scale,
        drawn.half_widths * float(scale.prod().sqrt()),
        target,
        device=torch_device,
        colors=drawn.colors,
        seed=seed,
        renderer=renderer,
    )
    if as_json:
        extra = {"method": method, "augmentations": augmentations, "seed": seed}
        print(json.dumps({**values, **extra, "model": record["name"]}))
    else:
        for name, value in values.items():
            print(f"{name:9s}{value:.6g}")


def _term_weights(pairs: list[str]) -> dict[str, float]:
    """["semantic=0.2"] -> {"semantic": 0.2}; ValueError naming a pair that is not TERM=NUMBER."""
    weights = {}
    for pair in pairs:
        term, _, number = pair.partition("=")
        try:
            weights[term.strip()] = float(number)
        except ValueError:
            raise ValueError(f"{pair!r} is not TERM=WEIGHT, e.g. semantic=0.2") from None
    return weights


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("loss", cls=MethodsListedInHelp)(loss_command)
