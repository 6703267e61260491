"""CLIP scores for simulated responses, as `sketchlab score --photos` writes them."""

import numpy as np
import pandas as pd


def clip_scores_for(trials: pd.DataFrame) -> pd.DataFrame:
    """A scores table as `sketchlab score --photos` writes it, for two models (one of them the
    loss model, with no `circular` column: the report applies the scoring package's rule),
    with the photos of the images people saw and one photo of an image nobody saw."""
    tests = trials[trials["trial_type"] == "test"]
    stimuli = tests[["stimulus_id", "image_id", "true_class", "n_strokes"]].drop_duplicates()
    photos = tests[["image_id", "true_class"]].drop_duplicates()
    photos = pd.concat([photos, pd.DataFrame({"image_id": ["unseen"], "true_class": ["cat"]})])
    rng = np.random.default_rng(0)
    frames = []
    for model, pretrained in (("ViT-B-32", "laion2b_s34b_b79k"), ("RN101", "openai")):
        series = {"model": model, "pretrained": pretrained, "prompt_set": "sketch"}
        frames.append(
            pd.DataFrame(
                {
                    "stimulus_id": stimuli["stimulus_id"].astype(str),
                    "image_id": stimuli["image_id"].astype(str),
                    "class": stimuli["true_class"].astype(str),
                    "n_strokes": stimuli["n_strokes"].astype(int),
                    "kind": "sketch",
                    **series,
                    "correct_top1": (
                        rng.random(len(stimuli)) < stimuli["n_strokes"].to_numpy() / 40 + 0.3
                    ).astype(int),
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "stimulus_id": "",
                    "image_id": photos["image_id"].astype(str),
                    "class": photos["true_class"].astype(str),
                    "n_strokes": 0,
                    "kind": "photo",
                    **series,
                    "correct_top1": (rng.random(len(photos)) < 0.9).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
