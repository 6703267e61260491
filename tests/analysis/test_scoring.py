"""Zero-shot CLIP scoring: the classifier maths against a direct numpy computation, prompt
sets, the "none" analogues, the circularity flag and the `sketchlab score` command.

Models are random-weight tiny open_clip configs (`ViT-tiny-32`): the maths and plumbing are
the same as for real checkpoints, the accuracies are meaningless.
"""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES
from PIL import Image, ImageDraw

from analysis import scoring
from sketchlab import cli
from sketchlab.errors import BadInput

CLASSES = ["car", "cat", "dog", "horse"]
TEST_MODEL = "ViT-tiny-32"


@pytest.fixture(scope="module")
def scorer() -> scoring.Scorer:
    torch.manual_seed(0)
    return scoring.load_scorer(TEST_MODEL, None, device="cpu")


def write_stimuli(folder, n_per_class=2, classes=CLASSES, loss_model="RN101/openai"):
    """A run folder with black-on-white PNG scribbles (every third one RGBA with a transparent
    background, as some tools save them) and its stimuli.csv."""
    rng = np.random.default_rng(1)
    (folder / "png").mkdir(parents=True)
    rows = []
    for c, name in enumerate(classes):
        for i in range(n_per_class):
            k = c * n_per_class + i
            transparent = k % 3 == 0
            image = Image.new(
                "RGBA" if transparent else "RGB",
                (224, 224),
                (0, 0, 0, 0) if transparent else "white",
            )
            draw = ImageDraw.Draw(image)
            for _ in range(4 + 4 * i):
                points = [tuple(p) for p in rng.uniform(10, 214, size=(4, 2)).tolist()]
                draw.line(points, fill=(0, 0, 0, 255) if transparent else "black", width=3)
            image.save(folder / "png" / f"{k}.png")
            rows.append(
                {
                    "stimulus_id": f"{name}-{i}",
                    "image_id": f"{name}_photo",
                    "class": name,
                    "n_strokes": 4 if i == 0 else 32,
                    "seed": 0,
                    "method": "clipasso",
                    "svg_path": f"svg/{k}.svg",
                    "png_path": f"png/{k}.png",
                    "loss_model": loss_model,
                }
            )
    pd.DataFrame(rows).to_csv(folder / "stimuli.csv", index=False)
    return folder / "stimuli.csv"


def numpy_classifier(scorer, classes, templates):
    """clip_benchmark's recipe written out: normalise each prompt embedding, average,
    re-normalise."""
    columns = []
    for name in classes:
        texts = [t.replace("{c}", name) for t in templates]
        with torch.no_grad():
            emb = scorer.model.encode_text(scorer.tokenizer(texts)).numpy().astype(np.float64)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        mean = emb.mean(axis=0)
        columns.append(mean / np.linalg.norm(mean))
    return np.stack(columns, axis=1)


def numpy_softmax_probs(features, weights):
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    logits = 100.0 * features @ weights
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def test_classifier_matches_direct_prompt_ensemble_computation(scorer):
    templates = scoring.load_prompt_sets(["sketch"])[0].templates
    weights = scoring.build_classifier(scorer.model, scorer.tokenizer, CLASSES, templates)
    expected_weights = numpy_classifier(scorer, CLASSES, templates)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-5)

    # Image features spread around the class vectors so the predictions differ from row to row.
    rng = np.random.default_rng(0)
    features = expected_weights.T[rng.integers(0, 4, size=12)] + 0.02 * rng.standard_normal(
        (12, weights.shape[0])
    )
    truth = [CLASSES[i] for i in rng.integers(0, 4, size=12)]
    table = scoring.classify(torch.tensor(features, dtype=torch.float32), weights, truth, CLASSES)

    probs = numpy_softmax_probs(features, expected_weights)
    np.testing.assert_allclose(table[[f"p_{c}" for c in CLASSES]].to_numpy(), probs, atol=1e-4)
    order = np.argsort(-probs, axis=1)
    for k in range(3):
        assert table[f"pred_top{k + 1}"].tolist() == [CLASSES[i] for i in order[:, k]]
        np.testing.assert_allclose(
            table[f"prob_top{k + 1}"], probs[np.arange(12), order[:, k]], atol=1e-4
        )
    true_index = np.array([CLASSES.index(c) for c in truth])
    ranks = 1 + np.array([list(row).index(t) for row, t in zip(order, true_index)])
    assert table["true_rank"].tolist() == ranks.tolist()
    assert table["correct_top1"].tolist() == (ranks == 1).astype(int).tolist()
    assert table["correct_top3"].tolist() == (ranks <= 3).astype(float).tolist()
    np.testing.assert_allclose(table["prob_true"], probs[np.arange(12), true_index], atol=1e-4)
    assert len(set(table["pred_top1"])) > 1


