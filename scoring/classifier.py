"""Zero-shot classification maths, following LAION clip_benchmark.

Conventions (clip_benchmark `metrics/zeroshot_classification.py`, itself open_clip's
`zero_shot.py`): each class's prompts are encoded, every prompt embedding is L2-normalised,
the class's embeddings are averaged and the mean re-normalised; image embeddings are
L2-normalised and `logits = 100 * image @ classifier`. Reported per image: the full
softmax vector over the classes (`p_<class>`), the top-k predictions, the rank of the true
class and, separately from that forced choice, a CLIP analogue of "none of these" (a
max-probability threshold and distractor prompts such as "random scribbles.").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from scoring.prompts import fill_template
from sketchlab.errors import BadInput

LOGIT_SCALE = 100.0  # clip_benchmark's fixed scale; argmax does not depend on it, probabilities do
DEFAULT_NONE_THRESHOLD = 0.5  # "none" when the largest class probability is below this
TOP_K = 3
TEXT_BATCH = 256  # prompts per encode_text call


def check_none_threshold(none_threshold: float) -> None:
    """BadInput unless the "none" threshold is a probability."""
    if not 0 <= none_threshold <= 1:
        raise BadInput(f"--none-threshold {none_threshold} is not a probability in [0, 1]")


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
    makes this ~5x cheaper. Other text towers (SigLIP, HF; open_clip's CustomTextCLIP has
    no `text_pool_type`) fall back to `encode_text`.
    """
    if (
        getattr(model, "text_pool_type", None) != "argmax"
        or getattr(model, "attn_mask", None) is None
    ):
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


def classify(
    image_features: torch.Tensor,
    weights: torch.Tensor,
    true_class: Sequence[str],
    class_names: Sequence[str],
    *,
    none_threshold: float = DEFAULT_NONE_THRESHOLD,
    distractor_features: torch.Tensor | None = None,
) -> pd.DataFrame:
    """Per-image forced-choice results and the two "none" analogues, one row per image.

    Forced choice is the softmax over the classes only. "None" by threshold: the largest class
    probability is below `none_threshold`. "None" by distractors: the distractor prompts join
    the softmax as extra pseudo-classes and one of them wins (`prob_none_distractor` is their
    summed probability).
    """
    names = list(class_names)
    index = {c: i for i, c in enumerate(names)}
    unknown = sorted(set(true_class) - set(index))
    if unknown:
        raise BadInput(f"class {unknown[0]!r} is not among the scored classes ({', '.join(names)})")
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
