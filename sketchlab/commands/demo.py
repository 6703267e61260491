"""`sketchlab demo`: the main job end to end, offline, on the bundled photos.

photos -> sketches at 4/8/16/32 strokes -> simulated participants in both conditions
(through the real study code) -> CLIP scores of the sketches and photos (when weights are on
disk) -> report.
Every step resumes: a rerun only does what is missing.
"""

from pathlib import Path
from typing import Annotated

import typer

from sketchlab.bundled import bundled

DATA = bundled("data")
SCORE_MODEL = ("ViT-B-32", "openai")


def demo(
    out: Annotated[Path, typer.Option(help="run folder for everything the demo writes")] = Path(
        "runs/demo"
    ),
    images: Annotated[Path, typer.Option(help="images.csv")] = DATA / "images.csv",
    study_yaml: Annotated[Path, typer.Option("--study", help="study.yaml to simulate")] = DATA
    / "study.yaml",
    participants: Annotated[int, typer.Option(help="simulated participants")] = 400,
    iterations: Annotated[
        int | None, typer.Option(help="optimisation steps per sketch (default: the preset's)")
    ] = None,
    clip_preset: Annotated[str, typer.Option(help="preset when CLIP weights are present")] = "fast",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N]")] = "auto",
) -> None:
    """Sketches, a simulated study, CLIP scores and the report for the bundled photos."""
    from analysis.report import ReportOptions, build_report
    from scoring.circularity import LOSS_MODEL, SALIENCY_MODEL
    from sketchgen.models import checkpoint_file
    from sketchgen.runner import generate

    out.mkdir(parents=True, exist_ok=True)
    have_clip = all(checkpoint_file(*model) for model in (LOSS_MODEL, SALIENCY_MODEL))
    if have_clip:
        typer.echo(f"CLIP weights found: CLIPasso method, preset {clip_preset!r}.")
        preset = clip_preset
    else:
        typer.echo(
            "No CLIP weights on disk (RN101/openai, ViT-B-32/openai): using the weight-free "
            "xdog method; see README 'CLIP weights' to enable the CLIPasso method."
        )
        preset = "demo"
    sketches = generate(
        images,
        out / "sketches",
        levels=(4, 8, 16, 32),
        seeds=(0,),
        preset=preset,
        device=device,
        iterations=iterations,
    )
    stimuli_csv = sketches / "stimuli.csv"

    responses = simulate_study(study_yaml, stimuli_csv, out, participants)

    scores = None
    if checkpoint_file(*SCORE_MODEL):
        scores = score(stimuli_csv, images, out / "scores.csv", device)
    else:
        typer.echo(
            "No ViT-B-32/openai weights on disk: skipping CLIP scoring; run "
            f"`sketchlab score {stimuli_csv} --model ViT-B-32 --pretrained openai` "
            "once the weights are downloaded (see README 'CLIP weights')."
        )

    # Simulated participants fail checks and leave at the rates of real ones, so a small demo
    # can lose more than a tenth of them; the report still says so at its top.
    options = ReportOptions(scores_path=scores, simulated=True, allow_exclusions=True)
    build_report(responses, out / "report", options)
    typer.echo(f"report: {(out / 'report' / 'index.html').resolve()}")


def simulate_study(study_yaml: Path, stimuli_csv: Path, out: Path, participants: int) -> Path:
    """Simulate the example study over the demo's sketches, in a database of its own."""
    import yaml

    from sketchlab.files import atomic_write
    from study.config import load_study
    from study.export import export
    from study.simulate import simulate
    from study.storage import Storage

    config = yaml.safe_load(study_yaml.read_text())
    config["stimuli"] = str(stimuli_csv.resolve())
    config["storage"] = f"sqlite:///{(out / 'study.db').resolve()}"
    demo_yaml = out / "study.yaml"
    with atomic_write(demo_yaml) as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)

    study = load_study(demo_yaml)
    storage = Storage(study.storage, study.study_id, durable=False)
    try:
        if not storage.participant_ids():
            summary = simulate(study, storage, participants, "paper", seed=0)
            typer.echo(
                f"simulated {summary.participants} participants "
                f"({summary.responses_written} answers; simulated data, not a result)"
            )
        responses, *_ = export(study, storage, out / "responses.csv")
    finally:
        storage.close()
    return responses


def score(stimuli_csv: Path, images_csv: Path, scores_csv: Path, device: str) -> Path:
    """Zero-shot CLIP scores of the sketches, and of the photos (the ceiling), with a model
    that is not the loss model."""
    from scoring.classifier import LOGIT_SCALE
    from scoring.scorer import score_stimuli
    from scoring.summaries import write_scores

    if not scores_csv.exists():
        write_scores(
            score_stimuli(
                stimuli_csv,
                photos_csv=images_csv,
                model_name=SCORE_MODEL[0],
                pretrained=SCORE_MODEL[1],
                device=device,
            ),
            scores_csv,
            logit_scale=LOGIT_SCALE,
        )
    return scores_csv


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("demo")(demo)