def test_text_encoding_up_to_the_end_token_equals_the_full_77_token_pass(scorer):
    texts = [
        "a dog.",
        "a photo of the hard to see horse.",
        "itap of a very large and rather complicated bicycle.",
    ]
    tokens = scorer.tokenizer(texts)
    with torch.no_grad():
        full = scorer.model.encode_text(tokens)
        trimmed = scoring.encode_text_trimmed(scorer.model, tokens)
    assert trimmed.shape == full.shape
    np.testing.assert_allclose(trimmed.numpy(), full.numpy(), atol=1e-5)


def test_scores_use_the_png_people_saw_with_the_models_own_preprocessing(scorer, tmp_path):
    csv = write_stimuli(tmp_path)
    stimuli, pngs = scoring.read_stimuli(csv)
    prompt_set = scoring.load_prompt_sets(["photo"])[0]
    scores = scoring.score_images(
        scorer, stimuli, pngs, prompt_sets=[prompt_set], batch_size=3, workers=2
    )

    images = []
    for path in pngs:
        rgba = Image.open(path).convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        images.append(scorer.preprocess(Image.alpha_composite(white, rgba).convert("RGB")))
    with torch.no_grad():
        features = scorer.model.encode_image(torch.stack(images)).numpy().astype(np.float64)
    expected = numpy_softmax_probs(
        features, numpy_classifier(scorer, CLASSES, prompt_set.templates)
    )
    np.testing.assert_allclose(scores[[f"p_{c}" for c in CLASSES]].to_numpy(), expected, atol=1e-4)
    assert scores["stimulus_id"].tolist() == stimuli["stimulus_id"].tolist()


def test_prompt_sets_are_data_with_stable_hashes():
    sets = {p.name: p for p in scoring.load_prompt_sets(["all"])}
    assert list(sets) == ["photo", "sketch", "imagenet80"]
    assert sets["photo"].templates == ("a photo of a {c}.",)
    assert sets["imagenet80"].templates == tuple(t("{c}") for t in OPENAI_IMAGENET_TEMPLATES)
    assert all("{c}" in t for s in sets.values() for t in s.templates)
    # Pinned: a changed hash means a changed prompt set, and old scores are not comparable.
    assert {n: s.hash for n, s in sets.items()} == {
        "photo": "7533b9c5dfa1",
        "sketch": "a09a60b9138f",
        "imagenet80": "331000b1f1c7",
    }
    edited = scoring.PromptSet("photo", ("a photo of the {c}.",))
    assert edited.hash != sets["photo"].hash
    assert [p.name for p in scoring.load_prompt_sets(["sketch", "photo", "sketch"])] == [
        "sketch",
        "photo",
    ]
    with pytest.raises(BadInput, match="unknown prompt set 'drawings'"):
        scoring.load_prompt_sets(["drawings"])


