"""`sketchlab score` (zero-shot CLIP classification of the sketches) and `sketchlab bench score`."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from scoring.prompts import ALL, PROMPT_SETS
from sketchlab.registry import words

PROMPTS_HELP = f"Prompt set (repeatable): {PROMPT_SETS.words()}, or {ALL} for every registered set."
WEIGHTS_HELP = (
    "Local checkpoint file for --model (offline), or 'random' for random weights (the same "
    "every run; tests and benches)."
)
PRETRAINED_HELP = "open_clip pretrained tag ('none': the old spelling of --weights random)."


def _weights(pretrained: str, weights: str | None) -> tuple[str, str | None]:
    """(tag, weights): `--pretrained none`, the old spelling of `--weights random` (the one
    spelling of random weights in generate, loss and score), still works, with a note."""
    from sketchgen.models import RANDOM_WEIGHTS

    if pretrained.lower() != "none":
        return pretrained, weights
    print(
        f"sketchlab: note: --pretrained none is deprecated; use --weights {RANDOM_WEIGHTS} "
        "(random weights).",
        file=sys.stderr,
    )
    return pretrained, weights or RANDOM_WEIGHTS


def _print_summary(summary) -> None:
    from rich.console import Console
    from rich.table import Table

    from sketchlab.contracts import PHOTO

    table = Table(
        title="CLIP zero-shot accuracy per stroke level (forced choice; 'none' analogues apart)"
    )
    columns = [
        ("prompt_set", "prompts"),
        ("n_strokes", "strokes"),
        ("n_sketches", "n"),
        ("top1", "top-1"),
        ("top3", "top-3"),
        ("mean_per_class_recall", "mean recall"),
        ("none_rate_threshold", "none (p<thr)"),
        ("none_rate_distractor", "none (distractor)"),
    ]
    for _, header in columns:
        table.add_column(header, justify="right")
    for row in summary.to_dict("records"):
        if row.get("kind") == PHOTO:
            row["n_strokes"] = "photo"
        table.add_row(
            *[
                f"{row[key]:.3f}" if isinstance(row[key], float) else str(row[key])
                for key, _ in columns
            ]
        )
    Console().print(table)


def score(
    stimuli: Annotated[
        Path, typer.Argument(help="stimuli.csv of a run folder (png_path relative to it).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="scores CSV to write.", show_default="scores.csv beside stimuli.csv"
        ),
    ] = None,
    model: Annotated[
        str, typer.Option(help="open_clip model name, e.g. ViT-B-32, RN101.")
    ] = "ViT-B-32",
    pretrained: Annotated[str, typer.Option(help=PRETRAINED_HELP)] = "openai",
    weights: Annotated[str | None, typer.Option(help=WEIGHTS_HELP)] = None,
    photos: Annotated[
        Path | None,
        typer.Option(
            help="images.csv the sketches were made from: also score each photo (kind=photo, "
            "n_strokes 0), CLIP's ceiling in the report."
        ),
    ] = None,
    prompts: Annotated[
        list[str] | None,
        typer.Option(help=PROMPTS_HELP, show_default=words(PROMPT_SETS.defaults, "and")),
    ] = None,
    classes: Annotated[
        list[str] | None,
        typer.Option(help="Extra class names to choose among, besides stimuli.csv's (repeatable)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="Images per encode_image call.")] = 32,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes decoding PNGs ahead of the model (0 = in this process).",
            show_default="1 on CPU, up to 8 on CUDA",
        ),
    ] = None,
    none_threshold: Annotated[
        float, typer.Option(help="'none' when the largest class probability is below this.")
    ] = 0.5,
    distractors: Annotated[
        list[str] | None,
        typer.Option(
            help="Whole prompts standing for 'none' (repeatable).",
            show_default="scoring/prompts.json's distractors",
        ),
    ] = None,
    no_distractors: Annotated[
        bool, typer.Option("--no-distractors", help="Skip the distractor analogue.")
    ] = False,
    amp: Annotated[
        bool, typer.Option(help="float16 autocast on CUDA (clip_benchmark's default).")
    ] = True,
) -> None:
    """Zero-shot CLIP classification of every sketch in STIMULI, following clip_benchmark.

    Writes one row per sketch x prompt set (probabilities per class, top-k, rank of the true
    class, the 'none' analogues, model and prompt hashes) and scores.summary.csv/.json. With
    --photos, also one row per photo x prompt set: the same question asked of the photo the
    sketch was drawn from.
    """
    from tqdm import tqdm

    from scoring.circularity import SALIENCY_MODEL
    from scoring.classifier import LOGIT_SCALE, check_none_threshold
    from scoring.prompts import load_prompt_sets
    from scoring.scorer import load_scorer, read_images, score_images
    from scoring.summaries import write_scores
    from sketchgen.models import RANDOM_WEIGHTS
    from sketchlab.contracts import PHOTO

    pretrained, weights = _weights(pretrained, weights)
    out = out or stimuli.parent / "scores.csv"
    table, files = read_images(stimuli, photos)
    n_photos = int((table["kind"] == PHOTO).sum())
    prompt_sets = load_prompt_sets(prompts)
    check_none_threshold(none_threshold)
    if weights == RANDOM_WEIGHTS:
        print(
            f"note: --weights {RANDOM_WEIGHTS} scores with random weights; the numbers mean "
            "nothing."
        )
    scorer = load_scorer(model, pretrained, weights=weights, device=device)
    photo_note = f" and {n_photos} photos (fit: {table.attrs['fit']})" if photos else ""
    print(
        f"scoring {len(table) - n_photos} sketches{photo_note} with {scorer.model_name}/"
        f"{scorer.pretrained} on {scorer.device}, prompt sets "
        f"{', '.join(p.name for p in prompt_sets)}"
    )
    if table.attrs.get("photos_without_sketches"):
        print(
            f"note: {table.attrs['photos_without_sketches']} photos of {photos} have no sketch "
            "in stimuli.csv and are not scored."
        )
    with tqdm(total=len(table), unit="image", desc="encode") as bar:
        scores = score_images(
            scorer,
            table,
            files,
            prompt_sets=prompt_sets,
            extra_classes=classes or (),
            none_threshold=none_threshold,
            distractors=() if no_distractors else distractors,
            batch_size=batch_size,
            workers=workers,
            amp=amp,
            progress=lambda done: bar.update(done - bar.n),
        )
    if scores["circular"].any():
        print(
            f"warning: {scorer.model_name}/{scorer.pretrained} is the network these sketches were "
            "optimised against (CLIPasso's loss model), so its scores measure fit to the loss, not "
            "recognisability; those rows are flagged circular=1. Score with another model for the "
            "main result."
        )
    elif (scorer.model_name, scorer.pretrained) == SALIENCY_MODEL:
        print(
            "note: ViT-B-32/openai placed the strokes' starting points (CLIPasso's saliency) and "
            "the paper scored with it too; a LAION-trained model is a more independent judge."
        )
    summary, paths = write_scores(scores, out, logit_scale=LOGIT_SCALE)
    _print_summary(summary)
    print(f"wrote {', '.join(str(p) for p in paths)}")


def bench_score(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON here.")
    ] = None,
    model: Annotated[str, typer.Option()] = "ViT-B-32",
    pretrained: Annotated[str, typer.Option(help=PRETRAINED_HELP)] = "openai",
    weights: Annotated[
        str, typer.Option(help="Local checkpoint file, or 'random' (the same compute).")
    ] = "random",
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    n_sketches: Annotated[int, typer.Option(min=1)] = 128,
    device: Annotated[str, typer.Option()] = "auto",
    prompts: Annotated[
        list[str] | None, typer.Option(help=PROMPTS_HELP, show_default="photo")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="PNG decoding processes.", show_default="1 on CPU, up to 8 on CUDA"
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option(min=0, help="torch CPU threads; 0 = torch's default.")
    ] = 2,
    repeats: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Sketches/s of `score` next to bare open_clip encode_image (same batches, device, model)."""
    from sketchlab.bench.score import bench_score as run_bench
    from sketchlab.files import print_json

    pretrained, weights = _weights(pretrained, weights)
    result = run_bench(
        model_name=model,
        pretrained=pretrained,
        weights=weights,
        batch_size=batch_size,
        n_sketches=n_sketches,
        device=device,
        prompts=tuple(prompts or ["photo"]),
        workers=workers,
        threads=threads or None,
        repeats=repeats,
    )
    print_json(result, json_out, indent=2)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("score")(score)
    bench.command("score")(bench_score)
