"""`sketchlab bench generate`: the cost of an optimisation step, the presets' speed, the GPU
batch goals and the fast preset's bf16 agreement (see sketchlab/bench/generate.py)."""

from pathlib import Path
from typing import Annotated

import typer


def bench_generate(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the figures here")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    iterations: Annotated[
        int, typer.Option(min=1, help="timed repeats per measurement (medians)")
    ] = 3,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads")] = 2,
    model: Annotated[
        str, typer.Option(help="loss model (random weights); RN-tiny only to check the bench")
    ] = "RN101",
    timed_iterations: Annotated[
        int, typer.Option(min=1, help="timed steps per batch in the batches section")
    ] = 50,
    batch_images: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="images in the big batch (12 sketches each); 0 = no batches section",
            show_default="8 on CUDA, 0 on CPU",
        ),
    ] = None,
    fit_limit: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="most sketches tried when looking for the largest batch that fits",
            show_default="4096 on CUDA, 0 on CPU",
        ),
    ] = None,
    agreement: Annotated[
        Path | None,
        typer.Option(help="images.csv whose photos measure the fast preset's bf16 agreement"),
    ] = None,
    agreement_iterations: Annotated[
        int, typer.Option(min=1, help="steps of the agreement's optimisation runs")
    ] = 200,
    agreement_photos: Annotated[
        int | None, typer.Option(min=1, help="first N photos only", show_default="all")
    ] = None,
) -> None:
    """Per-iteration cost of the paper preset at 16 strokes (render / CLIP / other) next to
    the bare RN101 floor, batched vs separate throughput, each preset's seconds per
    sketch-iteration, peak memory, and (on CUDA) the batch goals (random weights)."""
    from sketchlab.bench.generate import run_bench
    from sketchlab.files import print_json

    figures = run_bench(
        device=device,
        iterations=iterations,
        threads=threads,
        model_name=model,
        timed_iterations=timed_iterations,
        batch_images=batch_images,
        fit_limit=fit_limit,
        agreement_images=str(agreement) if agreement else None,
        agreement_iterations=agreement_iterations,
        agreement_photos=agreement_photos,
    )
    print_json(figures, json_out)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    bench.command("generate")(bench_generate)
