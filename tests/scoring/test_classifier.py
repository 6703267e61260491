"""The zero-shot classifier against a direct numpy computation, the PNGs as people saw them,
and the "none" analogues apart from forced choice."""

import numpy as np
import torch
from PIL import Image

from scoring.classifier import build_classifier, classify, encode_text_trimmed
from scoring.data import read_stimuli
from scoring.prompts import load_prompt_sets
from scoring.scorer import score_images
from tests.scoring.conftest import CLASSES


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
    templates = load_prompt_sets(["sketch"])[0].templates
    weights = build_classifier(scorer.model, scorer.tokenizer, CLASSES, templates)
    expected_weights = numpy_classifier(scorer, CLASSES, templates)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-5)

    # Image features spread around the class vectors so the predictions differ from row to row.
    rng = np.random.default_rng(0)
    features = expected_weights.T[rng.integers(0, 4, size=12)] + 0.02 * rng.standard_normal(
        (12, weights.shape[0])
    )
    truth = [CLASSES[i] for i in rng.integers(0, 4, size=12)]
    table = classify(torch.tensor(features, dtype=torch.float32), weights, truth, CLASSES)

    probs = numpy_softmax_probs(features, expected_weights)
    np.testing.assert_allclose(table[[f"p_{c}" for c in CLASSES]].to_numpy(), probs, atol=1e-4)
    order = np.argsort(-probs, axis=1)
    for k in range(3):
        assert table[f"pred_top{k + 1}"].tolist() == [CLASSES[i] for i in order[:, k]]
        np.testing.assert_allclose(
            table[f"prob_top{k + 1}"], probs[np.arange(12), order[:, k]], atol=1e-4
        )
    true_index = np.array([CLASSES.index(c) for c in truth])
    ranks = 1 + np.array([list(row).index(t) for row, t in zip(order, true_index, strict=True)])
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
        trimmed = encode_text_trimmed(scorer.model, tokens)
    assert trimmed.shape == full.shape
    np.testing.assert_allclose(trimmed.numpy(), full.numpy(), atol=1e-5)


def test_scores_use_the_png_people_saw_with_the_models_own_preprocessing(
    scorer, tmp_path, make_stimuli
):
    csv = make_stimuli(tmp_path)
    stimuli, pngs = read_stimuli(csv)
    prompt_set = load_prompt_sets(["photo"])[0]
    scores = score_images(scorer, stimuli, pngs, prompt_sets=[prompt_set], batch_size=3, workers=2)

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
    table = classify(
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

    without = classify(features, weights, ["a", "b", "a"], ["a", "b"], distractor_features=None)
    assert without["is_none_distractor"].isna().all()
