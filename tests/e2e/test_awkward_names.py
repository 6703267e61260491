"""Names people actually have, through the whole pipeline: a photo folder with spaces, dots,
accents and apostrophes in class and file names, and two files whose names slug to the same
id, goes images -> generate (xdog) -> study check -> simulate -> export -> score (random
weights) -> analyze. Whatever `generate` accepts, every later step accepts too."""

import html
import shutil
import sys

import pandas as pd
import pytest

from sketchlab.cli import main
from tests.conftest import TEST_DATA

CLASSES = ("holm oak", "café", "St. John's wort", "salt & pepper")
FILES = {  # class -> file names (two in holm oak slug to the same id)
    "holm oak": ("Tree One.jpg", "Tree.One.jpg"),
    "café": ("Mona.Lisa.jpg", "Crème brûlée.jpg"),
    "St. John's wort": ("fleur (1).jpg", "fleur-2.jpg"),
    "salt & pepper": ("ÉTÉ 2024.jpg", "été_2024.jpg"),  # same id but for case
}


def sketchlab(run_sketchlab, *args) -> str:
    """Run `sketchlab ARGS` in this process; fail the test on a non-zero exit."""
    code, out, err = run_sketchlab(*args)
    assert code == 0, f"sketchlab {' '.join(map(str, args))} exited {code}: {err}"
    return out


def test_awkward_folder_goes_through_every_step(tmp_path, run_sketchlab):
    photos = tmp_path / "photos"
    sources = [TEST_DATA / "generate" / "duck.jpg", TEST_DATA / "generate" / "sedan.jpg"]
    for k, (class_name, names) in enumerate(FILES.items()):
        for j, name in enumerate(names):
            target = photos / class_name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(sources[j], target)
            with open(target, "ab") as handle:  # distinct bytes: identical photos are refused
                handle.write(bytes([k]))

    sketchlab(run_sketchlab, "images", photos, "--out", tmp_path / "images.csv")
    images = pd.read_csv(tmp_path / "images.csv")
    assert set(images["class"]) == set(CLASSES)
    assert {"Tree_One", "Tree_One_2", "Mona_Lisa", "Creme_brulee"} <= set(images["image_id"])
    assert set(images["file_name"]) == {n for names in FILES.values() for n in names}

    run = tmp_path / "run"
    quick = ["--method", "xdog", "--init", "edges", "--preset", "demo", "--iterations", "6"]
    quick += ["--levels", "2", "4", "--seeds", "0", "--device", "cpu", "--no-progress"]
    sketchlab(run_sketchlab, "generate", tmp_path / "images.csv", "--out", run, *quick)
    stimuli = pd.read_csv(run / "stimuli.csv")
    assert len(stimuli) == 8 * 2

    options = ", ".join(f'"{c}"' for c in CLASSES)
    (tmp_path / "study.yaml").write_text(
        "study_id: awkward\n"
        "stimuli: run/stimuli.csv\n"
        f"options: [{options}]\n"
        "levels: [2, 4]\n"
        "consent: Do you agree?\n"
        "instructions: Pick the class.\n"
        "completion:\n  code: AWK123\n"
        "storage: sqlite:///study.db\n",
        encoding="utf-8",
    )
    checked = sketchlab(run_sketchlab, "study", "check", tmp_path / "study.yaml")
    assert "awkward" in checked
    sketchlab(run_sketchlab, "study", "simulate", tmp_path / "study.yaml", "-n", "16")
    responses = tmp_path / "responses.csv"
    sketchlab(run_sketchlab, "study", "export", tmp_path / "study.yaml", "--out", responses)
    answers = pd.read_csv(responses)
    assert set(answers.loc[answers["trial_type"] == "test", "true_class"]) == set(CLASSES)

    scores = tmp_path / "scores.csv"
    sketchlab(run_sketchlab, "score", run / "stimuli.csv", "--photos", tmp_path / "images.csv",
              "--model", "ViT-tiny-32", "--weights", "random", "--prompts", "photo",
              "--device", "cpu", "--out", scores)  # fmt: skip
    scored = pd.read_csv(scores)
    assert set(scored["class"]) == set(CLASSES)
    assert sorted(scored.loc[scored["kind"] == "photo", "image_id"]) == sorted(images["image_id"])
    assert {f"p_{c}" for c in CLASSES} <= set(scored.columns)

    report = tmp_path / "report"
    sketchlab(run_sketchlab, "analyze", responses, "--scores", scores, "--out", report)
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "holm oak" in page and "café" in page and "St. John" in page
    assert html.escape("salt & pepper") in page and "salt & pepper" not in page
    assert "The ceiling: CLIP on the photos" in page
    accuracy = pd.read_csv(report / "accuracy.csv")
    assert set(CLASSES) <= set(accuracy["class"])


@pytest.mark.parametrize(
    ("class_name", "message"),
    [("none", "reserved"), ("a|b", "contains |"), ("<b>x</b>", "contains < >")],
)
def test_generate_refuses_a_class_the_study_would_refuse_before_any_compute(
    tmp_path, monkeypatch, capsys, class_name, message
):
    csv = tmp_path / "images.csv"
    pd.DataFrame(
        {
            "image_id": ["duck"],
            "class": [class_name],
            "path": [str(TEST_DATA / "generate" / "duck.jpg")],
        }
    ).to_csv(csv, index=False)
    monkeypatch.setattr(
        sys, "argv", ["sketchlab", "generate", str(csv), "--out", str(tmp_path / "run")]
    )
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
