"""`sketchlab init DIR [--photos FOLDER]`: a study project that `study check` accepts once
its sketches exist, a README with the next commands in order, a .gitignore that keeps
databases and secrets out of git, and bad input refused with nothing written."""

import shutil
import subprocess

import pytest
import yaml

import sketchlab.new_study
from tests.conftest import REPO

PHOTOS = REPO / "data" / "photos"
TINY_GENERATE = ["--preset", "demo", "--seeds", "0", "--iterations", "2", "--no-progress"]


@pytest.fixture
def photos(tmp_path):
    """Six of the bundled photos in three classes (the minimum for practice and two checks
    over four levels)."""
    folder = tmp_path / "my photos"
    for name in ("bird", "car", "flower"):
        (folder / name).mkdir(parents=True)
        for photo in sorted((PHOTOS / name).glob("*.jpg"))[:2]:
            shutil.copy(photo, folder / name / photo.name)
    return folder


def test_init_then_generate_gives_a_study_that_checks(tmp_path, photos, run_sketchlab):
    project = tmp_path / "first-study"
    code, out, err = run_sketchlab("init", project, "--photos", photos)
    assert code == 0, err
    assert "6 photos in 3 classes (bird, car, flower)" in out
    study = yaml.safe_load((project / "study.yaml").read_text())
    assert study["options"] == ["bird", "car", "flower"]
    assert study["levels"] == [4, 8, 16, 32]
    assert study["conditions"] == ["with_none", "without_none"]
    assert study["study_id"] == "first-study"
    assert len(study["attention"]["checks"]) == 2 and len(study["practice"]["stimuli"]) == 1
    assert "# " in (project / "study.yaml").read_text()  # commented for the researcher

    code, _, err = run_sketchlab(
        "generate", project / "images.csv", "--out", project / "sketches", *TINY_GENERATE
    )
    assert code == 0, err
    code, out, err = run_sketchlab("study", "check", project / "study.yaml")
    assert code == 0, err
    assert "OK" in out and "cells (8)" in out and "4 test images" in out
    assert not (project / "first-study.db").exists()  # check creates nothing


def test_the_readme_lists_the_next_commands_in_order(tmp_path, photos, run_sketchlab):
    project = tmp_path / "study"
    assert run_sketchlab("init", project, "--photos", photos)[0] == 0
    readme = (project / "README.md").read_text()
    commands = [
        "sketchlab generate",
        "sketchlab study preview",
        "sketchlab plan",
        "sketchlab study serve study.yaml --port",
        "sketchlab study status",
        "sketchlab study export",
        "sketchlab analyze",
    ]
    positions = [readme.index(command) for command in commands]
    assert positions == sorted(positions)


def test_the_gitignore_keeps_databases_and_secrets_out_of_git(tmp_path, photos, run_sketchlab):
    project = tmp_path / "study"
    assert run_sketchlab("init", project, "--photos", photos)[0] == 0
    assert (project / ".streamlit" / "secrets.toml.example").is_file()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "study.db").write_text("x")
    (project / "study.db-wal").write_text("x")
    (project / ".streamlit" / "secrets.toml").write_text('admin_password = "x"')
    (project / "backups").mkdir()
    (project / "backups" / "copy.db").write_text("x")
    (project / "responses.csv").write_text("x")
    listed = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "study.yaml" in listed and "secrets.toml.example" in listed
    for secret in ("study.db", "secrets.toml\n", "backups/", "responses.csv"):
        assert secret not in listed


def test_without_photos_init_makes_a_photos_folder_to_fill(tmp_path, run_sketchlab):
    project = tmp_path / "empty"
    code, out, err = run_sketchlab("init", project)
    assert code == 0, err
    assert (project / "photos").is_dir() and not (project / "images.csv").exists()
    readme = (project / "README.md").read_text()
    assert readme.index("sketchlab images photos") < readme.index("sketchlab generate")
    assert (
        "replace them with the names of the sub-folders of photos/"
        in (project / "study.yaml").read_text()
    )


def test_photos_already_in_the_project_folder_are_used(tmp_path, photos, run_sketchlab):
    project = tmp_path / "ready"
    shutil.copytree(photos, project / "photos")
    assert run_sketchlab("init", project)[0] == 0
    assert "bird/" in (project / "images.csv").read_text().splitlines()[1]
    assert (project / "images.csv").read_text().splitlines()[1].split(",")[2].startswith("photos/")


def test_init_never_overwrites_and_writes_nothing_then(tmp_path, photos, run_sketchlab):
    project = tmp_path / "study"
    project.mkdir()
    (project / "study.yaml").write_text("mine")
    code, _, err = run_sketchlab("init", project, "--photos", photos)
    assert code == 2
    assert f"{project / 'study.yaml'} already exists" in err and err.count("\n") == 1
    assert sorted(p.name for p in project.iterdir()) == ["study.yaml"]
    assert (project / "study.yaml").read_text() == "mine"


@pytest.mark.parametrize("problem", ["not a folder", "a broken photo", "project is a file"])
def test_bad_input_is_one_sentence_and_nothing_is_written(tmp_path, photos, run_sketchlab, problem):
    project = tmp_path / "study"
    if problem == "not a folder":
        photos = tmp_path / "nowhere"
    elif problem == "a broken photo":
        (photos / "car" / "broken.jpg").write_bytes(b"not a jpeg")
    else:
        project.write_text("a file")
    code, _, err = run_sketchlab("init", project, "--photos", photos)
    assert code == 2, err
    assert err.startswith("sketchlab: ") and err.count("\n") == 1
    assert not project.is_dir()


def test_a_failure_while_writing_removes_what_was_written(tmp_path, photos, monkeypatch):
    real = sketchlab.new_study._write_new

    def fail_on_readme(path, text):
        if path.name == "README.md":
            raise OSError("disk full")
        return real(path, text)

    monkeypatch.setattr(sketchlab.new_study, "_write_new", fail_on_readme)
    with pytest.raises(OSError):
        sketchlab.new_study.init_study(tmp_path / "study", photos)
    assert not (tmp_path / "study").exists()
