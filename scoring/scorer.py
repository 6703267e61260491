"""A loaded CLIP model, and scoring a table of images with it (`sketchlab score`).

Models and tokenizers come from `sketchgen.models` (the project's one open_clip entry
point), so a missing checkpoint gives the same message as generation, and devices from
`sketchgen.devices.parse_device`. Images are encoded once and classified against every
prompt set's classifier (docs/scoring.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from scoring.circularity import LOSS_MODEL, is_circular
from scoring.classifier import (
    DEFAULT_NONE_THRESHOLD,
    build_classifier,
    check_none_threshold,
    classify,
    encode_texts,
    inference_autocast,
)
from scoring.data import (
    ImageFiles,
    PhotoFile,
    default_workers,
    read_photos,
    read_stimuli,
    stack_or_error,
)
from scoring.prompts import PromptSet, default_distractors, load_prompt_sets, text_hash
from sketchgen.devices import parse_device
from sketchgen.models import (
    RANDOM_INIT_SEED,
    RANDOM_WEIGHTS,
    file_sha256,
    load_clip,
    load_tokenizer,
    published_sha256,
)
from sketchgen.run_folder import recorded_fit
from sketchlab.contracts import SCORE_CARRIED_COLUMNS
from sketchlab.errors import BadInput


@dataclass
class Scorer:
    """A loaded CLIP model and how to name it in every score row."""

    model: torch.nn.Module
    preprocess: Callable
    tokenizer: Callable
    device: torch.device
    model_name: str
    pretrained: str  # open_clip tag, 'file:<name>' for --weights, 'none' for random weights
    weights_sha256: str  # sha256 of the checkpoint file; 'random-init' without one

    @property
    def loss_model_weights(self) -> bool:
        """The file is OpenAI's RN101.pt, CLIPasso's loss model, whatever it is called."""
        return self.weights_sha256 == published_sha256(*LOSS_MODEL)


def load_scorer(
    model_name: str,
    pretrained: str | None,
    *,
    weights: str | Path | None = None,
    device: str = "auto",
) -> Scorer:
    """Load a model through sketchgen's loader (offline-aware errors) with its tokenizer.

    weights: a local checkpoint, RANDOM_WEIGHTS ("random": a random init, the same in every
    run; so is `pretrained` None without a file) or None for the `pretrained` tag's weights.
    """
    resolved = parse_device(device)
    if weights == RANDOM_WEIGHTS:
        pretrained, weights = None, None
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        if pretrained is None and weights is None:
            torch.manual_seed(RANDOM_INIT_SEED)  # random weights, the same in every run
        model, preprocess = load_clip(model_name, pretrained, weights=weights, device=resolved)
    checkpoint = getattr(model, "checkpoint_path", None)
    return Scorer(
        model=model,
        preprocess=preprocess,
        tokenizer=load_tokenizer(model_name),
        device=resolved,
        model_name=model_name.replace("/", "-"),
        pretrained=f"file:{Path(weights).name}" if weights else (pretrained or "none"),
        weights_sha256=file_sha256(checkpoint) if checkpoint else "random-init",
    )


@torch.inference_mode()
def encode_images(
    model,
    preprocess: Callable,
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    workers: int | None = None,
    amp: bool = True,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """L2-normalised image embeddings (len(paths), dim), float32 on CPU.

    Decoding and the model's preprocessing run in `workers` DataLoader processes (0 = in
    this process; None = `default_workers(device)`), two batches each ahead of the model.
    Processes rather than threads: torch ops in a thread share the model's intra-op pool, and
    on a few CPU cores that made ToTensor/Normalize ~10x slower. `progress(n_done)` is
    called after each batch.
    """
    device = torch.device(device)
    workers = default_workers(device) if workers is None else workers
    loader = torch.utils.data.DataLoader(
        ImageFiles(paths, preprocess),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=stack_or_error,
        pin_memory=device.type == "cuda",
        prefetch_factor=2 if workers else None,
    )
    features: list[torch.Tensor] = []
    done = 0
    for batch in loader:
        if isinstance(batch, str):
            raise BadInput(batch)
        with inference_autocast(device, amp):
            encoded = model.encode_image(batch.to(device, non_blocking=True))
        features.append(F.normalize(encoded.float(), dim=-1).cpu())
        done += len(batch)
        if progress:
            progress(done)
    dim = features[0].shape[1] if features else 0
    return torch.cat(features) if features else torch.empty(0, dim)


def score_images(
    scorer: Scorer,
    images: pd.DataFrame,
    files: Sequence[Path | PhotoFile],
    *,
    prompt_sets: Sequence[PromptSet] | None = None,
    extra_classes: Sequence[str] = (),
    none_threshold: float = DEFAULT_NONE_THRESHOLD,
    distractors: Sequence[str] | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    amp: bool = True,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """scores table: one row per image x prompt set, for an already loaded model.

    `images` is stimuli.csv's table (`data.read_stimuli`), optionally followed by photo rows
    (`data.read_photos`), and `files` their PNG paths and PhotoFiles, in the same order.
    Images are encoded once and classified against each prompt set's classifier; the class
    list is the images' classes plus `extra_classes`, sorted. `distractors=None` uses the
    bundled distractor prompts, `()` switches that analogue off.
    """
    model, tokenizer, device = scorer.model, scorer.tokenizer, scorer.device
    prompt_sets = list(prompt_sets) if prompt_sets is not None else load_prompt_sets()
    distractors = default_distractors() if distractors is None else list(distractors)
    class_names = sorted(set(images["class"]) | set(extra_classes))
    if len(class_names) < 2:
        raise BadInput(
            f"zero-shot scoring needs at least 2 classes, got {', '.join(class_names)}; add "
            "some with --classes"
        )
    check_none_threshold(none_threshold)
    model.eval()
    image_features = encode_images(
        model,
        scorer.preprocess,
        list(files),
        batch_size=batch_size,
        device=device,
        workers=workers,
        amp=amp,
        progress=progress,
    )
    distractor_features = (
        encode_texts(model, tokenizer, distractors, device, amp).cpu() if distractors else None
    )
    loss_models = images["loss_model"] if "loss_model" in images.columns else [None] * len(images)
    # OpenAI's RN101.pt under another file name still counts as the openai weights.
    tag = LOSS_MODEL[1] if scorer.loss_model_weights else scorer.pretrained
    circular = np.array([is_circular(scorer.model_name, tag, lm) for lm in loss_models], dtype=int)
    keep = [c for c in SCORE_CARRIED_COLUMNS if c in images.columns]
    frames = []
    for prompt_set in prompt_sets:
        weights = build_classifier(
            model, tokenizer, class_names, prompt_set.templates, device, amp
        ).cpu()
        results = classify(
            image_features,
            weights,
            images["class"].tolist(),
            class_names,
            none_threshold=none_threshold,
            distractor_features=distractor_features,
        )
        meta = pd.DataFrame(
            {
                "model": scorer.model_name,
                "pretrained": scorer.pretrained,
                "weights_sha256": scorer.weights_sha256,
                "prompt_set": prompt_set.name,
                "prompt_hash": prompt_set.hash,
                "n_templates": len(prompt_set.templates),
                "distractor_hash": text_hash(distractors) if distractors else "",
                "circular": circular,
            },
            index=images.index,
        )
        frames.append(
            pd.concat(
                [images[keep].reset_index(drop=True), meta.reset_index(drop=True), results], axis=1
            )
        )
    return pd.concat(frames, ignore_index=True)


def score_stimuli(
    stimuli_csv: str | Path,
    *,
    photos_csv: str | Path | None = None,
    model_name: str = "ViT-B-32",
    pretrained: str | None = "openai",
    weights: str | None = None,
    prompts: Sequence[str] | None = None,
    device: str = "auto",
    **options,
) -> pd.DataFrame:
    """Validate stimuli.csv (and `photos_csv`, an images.csv), load the model and score every
    sketch (and photo) with the prompt sets called `prompts` (None: the default sets; see
    `load_prompt_sets`); see `score_images` for the options."""
    images, files = read_images(stimuli_csv, photos_csv)
    prompt_sets = load_prompt_sets(prompts)
    scorer = load_scorer(model_name, pretrained, weights=weights, device=device)
    return score_images(scorer, images, files, prompt_sets=prompt_sets, **options)


def read_images(
    stimuli_csv: str | Path, photos_csv: str | Path | None = None
) -> tuple[pd.DataFrame, list[Path | PhotoFile]]:
    """The sketches of stimuli.csv, then (with `photos_csv`) the photos they were drawn from,
    fitted to the canvas as the run beside stimuli.csv did (`recorded_fit`): the table and
    files `score_images` takes (`attrs` as `data.read_photos` sets them, and `fit`)."""
    stimuli, files = read_stimuli(stimuli_csv)
    if photos_csv is None:
        return stimuli, list(files)
    fit = recorded_fit(Path(stimuli_csv).parent)
    photos, photo_files = read_photos(photos_csv, stimuli, fit)
    photos.attrs["fit"] = fit
    images = pd.concat([stimuli, photos], ignore_index=True)
    images.attrs = dict(photos.attrs)
    return images, [*files, *photo_files]
