"""The per-level summary and the circularity rule (both torch-free: the report uses them)."""

import numpy as np
import pandas as pd
import pytest

from scoring.circularity import is_circular
from scoring.summaries import summarize_scores


def test_summary_counts_match_hand_computed_rates():
    scores = pd.DataFrame(
        {
            "model": "m",
            "pretrained": "t",
            "prompt_set": "photo",
            "circular": 0,
            "class": ["a", "a", "a", "a", "b", "b"],
            "n_strokes": [4, 4, 32, 32, 4, 32],
            "pred_top1": ["a", "b", "a", "a", "a", "b"],
            "correct_top1": [1, 0, 1, 1, 0, 1],
            "correct_top3": np.nan,
            "is_none_threshold": [0, 0, 1, 0, 1, 0],
            "is_none_distractor": [1, 0, 0, 0, 0, 0],
        }
    )
    summary = summarize_scores(scores).set_index("n_strokes")
    assert summary.loc["all", "top1"] == pytest.approx(4 / 6)
    # recall a = 3/4, recall b = 1/2
    assert summary.loc["all", "mean_per_class_recall"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert summary.loc["4", "top1"] == pytest.approx(1 / 3)
    assert summary.loc["all", "none_rate_threshold"] == pytest.approx(2 / 6)
    assert summary.loc["all", "top1_committed_threshold"] == pytest.approx(3 / 4)
    assert summary.loc["all", "top1_with_none_threshold"] == pytest.approx(3 / 6)
    assert summary.loc["4", "top1_with_none_distractor"] == pytest.approx(0.0)
    assert np.isnan(summary.loc["all", "top3"])


@pytest.mark.parametrize(
    ("model", "pretrained", "loss_model", "expected"),
    [
        ("RN101", "openai", None, True),
        ("RN101", "openai", "RN101/openai", True),
        ("RN101", "openai", "RN101", True),
        ("RN101", "file:RN101.pt", "RN101/openai", True),
        ("RN101", "openai", "RN101/RN101.pt", True),
        ("RN101", "openai", "xdog", False),
        ("RN101", "yfcc15m", "RN101/openai", False),
        ("ViT-B-32", "openai", None, False),
        ("ViT-B-32", "laion2b_s34b_b79k", "RN101/openai", False),
    ],
)
def test_circular_flag_marks_scoring_with_the_loss_model(model, pretrained, loss_model, expected):
    assert is_circular(model, pretrained, loss_model) is expected
