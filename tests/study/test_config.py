"""study.yaml loading: paths, storage URL resolution, Markdown files, stimuli roles.
(Every bad input is also checked through the CLI in tests/cli/test_study.py.)"""

import shutil
from pathlib import Path

import pytest
import yaml
from PIL import Image

from sketchlab.errors import BadInput
from study.config import load_study
from study.design import describe
from tests.conftest import REPO, TEST_DATA


@pytest.fixture
def study_dir(tmp_path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(TEST_DATA / "study", folder)
    return folder


def edit_yaml(folder: Path, **changes) -> Path:
    path = folder / "study.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return path


def test_paths_resolve_relative_to_the_yaml(study_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    config = load_study(study_dir / "study.yaml")
    assert config.stimuli == (study_dir / "stimuli.csv").resolve()
    assert config.storage == f"sqlite:///{(study_dir / 'test-study.db').resolve()}"
    assert all(
        s.png_path.is_absolute() and s.png_path.is_file() for s in config.catalog.stimuli.values()
    )


def test_relative_sqlite_storage_in_yaml_is_next_to_the_yaml(study_dir):
    config = load_study(edit_yaml(study_dir, storage="sqlite:///data/answers.db"))
    assert config.storage == f"sqlite:///{(study_dir / 'data' / 'answers.db').resolve()}"


def test_storage_argument_wins_over_the_yaml(study_dir):
    path = edit_yaml(study_dir, storage="sqlite:///answers.db")
    url = "postgresql+psycopg://u:p@db.example/x"
    assert load_study(path, storage=url).storage == url


def test_consent_and_instructions_can_be_markdown_files(study_dir):
    (study_dir / "consent.md").write_text("# Consent\nAgree?")
    config = load_study(edit_yaml(study_dir, consent="consent.md"))
    assert config.consent == "# Consent\nAgree?"


def test_catalog_separates_test_foil_practice_and_check_images(study_dir):
    catalog = load_study(study_dir / "study.yaml").catalog
    assert catalog.levels == (4, 8, 16, 32)
    assert len(catalog.test_images) == 8
    assert catalog.foil_images == ("bird0",)
    assert "cat_practice" not in catalog.test_images and "dog_catch" not in catalog.test_images


def test_lowest_loss_seed_is_used_when_an_image_has_several_sketches_per_level(study_dir):
    csv = study_dir / "stimuli.csv"
    lines = csv.read_text().splitlines()
    lines.append("cat0_4strokes_s1000,cat0,cat,4,1000,xdog,,png/cat0_8strokes.png,0.1")
    csv.write_text("\n".join(lines) + "\n")
    catalog = load_study(study_dir / "study.yaml").catalog
    assert catalog.by_image_level["cat0"][4].stimulus_id == "cat0_4strokes_s1000"


def test_levels_can_select_a_subset(study_dir):
    catalog = load_study(edit_yaml(study_dir, levels=[4, 32])).catalog
    assert catalog.levels == (4, 32)


def test_the_bundled_example_fits_sketches_of_the_bundled_photos(tmp_path):
    """data/study.yaml against a stimuli.csv laid out as `sketchlab generate data/images.csv`
    writes it (ids `<image>_<n>strokes`), with blank PNGs standing in for the sketches."""
    (tmp_path / "stimuli" / "png").mkdir(parents=True)
    rows = ["stimulus_id,image_id,class,n_strokes,png_path"]
    for line in (REPO / "data" / "images.csv").read_text().splitlines()[1:]:
        image_id, class_name = line.split(",")[:2]
        for level in (4, 8, 16, 32):
            name = f"{image_id}_{level}strokes"
            Image.new("RGB", (8, 8), "white").save(tmp_path / "stimuli" / "png" / f"{name}.png")
            rows.append(f"{name},{image_id},{class_name},{level},png/{name}.png")
    (tmp_path / "stimuli" / "stimuli.csv").write_text("\n".join(rows) + "\n")
    shutil.copy(REPO / "data" / "study.yaml", tmp_path / "study.yaml")
    config = load_study(tmp_path / "study.yaml")
    info = describe(config)
    assert info["balanced_lists"] and info["test_images"] == 8
    assert info["conditions"]["with_none"]["trials"] == 15
    assert info["conditions"]["with_none"]["expected_minutes"] < 5
    assert config.storage == f"sqlite:///{tmp_path / 'clipasso-recognition.db'}"


def test_redirect_url_with_markup_is_refused(study_dir):
    path = edit_yaml(study_dir, completion={"code": "X1", "redirect_url": "javascript:alert(1)"})
    with pytest.raises(BadInput, match="completion.redirect_url"):
        load_study(path)