def test_none_analogues_are_reported_apart_from_forced_choice():
    # Two classes along e1 and e2, one distractor along e3 (unit vectors in 4 dimensions).
    weights = torch.eye(4)[:, :2]
    distractor = torch.eye(4)[2:3]
    features = torch.tensor(
        [
            [1.0, 0.0, 0.0, 0.0],  # clearly class a
            [1.0, 1.0, 0.0, 0.0],  # a and b tie: max probability 0.5
            [0.1, 0.0, 1.0, 0.0],  # looks like the distractor, leans to a among the classes
        ]
    )
    table = scoring.classify(
        features,
        weights,
        ["a", "b", "a"],
        ["a", "b"],
        none_threshold=0.6,
        distractor_features=distractor,
    )
    assert table["is_none_threshold"].tolist() == [0, 1, 0]
    assert table["is_none_distractor"].tolist() == [0, 0, 1]
    # Forced choice ignores the distractors: row 3 is still a correct "a" with p(a)+p(b) = 1.
    assert table["pred_top1"].tolist()[::2] == ["a", "a"]
    assert table["correct_top1"].tolist()[2] == 1
    np.testing.assert_allclose(table[["p_a", "p_b"]].sum(axis=1), 1.0, atol=1e-6)
    assert table["prob_none_distractor"].iloc[2] > 0.99
    assert np.isnan(table["correct_top3"]).all()  # only two classes: top-3 is undefined

    without = scoring.classify(
        features, weights, ["a", "b", "a"], ["a", "b"], distractor_features=None
    )
    assert without["is_none_distractor"].isna().all()


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
    summary = scoring.summarize_scores(scores).set_index("n_strokes")
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
    assert scoring.is_circular(model, pretrained, loss_model) is expected


def run_cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """`sketchlab ...` in this process (torch is already imported): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["sketchlab", *map(str, args)])
    try:
        cli.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_score_command_writes_scores_and_summary(tmp_path, monkeypatch, capsys):
    csv = write_stimuli(tmp_path / "run", loss_model="xdog")
    out = tmp_path / "scores" / "scores.csv"
    code, stdout, stderr = run_cli(
        monkeypatch,
        capsys,
        "score",
        csv,
        "--model",
        TEST_MODEL,
        "--pretrained",
        "none",
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


def test_score_command_warns_when_scoring_with_the_loss_model(
    scorer, tmp_path, monkeypatch, capsys
):
    csv = write_stimuli(tmp_path / "run", loss_model="RN101/openai")
    as_loss_model = scoring.Scorer(
        scorer.model,
        scorer.preprocess,
        scorer.tokenizer,
        torch.device("cpu"),
        "RN101",
        "openai",
        "abc",
    )
    monkeypatch.setattr(scoring, "load_scorer", lambda *args, **kwargs: as_loss_model)
    out = tmp_path / "scores.csv"
    code, stdout, stderr = run_cli(
        monkeypatch, capsys, "score", csv, "--prompts", "photo", "--no-distractors", "--out", out
    )
    assert code == 0, stderr
    assert "warning: RN101/openai is the network these sketches were optimised against" in stdout
    scores = pd.read_csv(out)
    assert scores["circular"].eq(1).all()
    assert scores["is_none_distractor"].isna().all()


def test_score_offline_without_weights_names_the_file_to_download(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    import sketchgen.models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(sketchgen.models, "OPENAI_URL_CACHE", tmp_path / "clip")
    csv = write_stimuli(tmp_path / "run", n_per_class=1)
    code, _, stderr = run_cli(
        monkeypatch,
        capsys,
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
def test_bad_stimuli_are_named_before_any_model_loads(tmp_path, edit, message):
    csv = write_stimuli(tmp_path, n_per_class=1)
    edit(pd.read_csv(csv)).to_csv(csv, index=False)
    with pytest.raises(BadInput, match=message) as error:
        scoring.read_stimuli(csv)
    assert str(csv) in str(error.value)


def test_unreadable_png_is_bad_input(scorer, tmp_path):
    csv = write_stimuli(tmp_path, n_per_class=1)
    (tmp_path / "png" / "0.png").write_bytes(b"not a png")
    stimuli, pngs = scoring.read_stimuli(csv)
    with pytest.raises(BadInput, match="0.png is not a readable image"):
        scoring.score_images(scorer, stimuli, pngs, prompt_sets=scoring.load_prompt_sets(["photo"]))


def test_unknown_device_is_bad_input(tmp_path, monkeypatch, capsys):
    csv = write_stimuli(tmp_path, n_per_class=1)
    code, _, stderr = run_cli(
        monkeypatch, capsys, "score", csv, "--pretrained", "none", "--device", "gpu"
    )
    assert code == 2
    assert "--device 'gpu' is not a device" in stderr


def test_bench_score_reports_score_next_to_bare_encode_image(tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench.json"
    code, stdout, stderr = run_cli(
        monkeypatch,
        capsys,
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
