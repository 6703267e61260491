"""The CLIP ceiling: `sketchlab score --photos images.csv` scores the photos the sketches were
drawn from, as the optimiser saw them, with the same prompts and classes (random weights)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import to_pil_image

from scoring.classifier import build_classifier, zero_shot_probabilities
from scoring.data import read_photos, read_stimuli
from scoring.prompts import load_prompt_sets
from scoring.scorer import read_images, score_images
from sketchgen.preprocess import load_target
from sketchlab.errors import BadInput
from tests.conftest import REPO, TEST_DATA
from tests.scoring.conftest import CLASSES, TEST_MODEL


def write_photos(folder, stimuli_csv) -> tuple:
    """An images.csv with one photo per image of `stimuli_csv` (distinct bytes, the first one
    with its object mask) and one photo without sketches; returns (csv, table)."""
    stimuli = pd.read_csv(stimuli_csv).drop_duplicates("image_id")
    rows = []
    for k, (image_id, name) in enumerate(zip(stimuli["image_id"], stimuli["class"], strict=True)):
        photo = folder / "photos" / f"{image_id}.jpg"
        photo.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TEST_DATA / "generate" / "duck.jpg", photo)
        with open(photo, "ab") as handle:
            handle.write(bytes([k]))
        mask = ""
        if k == 0:
            shutil.copy(TEST_DATA / "generate" / "duck_mask.png", folder / "photos" / "mask.png")
            mask = "photos/mask.png"
        rows.append({"image_id": image_id, "class": name, "path": f"photos/{image_id}.jpg",
                     "mask_path": mask})  # fmt: skip
    shutil.copy(TEST_DATA / "generate" / "sedan.jpg", folder / "photos" / "extra.jpg")
    rows.append({"image_id": "extra", "class": "car", "path": "photos/extra.jpg", "mask_path": ""})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "images.csv", index=False)
    return folder / "images.csv", table


def test_photos_are_scored_as_the_optimiser_saw_them_without_changing_the_sketch_scores(
    scorer, tmp_path, make_stimuli
):
    stimuli_csv = make_stimuli(tmp_path / "run")
    photos_csv, photos = write_photos(tmp_path, stimuli_csv)
    images, files = read_images(stimuli_csv, photos_csv)
    assert images.attrs["photos_without_sketches"] == 1
    prompt_set = load_prompt_sets(["photo"])
    both = score_images(scorer, images, files, prompt_sets=prompt_set, workers=0)
    sketches_only = score_images(scorer, *read_stimuli(stimuli_csv), prompt_sets=prompt_set)

    sketch_rows = both[both["kind"] == "sketch"].reset_index(drop=True)
    probabilities = [f"p_{c}" for c in CLASSES]
    np.testing.assert_allclose(sketch_rows[probabilities], sketches_only[probabilities], atol=1e-6)
    photo_rows = both[both["kind"] == "photo"]
    assert photo_rows["image_id"].tolist() == photos["image_id"].tolist()[:-1]
    assert (photo_rows["n_strokes"] == 0).all() and photo_rows["stimulus_id"].isna().all()

    # The masked photo, as the optimiser's target, through the model's own preprocessing.
    first = photos.iloc[0]
    target = load_target(tmp_path / first["path"], tmp_path / first["mask_path"])
    with torch.no_grad():
        feature = scorer.model.encode_image(scorer.preprocess(to_pil_image(target))[None])
    weights = build_classifier(scorer.model, scorer.tokenizer, CLASSES, prompt_set[0].templates)
    expected = zero_shot_probabilities(feature, weights).numpy()[0]
    np.testing.assert_allclose(photo_rows[probabilities].iloc[0], expected, atol=1e-4)


def test_score_command_scores_the_bundled_photos_beside_their_sketches(tmp_path, run_sketchlab):
    out, data = tmp_path / "scores.csv", REPO / "data"
    code, stdout, stderr = run_sketchlab(
        "score", data / "stimuli" / "stimuli.csv", "--photos", data / "images.csv",
        "--model", TEST_MODEL, "--weights", "random", "--prompts", "photo", "--device", "cpu",
        "--out", out,
    )  # fmt: skip
    assert code == 0, stderr
    stimuli = pd.read_csv(data / "stimuli" / "stimuli.csv")
    images = pd.read_csv(data / "images.csv")
    assert f"scoring {len(stimuli)} sketches and {len(images)} photos" in stdout
    scores = pd.read_csv(out)
    photos = scores[scores["kind"] == "photo"]
    assert sorted(photos["image_id"]) == sorted(images["image_id"])
    assert (photos["n_strokes"] == 0).all() and photos["photo_path"].str.endswith(".jpg").all()
    assert (scores.loc[scores["kind"] == "sketch", "n_strokes"] > 0).all()
    np.testing.assert_allclose(scores.filter(like="p_").sum(axis=1), 1.0, atol=1e-4)
    summary = pd.read_csv(tmp_path / "scores.summary.csv").astype({"n_strokes": str})
    assert summary.loc[summary["kind"] == "photo", "n_strokes"].tolist() == ["0"]
    assert "all" in set(summary.loc[summary["kind"] == "sketch", "n_strokes"])


def test_photos_whose_class_differs_from_their_sketches_are_bad_input(tmp_path, make_stimuli):
    stimuli_csv = make_stimuli(tmp_path / "run")
    photos_csv, photos = write_photos(tmp_path, stimuli_csv)
    photos.loc[1, "class"] = "zebra"
    photos.to_csv(photos_csv, index=False)
    stimuli, _ = read_stimuli(stimuli_csv)
    with pytest.raises(BadInput, match=r"row 3: field 'class' 'zebra' differs from 'cat'"):
        read_photos(photos_csv, stimuli)


def test_photos_of_other_images_are_bad_input(tmp_path, make_stimuli):
    stimuli_csv = make_stimuli(tmp_path / "run")
    photo = tmp_path / "other.png"
    Image.new("RGB", (32, 32), "white").save(photo)
    pd.DataFrame({"image_id": ["other"], "class": ["cat"], "path": ["other.png"]}).to_csv(
        tmp_path / "images.csv", index=False
    )
    stimuli, _ = read_stimuli(stimuli_csv)
    with pytest.raises(BadInput, match="no image_id matches stimuli.csv's"):
        read_photos(tmp_path / "images.csv", stimuli)


def test_photos_are_fitted_to_the_canvas_as_their_run_fitted_them(tmp_path, make_stimuli):
    stimuli_csv = make_stimuli(tmp_path / "run")
    photos_csv, _ = write_photos(tmp_path, stimuli_csv)  # 199 x 169 photos: the fit matters
    images, files = read_images(stimuli_csv, photos_csv)
    assert images.attrs["fit"] == "squash"  # no run.json: a hand-made stimuli.csv
    squashed = np.asarray(files[-1].open())
    (tmp_path / "run" / "run.json").write_text(json.dumps({"settings": {"fit": "pad"}}))
    images, files = read_images(stimuli_csv, photos_csv)
    assert images.attrs["fit"] == "pad"
    padded = np.asarray(files[-1].open())
    photo = files[-1]
    expected = load_target(photo.path, photo.mask_path, "pad")
    assert np.array_equal(padded, np.asarray(to_pil_image(expected)))
    assert (padded[:12] == 255).all() and not np.array_equal(padded, squashed)
