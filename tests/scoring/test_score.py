"""`sketchlab score` and `sketchlab bench score` on real files (random tiny weights)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from scoring import scorer as scorer_module
from scoring.data import read_stimuli
from scoring.prompts import load_prompt_sets
from scoring.scorer import Scorer, score_images
from sketchlab.errors import BadInput
from tests.scoring.conftest import CLASSES, TEST_MODEL


def test_score_command_writes_scores_and_summary(tmp_path, make_stimuli, run_sketchlab):
    csv = make_stimuli(tmp_path / "run", loss_model="xdog")
    out = tmp_path / "scores" / "scores.csv"
    code, stdout, stderr = run_sketchlab(
        "score",
        csv,
        "--model",
        TEST_MODEL,
        "--weights",
        "random",
        "--prompts",
        "photo",
        "--prompts",
        "sketch",
        "--classes",
        "chair",
        "--batch-size",
        "3",
        "--out",
        out,
    )
    assert code == 0, stderr
    scores = pd.read_csv(out)
    assert len(scores) == 8 * 2
    assert set(scores["prompt_set"]) == {"photo", "sketch"}
    assert set(scores.loc[scores["prompt_set"] == "sketch", "prompt_hash"]) == {"a09a60b9138f"}
    assert [c for c in scores.columns if c.startswith("p_")] == [
        f"p_{c}" for c in sorted([*CLASSES, "chair"])
    ]
    np.testing.assert_allclose(scores.filter(like="p_").sum(axis=1), 1.0, atol=1e-4)
    assert set(scores["model"]) == {TEST_MODEL} and set(scores["weights_sha256"]) == {"random-init"}
    assert scores["circular"].sum() == 0 and "warning" not in stdout
    assert scores["correct_top3"].notna().all()  # five classes: top-3 is defined
    assert {"is_none_threshold", "is_none_distractor", "true_rank"} <= set(scores.columns)

    summary = pd.read_csv(tmp_path / "scores" / "scores.summary.csv")
    assert sorted(summary["n_strokes"].astype(str).unique()) == ["32", "4", "all"]
    assert len(summary) == 2 * 3
    document = json.loads((tmp_path / "scores" / "scores.summary.json").read_text())
    assert document["prompt_sets"]["photo"]["hash"] == "7533b9c5dfa1"
    assert document["classes"] == sorted([*CLASSES, "chair"])
    assert "top-1" in stdout and "random weights" in stdout


def test_random_weights_are_spelled_as_in_generate_and_the_old_spelling_still_works(
    tmp_path, make_stimuli, run_sketchlab
):
    """`--weights random`, as in generate and loss; `--pretrained none`, score's old spelling,
    gives the same scores with a deprecation note."""
    csv = make_stimuli(tmp_path / "run", n_per_class=1)
    scores = {}
    for spelling, flags in {
        "new": ["--weights", "random"],
        "old": ["--pretrained", "none"],
    }.items():
        out = tmp_path / f"{spelling}.csv"
        common = ["--model", TEST_MODEL, "--prompts", "photo", "--no-distractors", "--out", out]
        code, _, stderr = run_sketchlab("score", csv, *common, *flags)
        assert code == 0, stderr
        deprecated = "--pretrained none is deprecated; use --weights random" in stderr
        assert deprecated == (spelling == "old")
        scores[spelling] = pd.read_csv(out)
    pd.testing.assert_frame_equal(scores["new"], scores["old"])
    assert set(scores["new"]["weights_sha256"]) == {"random-init"}


def test_score_command_warns_when_scoring_with_the_loss_model(
    scorer, tmp_path, monkeypatch, make_stimuli, run_sketchlab
):
    csv = make_stimuli(tmp_path / "run", loss_model="RN101/openai")
    as_loss_model = Scorer(
        scorer.model,
        scorer.preprocess,
        scorer.tokenizer,
        torch.device("cpu"),
        "RN101",
        "openai",
        "abc",
    )
    monkeypatch.setattr(scorer_module, "load_scorer", lambda *args, **kwargs: as_loss_model)
    out = tmp_path / "scores.csv"
    code, stdout, stderr = run_sketchlab(
        "score", csv, "--prompts", "photo", "--no-distractors", "--out", out
    )
    assert code == 0, stderr
    assert "warning: RN101/openai is the network these sketches were optimised against" in stdout
    scores = pd.read_csv(out)
    assert scores["circular"].eq(1).all()
    assert scores["is_none_distractor"].isna().all()


def test_score_offline_without_weights_names_the_file_to_download(
    tmp_path, monkeypatch, make_stimuli, run_sketchlab
):
    from huggingface_hub import constants

    import sketchgen.models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(sketchgen.models, "OPENAI_URL_CACHE", tmp_path / "clip")
    csv = make_stimuli(tmp_path / "run", n_per_class=1)
    code, _, stderr = run_sketchlab(
        "score",
        csv,
        "--model",
        "ViT-B-32",
        "--pretrained",
        "openai",
        "--out",
        tmp_path / "scores.csv",
    )
    assert code == 2
    assert stderr.startswith("sketchlab: CLIP weights ViT-B-32/openai are not cached")
    assert "open_clip_model.safetensors" in stderr or "ViT-B-32.pt" in stderr
    assert "--weights" in stderr
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.drop(columns="png_path"), "no column 'png_path'"),
        (
            lambda t: t.assign(n_strokes=["four"] + t["n_strokes"].tolist()[1:]),
            "row 2: field 'n_strokes'",
        ),
        (
            lambda t: t.assign(png_path=["png/missing.png"] + t["png_path"].tolist()[1:]),
            "png/missing.png",
        ),
        (
            lambda t: t.assign(stimulus_id="same"),
            "row 3: field 'stimulus_id' 'same' is already used in row 2",
        ),
        (lambda t: t.iloc[:0], "no rows"),
    ],
)
def test_bad_stimuli_are_named_before_any_model_loads(tmp_path, make_stimuli, edit, message):
    csv = make_stimuli(tmp_path, n_per_class=1)
    edit(pd.read_csv(csv)).to_csv(csv, index=False)
    with pytest.raises(BadInput, match=message) as error:
        read_stimuli(csv)
    assert str(csv) in str(error.value)


def test_unreadable_png_is_bad_input(scorer, tmp_path, make_stimuli):
    csv = make_stimuli(tmp_path, n_per_class=1)
    (tmp_path / "png" / "0.png").write_bytes(b"not a png")
    stimuli, pngs = read_stimuli(csv)
    with pytest.raises(BadInput, match="0.png is not a readable image"):
        score_images(scorer, stimuli, pngs, prompt_sets=load_prompt_sets(["photo"]))


def test_unknown_device_is_bad_input(tmp_path, make_stimuli, run_sketchlab):
    csv = make_stimuli(tmp_path, n_per_class=1)
    code, _, stderr = run_sketchlab("score", csv, "--weights", "random", "--device", "gpu")
    assert code == 2
    assert "--device 'gpu' is not valid" in stderr


def test_bench_score_reports_score_next_to_bare_encode_image(tmp_path, run_sketchlab):
    out = tmp_path / "bench.json"
    code, stdout, stderr = run_sketchlab(
        "bench",
        "score",
        "--model",
        TEST_MODEL,
        "--n-sketches",
        "6",
        "--batch-size",
        "4",
        "--repeats",
        "1",
        "--threads",
        "0",
        "--json",
        out,
    )
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result == json.loads(stdout)
    assert result["n_sketches"] == 6 and result["batch_size"] == 4 and result["device"] == "cpu"
    for key in (
        "bare_encode_image_sketches_per_s",
        "score_image_path_sketches_per_s",
        "score_sketches_per_s",
    ):
        assert result[key] > 0
    assert result["ratio_image_path"] == pytest.approx(
        result["score_image_path_sketches_per_s"] / result["bare_encode_image_sketches_per_s"],
        rel=0.02,
    )
