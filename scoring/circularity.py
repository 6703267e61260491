"""The circularity rule: scoring with the network the sketches were optimised against.

CLIPasso optimises its strokes against OpenAI's RN101 (the loss), so that network's
verdict measures fit to the loss, not recognisability (docs/scoring.md, "Circularity").
`sketchlab score` flags such rows and the report warns about them; both use this module,
which imports no torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOSS_MODEL = ("RN101", "openai")
"""CLIPasso optimises its strokes against this model (conv-layer L2 + embedding cosine)."""
SALIENCY_MODEL = ("ViT-B-32", "openai")
"""CLIPasso picks stroke starting points from this model's attention; the paper also scored
with it (a note, not a flag)."""


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


def circular_rows(scores: pd.DataFrame) -> np.ndarray:
    """Per row of a scores table: flagged `circular` by `sketchlab score` (which also knows
    the checkpoint's sha256), or circular by `is_circular` on its model, pretrained tag and
    loss_model (for tables without the flag)."""
    flagged = (
        pd.to_numeric(scores["circular"], errors="coerce").fillna(0).astype(bool).to_numpy()
        if "circular" in scores.columns
        else np.zeros(len(scores), dtype=bool)
    )
    loss_models = scores["loss_model"] if "loss_model" in scores.columns else [None] * len(scores)
    rule = [
        is_circular(str(model), str(pretrained), loss_model)
        for model, pretrained, loss_model in zip(
            scores["model"], scores["pretrained"], loss_models, strict=True
        )
    ]
    return flagged | np.array(rule, dtype=bool)
