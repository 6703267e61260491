"""Zero-shot CLIP classification of the sketches people saw, following LAION clip_benchmark.

Conventions (clip_benchmark `metrics/zeroshot_classification.py`, itself open_clip's
`zero_shot.py`): each class's prompts are encoded, every prompt embedding is L2-normalised,
the class's embeddings are averaged and the mean re-normalised; image embeddings are
L2-normalised and `logits = 100 * image @ classifier`. Reported per sketch: the full
softmax vector over the classes (`p_<class>`), the top-k predictions, the rank of the true
class and, separately from that forced choice, a CLIP analogue of "none of these" (a
max-probability threshold and distractor prompts such as "random scribbles.").

This is the only module of `analysis` that imports torch; models come from
`sketchgen.models.load_clip`, so a missing checkpoint gives the same message as generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import open_clip
import pandas as pd
import torch
import torch.nn.functional as F
from open_clip.pretrained import get_pretrained_cfg
from PIL import Image, UnidentifiedImageError
from sklearn.metrics import balanced_accuracy_score

from sketchlab.errors import BadInput
from sketchlab.files import atomic_write
from sketchlab.stimuli import read_stimuli as read_stimuli_csv

PROMPTS_FILE = Path(__file__).with_name("prompts.json")
LOGIT_SCALE = 100.0  # clip_benchmark's fixed scale; argmax does not depend on it, probabilities do
DEFAULT_NONE_THRESHOLD = 0.5  # "none" when the largest class probability is below this
TOP_K = 3
# CLIPasso optimises its strokes against this model (conv-layer L2 + embedding cosine), so
# scoring with it measures adversarial fit rather than recognisability.
LOSS_MODEL = ("RN101", "openai")
# CLIPasso picks stroke starting points from this model's attention; the paper also scored with it.
SALIENCY_MODEL = ("ViT-B-32", "openai")
# stimuli.csv columns copied into every score row, so scores join to responses on their own
CARRIED_COLUMNS = (
    "stimulus_id",
    "image_id",
    "class",
    "n_strokes",
    "seed",
    "method",
    "loss_model",
    "png_path",
)
TEXT_BATCH = 256  # prompts per encode_text call


@dataclass(frozen=True)
class PromptSet:
    """A named list of templates with a `{c}` placeholder for the class name."""

    name: str
    templates: tuple[str, ...]

    @property
    def hash(self) -> str:
        """First 12 hex digits of the sha256 of the templates as JSON; changes with any edit."""
        return text_hash(self.templates)


def text_hash(texts: Iterable[str]) -> str:
    """Stable short hash of a list of strings (order matters)."""
    return hashlib.sha256(json.dumps(list(texts)).encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1)
def _prompt_data() -> dict:
    return json.loads(PROMPTS_FILE.read_text())


def prompt_set_names() -> list[str]:
    """Names of the bundled prompt sets, in file order (photo, sketch, imagenet80)."""
    return list(_prompt_data()["prompt_sets"])


def load_prompt_sets(names: Sequence[str] = ("all",)) -> list[PromptSet]:
    """The bundled prompt sets called `names` ('all' = every set), without duplicates."""
    sets = _prompt_data()["prompt_sets"]
    wanted: list[str] = []
    for name in names:
        for item in prompt_set_names() if name == "all" else [name]:
            if item not in sets:
                raise BadInput(
                    f"unknown prompt set {item!r} in --prompts; choose from {', '.join(sets)} "
                    "or 'all'"
                )
            if item not in wanted:
                wanted.append(item)
    return [PromptSet(name, tuple(sets[name])) for name in wanted]


def default_distractors() -> list[str]:
    """Whole prompts ("random scribbles.") used as extra pseudo-classes for the "none" analogue."""
    return list(_prompt_data()["distractors"])


def _canonical_tag(model_name: str, tag: str | None) -> str:
    """'openai', 'file:RN101.pt' and 'RN101.pt' (OpenAI's own file name) all mean OpenAI's
    weights."""
    tag = (tag or "none").lower().removeprefix("file:")
    return "openai" if tag == f"{model_name.lower()}.pt" else tag


def is_circular(model_name: str, pretrained: str | None, loss_model: str | None = None) -> bool:
    """True when the scorer is the network the sketches were optimised against.

    `loss_model` is stimuli.csv's column ("RN101/openai", "RN101/RN101.pt", "xdog", ...); a
    bare model name means CLIPasso's OpenAI weights. Without it, the CLIPasso default
    (RN101/openai) counts.
    """
    name = model_name.lower().replace("/", "-")
    tag = _canonical_tag(name, pretrained)
    if loss_model is None or pd.isna(loss_model) or not str(loss_model).strip():
        return (name, tag) == (LOSS_MODEL[0].lower(), LOSS_MODEL[1])
    loss_name, _, loss_tag = str(loss_model).strip().partition("/")
    if loss_name.strip().lower() != name:
        return False
    return tag == _canonical_tag(name, loss_tag.strip() or LOSS_MODEL[1])


def read_stimuli(path: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """stimuli.csv through the shared reader (`sketchlab.stimuli`), and the absolute path of
    every PNG."""
    stimuli = read_stimuli_csv(path)
    return stimuli.drop(columns="png_file"), list(stimuli["png_file"])


def open_sketch(path: Path) -> Image.Image:
    """The PNG as people saw it: RGB, any transparency composited over white."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(white, rgba).convert("RGB")
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise BadInput(f"{path} is not a readable image: {error}") from None


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise BadInput(
            f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"--device {device!r} asks for CUDA, but torch sees no CUDA GPU here")
    return resolved


def inference_autocast(device: torch.device, amp: bool):
    """Mixed precision on CUDA (clip_benchmark's default), plain fp32 elsewhere."""
    return torch.autocast("cuda", dtype=torch.float16, enabled=amp and device.type == "cuda")


@torch.inference_mode()
def encode_texts(
    model, tokenizer: Callable, texts: Sequence[str], device: torch.device, amp: bool = True
) -> torch.Tensor:
    """L2-normalised text embeddings (len(texts), dim), float32 on `device`."""
    out = []
    for start in range(0, len(texts), TEXT_BATCH):
        tokens = tokenizer(list(texts[start : start + TEXT_BATCH])).to(device)
        with inference_autocast(device, amp):
            out.append(encode_text_trimmed(model, tokens).float())
    return F.normalize(torch.cat(out), dim=-1)


def encode_text_trimmed(model, tokens: torch.Tensor) -> torch.Tensor:
    """`model.encode_text(tokens)`, computed only up to the longest prompt's end token.

    CLIP's text tower is causal and reads the end-of-text position (argmax pooling), so the
    padding after it never changes the result; prompts are ~10-20 of the 77 tokens, which
    makes this ~5x cheaper. Other text towers (SigLIP, HF) fall back to `encode_text`.
    """
    plain = (
        not isinstance(model, open_clip.model.CLIP)
        or getattr(model, "text_pool_type", None) != "argmax"
        or model.attn_mask is None
    )
    if plain:
        return model.encode_text(tokens)
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    if isinstance(model.text_projection, torch.nn.Linear):
        return model.text_projection(x)
    return x if model.text_projection is None else x @ model.text_projection


def fill_template(template: str, class_name: str) -> str:
    """'a photo of a {c}.' -> 'a photo of a teddy bear.' (underscores in class names become
    spaces)."""
    return template.replace("{c}", class_name.replace("_", " "))


def build_classifier(
    model,
    tokenizer: Callable,
    class_names: Sequence[str],
    templates: Sequence[str],
    device: torch.device | str = "cpu",
    amp: bool = True,
) -> torch.Tensor:
    """Zero-shot weights (dim, n_classes): per class, normalise each prompt embedding, average,
    re-normalise."""
    device = torch.device(device)
    texts = [fill_template(t, c) for c in class_names for t in templates]
    embeddings = encode_texts(model, tokenizer, texts, device, amp)
    per_class = embeddings.reshape(len(class_names), len(templates), -1).mean(dim=1)
    return F.normalize(per_class, dim=-1).T.contiguous()


def zero_shot_probabilities(image_features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Softmax over `LOGIT_SCALE * cos` (features are L2-normalised here); (N, n_classes)."""
    image_features = F.normalize(image_features.float(), dim=-1)
    return (LOGIT_SCALE * image_features @ weights.float()).softmax(dim=-1)


def default_workers(device: torch.device) -> int:
    """Decoding processes: one keeps a CPU model fed (a PNG costs ~10 ms, an image-tower pass
    ~100x that); a GPU encodes thousands per second, so use up to 8 cores."""
    if device.type == "cuda":
        return max(1, min(8, (os.cpu_count() or 2) - 1))
    return 1


class SketchFiles(torch.utils.data.Dataset):
    """PNG paths -> preprocessed tensors; a bad file becomes its message (raised in the parent,
    so the user sees one sentence rather than a worker traceback)."""

    def __init__(self, paths: Sequence[Path], preprocess: Callable):
        self.paths, self.preprocess = list(paths), preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor | str:
        try:
            return self.preprocess(open_sketch(self.paths[index]))
        except BadInput as error:
            return str(error)


def _stack_or_error(items: list[torch.Tensor | str]) -> torch.Tensor | str:
    errors = [item for item in items if isinstance(item, str)]
    return errors[0] if errors else torch.stack(items)


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

    PNG decoding and the model's preprocessing run in `workers` DataLoader processes (0 = in
    this process; None = `default_workers(device)`), two batches each ahead of the model.
    Processes rather than threads: torch ops in a thread share the model's intra-op pool, and
    on a few CPU cores that made ToTensor/Normalize ~10x slower. `progress(n_done)` is
    called after each batch.
    """
    device = torch.device(device)
    workers = default_workers(device) if workers is None else workers
    loader = torch.utils.data.DataLoader(
        SketchFiles(paths, preprocess),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_stack_or_error,
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
        url = get_pretrained_cfg(*LOSS_MODEL).get("url", "")
        return bool(url) and self.weights_sha256 == url.rstrip("/").split("/")[-2]


def load_scorer(
    model_name: str,
    pretrained: str | None,
    *,
    weights: str | Path | None = None,
    device: str = "auto",
) -> Scorer:
    """Load a model through sketchgen's loader (offline-aware errors) with its tokenizer."""
    import open_clip

    from sketchgen.models import file_sha256, load_clip

    resolved = resolve_device(device)
    model, preprocess = load_clip(model_name, pretrained, weights=weights, device=resolved)
    checkpoint = getattr(model, "checkpoint_path", None)
    return Scorer(
        model=model,
        preprocess=preprocess,
        tokenizer=open_clip.get_tokenizer(model_name.replace("/", "-")),
        device=resolved,
        model_name=model_name.replace("/", "-"),
        pretrained=f"file:{Path(weights).name}" if weights else (pretrained or "none"),
        weights_sha256=file_sha256(checkpoint) if checkpoint else "random-init",
    )


def classify(
    image_features: torch.Tensor,
    weights: torch.Tensor,
    true_class: Sequence[str],
    class_names: Sequence[str],
    *,
    none_threshold: float = DEFAULT_NONE_THRESHOLD,
    distractor_features: torch.Tensor | None = None,
) -> pd.DataFrame:
    """Per-sketch forced-choice results and the two "none" analogues, one row per image.

    Forced choice is the softmax over the classes only. "None" by threshold: the largest class
    probability is below `none_threshold`. "None" by distractors: the distractor prompts join
    the softmax as extra pseudo-classes and one of them wins (`prob_none_distractor` is their
    summed probability).
    """
    names = list(class_names)
    index = {c: i for i, c in enumerate(names)}
    unknown = sorted(set(true_class) - set(index))
    if unknown:
        raise BadInput(f"class {unknown[0]!r} is not among the scored classes {names}")
    truth = np.array([index[c] for c in true_class])
    probs = zero_shot_probabilities(image_features, weights).numpy()
    order = np.argsort(-probs, axis=1, kind="stable")
    rank = 1 + np.argmax(order == truth[:, None], axis=1)
    k = min(TOP_K, len(names))
    rows = np.arange(len(truth))
    table = {}
    for j in range(k):
        table[f"pred_top{j + 1}"] = np.array(names, dtype=object)[order[:, j]]
        table[f"prob_top{j + 1}"] = probs[rows, order[:, j]]
    table["prob_true"] = probs[rows, truth]
    table["true_rank"] = rank
    table["correct_top1"] = (rank == 1).astype(int)
    table["correct_top3"] = (
        (rank <= 3).astype(float) if len(names) > TOP_K else np.full(len(truth), np.nan)
    )
    table["max_prob"] = probs.max(axis=1)
    table["none_threshold"] = none_threshold
    table["is_none_threshold"] = (table["max_prob"] < none_threshold).astype(int)
    if distractor_features is not None and len(distractor_features):
        extended = torch.cat([weights.float(), distractor_features.float().T], dim=1)
        ext_probs = zero_shot_probabilities(image_features, extended).numpy()
        table["prob_none_distractor"] = ext_probs[:, len(names) :].sum(axis=1)
        table["is_none_distractor"] = (ext_probs.argmax(axis=1) >= len(names)).astype(int)
    else:
        table["prob_none_distractor"] = np.nan
        table["is_none_distractor"] = np.nan
    frame = pd.DataFrame(table)
    probs_frame = pd.DataFrame(probs, columns=[f"p_{c}" for c in names])
    return pd.concat([frame, probs_frame], axis=1)


def score_images(
    scorer: Scorer,
    stimuli: pd.DataFrame,
    png_paths: Sequence[Path],
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
    """scores table: one row per sketch x prompt set, for an already loaded model.

    Images are encoded once and classified against each prompt set's classifier; the class
    list is the stimuli's classes plus `extra_classes`, sorted. `distractors=None` uses the
    bundled distractor prompts, `()` switches that analogue off.
    """
    model, tokenizer, device = scorer.model, scorer.tokenizer, scorer.device
    prompt_sets = list(prompt_sets) if prompt_sets is not None else load_prompt_sets()
    distractors = default_distractors() if distractors is None else list(distractors)
    class_names = sorted(set(stimuli["class"]) | set(extra_classes))
    if len(class_names) < 2:
        raise BadInput(
            f"zero-shot scoring needs at least 2 classes, got {class_names}; add some with "
            "--classes"
        )
    if not 0 <= none_threshold <= 1:
        raise BadInput(f"--none-threshold {none_threshold} is not a probability in [0, 1]")
    model.eval()
    image_features = encode_images(
        model,
        scorer.preprocess,
        list(png_paths),
        batch_size=batch_size,
        device=device,
        workers=workers,
        amp=amp,
        progress=progress,
    )
    distractor_features = (
        encode_texts(model, tokenizer, distractors, device, amp).cpu() if distractors else None
    )
    loss_models = (
        stimuli["loss_model"] if "loss_model" in stimuli.columns else [None] * len(stimuli)
    )
    # OpenAI's RN101.pt under another file name still counts as the openai weights.
    tag = LOSS_MODEL[1] if scorer.loss_model_weights else scorer.pretrained
    circular = np.array([is_circular(scorer.model_name, tag, lm) for lm in loss_models], dtype=int)
    keep = [c for c in CARRIED_COLUMNS if c in stimuli.columns]
    frames = []
    for prompt_set in prompt_sets:
        weights = build_classifier(
            model, tokenizer, class_names, prompt_set.templates, device, amp
        ).cpu()
        results = classify(
            image_features,
            weights,
            stimuli["class"].tolist(),
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
            index=stimuli.index,
        )
        frames.append(
            pd.concat(
                [stimuli[keep].reset_index(drop=True), meta.reset_index(drop=True), results], axis=1
            )
        )
    return pd.concat(frames, ignore_index=True)


def score_stimuli(
    stimuli_csv: str | Path,
    *,
    model_name: str = "ViT-B-32",
    pretrained: str | None = "openai",
    weights: str | None = None,
    prompts: Sequence[str] = ("all",),
    device: str = "auto",
    **options,
) -> pd.DataFrame:
    """Validate stimuli.csv, load the model and score every PNG (see `score_images` for options)."""
    stimuli, pngs = read_stimuli(stimuli_csv)
    prompt_sets = load_prompt_sets(prompts)
    scorer = load_scorer(model_name, pretrained, weights=weights, device=device)
    return score_images(scorer, stimuli, pngs, prompt_sets=prompt_sets, **options)


def _rate(values: pd.Series) -> float:
    return float(values.mean()) if len(values) and values.notna().any() else float("nan")


def _committed_accuracy(group: pd.DataFrame, none_column: str) -> float:
    committed = group[group[none_column] == 0]
    return float(committed["correct_top1"].mean()) if len(committed) else float("nan")


def summarize_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model x prompt set x stroke level (plus n_strokes='all'): top-1, top-3, mean per-class
    recall (sklearn balanced accuracy), and for each "none" analogue its rate, the accuracy among
    committed answers and the with-"none" accuracy (correct and not "none", as people are
    scored)."""
    rows = []
    keys = ["model", "pretrained", "prompt_set"]
    for key, group in scores.groupby(keys, sort=False):
        levels = [(str(n), g) for n, g in group.groupby("n_strokes")] + [("all", group)]
        for level, cell in levels:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # "y_pred contains classes not in y_true" is expected
                recall = balanced_accuracy_score(cell["class"], cell["pred_top1"])
            row = dict(zip(keys, key))
            row.update(
                {
                    "n_strokes": level,
                    "n_sketches": len(cell),
                    "circular": int(cell["circular"].max()),
                    "top1": float(cell["correct_top1"].mean()),
                    "top3": _rate(cell["correct_top3"]),
                    "mean_per_class_recall": float(recall),
                }
            )
            for analogue in ("threshold", "distractor"):
                flag = f"is_none_{analogue}"
                available = cell[flag].notna().all()
                row[f"none_rate_{analogue}"] = _rate(cell[flag]) if available else float("nan")
                row[f"top1_committed_{analogue}"] = (
                    _committed_accuracy(cell, flag) if available else float("nan")
                )
                row[f"top1_with_none_{analogue}"] = (
                    float(((cell["correct_top1"] == 1) & (cell[flag] == 0)).mean())
                    if available
                    else float("nan")
                )
            rows.append(row)
    return pd.DataFrame(rows)


def summary_paths(out: str | Path) -> tuple[Path, Path]:
    """scores.csv -> (scores.summary.csv, scores.summary.json)."""
    out = Path(out)
    return out.with_suffix(".summary.csv"), out.with_suffix(".summary.json")


def write_scores(scores: pd.DataFrame, out: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """Write scores.csv and its summary (CSV + JSON with the run's settings), each atomically."""
    out = Path(out)
    summary = summarize_scores(scores)
    summary_csv, summary_json = summary_paths(out)
    with atomic_write(out) as handle:
        scores.to_csv(handle, index=False)
    with atomic_write(summary_csv) as handle:
        summary.to_csv(handle, index=False)
    first = scores.iloc[0]
    prompt_sets = {
        name: {
            "hash": group["prompt_hash"].iloc[0],
            "n_templates": int(group["n_templates"].iloc[0]),
        }
        for name, group in scores.groupby("prompt_set", sort=False)
    }
    document = {
        "scores": out.name,
        "model": first["model"],
        "pretrained": first["pretrained"],
        "weights_sha256": first["weights_sha256"],
        "circular": bool(scores["circular"].any()),
        "classes": [c[2:] for c in scores.columns if c.startswith("p_")],
        "logit_scale": LOGIT_SCALE,
        "none_threshold": float(first["none_threshold"]),
        "distractor_hash": first["distractor_hash"],
        "prompt_sets": prompt_sets,
        "summary": json.loads(summary.to_json(orient="records")),
    }
    with atomic_write(summary_json) as handle:
        json.dump(document, handle, indent=2)
    return summary, [out, summary_csv, summary_json]
