"""`sketchlab package RUN --out DIR` and `sketchlab verify DIR`: a replication package with
hashed participant ids (salt kept out), stimuli, report, environment and a manifest that
`sha256sum -c` accepts; `verify` reproduces it, reports a tampered number by table, row and
column, and fails a tampered file on the manifest."""

import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import analysis.report
from sketchlab.cli import app
from sketchlab.replication import write_manifest
from tests.conftest import REPO

EXAMPLE = REPO / "data" / "study.yaml"
N_BOOT = ["--n-boot", "100"]


@pytest.fixture(scope="module")
def study(tmp_path_factory, r_lme4):
    """A study folder as `init` makes it, after the study: the example study.yaml (with a
    preview token and a storage URL), 40 simulated participants exported, the lab's report."""
    folder = tmp_path_factory.mktemp("study")
    config = yaml.safe_load(EXAMPLE.read_text())
    config["stimuli"] = str(EXAMPLE.parent / config["stimuli"])
    config["preview_token"] = "secret-preview-token-123"
    config["storage"] = "sqlite:///answers.db"
    (folder / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    runner = CliRunner()
    for args in (
        ["study", "simulate", str(folder / "study.yaml"), "-n", "40"],
        ["study", "export", str(folder / "study.yaml"), "--out", str(folder / "responses.csv")],
        ["analyze", str(folder / "responses.csv"), "--study", str(folder / "study.yaml")]
        + ["--out", str(folder / "report"), *N_BOOT],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def package(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "replication"
    salt = study / "package.salt"
    result = CliRunner().invoke(
        app, ["package", str(study), "--out", str(out), "--salt-file", str(salt), *N_BOOT]
    )
    assert result.exit_code == 0, result.output
    assert "differs" not in result.output  # the lab's report is the package's
    return out


def test_the_package_holds_everything_with_ids_hashed_and_no_secrets(study, package):
    names = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()}
    for name in (
        "README.md", "MANIFEST.sha256", "study.yaml", "stimuli/stimuli.csv", "stimuli/run.json",
        "responses.csv", "responses.participants.csv", "analysis.json", "environment.json",
        "report/index.html", "report/accuracy.csv", "report/mixed_model.csv",
    ):  # fmt: skip
        assert name in names
    stimuli = pd.read_csv(package / "stimuli" / "stimuli.csv")
    assert {f"stimuli/{p}" for p in stimuli["png_path"]} <= names
    assert {f"stimuli/{p}" for p in stimuli["svg_path"]} <= names

    original = pd.read_csv(study / "responses.csv", dtype=str, keep_default_na=False)
    packaged = pd.read_csv(package / "responses.csv", dtype=str, keep_default_na=False)
    assert len(original) == len(packaged)
    assert packaged["participant_id"].str.match(r"^sim-[0-9a-f]{20}$").all()
    assert original["participant_id"].nunique() == packaged["participant_id"].nunique()
    assert (original.drop(columns=["participant_id", "session_id"]).equals(
        packaged.drop(columns=["participant_id", "session_id"])
    ))  # fmt: skip
    everything = "".join(
        (package / name).read_text(errors="ignore") for name in names if not name.endswith("png")
    )
    salt = (study / "package.salt").read_text().strip()
    for secret in (salt, "secret-preview-token-123", "answers.db", *original["participant_id"]):
        assert secret not in everything
    study_yaml = yaml.safe_load((package / "study.yaml").read_text())
    assert study_yaml["stimuli"] == "stimuli/stimuli.csv" and "storage" not in study_yaml
    environment = (package / "environment.json").read_text()
    assert '"lme4"' in environment and '"R"' in environment and '"numpy"' in environment

    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "MANIFEST.sha256"],
        cwd=package,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_verify_reproduces_an_untouched_package(package, run_sketchlab):
    code, out, err = run_sketchlab("verify", package)
    assert code == 0, err
    tables = len(list((package / "report").glob("*.csv")))  # every table the report writes
    assert tables >= 9
    assert "verified" in out and f"numbers in {tables} report tables compared" in out


def test_verify_reports_a_tampered_number(package, tmp_path, run_sketchlab):
    tampered = tmp_path / "tampered"
    shutil.copytree(package, tampered)
    accuracy = pd.read_csv(tampered / "report" / "accuracy.csv")
    before = accuracy.loc[3, "accuracy"]
    accuracy.loc[3, "accuracy"] = before + 0.125
    accuracy.to_csv(tampered / "report" / "accuracy.csv", index=False)
    (tampered / "MANIFEST.sha256").unlink()
    write_manifest(tampered)  # a consistent manifest: only the recomputation can tell

    code, out, err = run_sketchlab("verify", tampered)
    assert code == 3
    assert f"report/accuracy.csv row 5, column accuracy: '{before + 0.125}' in the package" in err
    assert "NOT verified: 1 problem(s)" in err


def test_verify_fails_a_tampered_file_on_the_manifest(package, tmp_path, run_sketchlab):
    tampered = tmp_path / "tampered"
    shutil.copytree(package, tampered)
    readme = tampered / "README.md"
    readme.write_text(readme.read_text() + "\nedited\n")
    (tampered / "stimuli" / "extra.txt").write_text("not listed")
    (tampered / "stimuli" / "run.json").unlink()

    code, out, err = run_sketchlab("verify", tampered)
    assert code == 3
    assert "README.md: its SHA-256 differs from MANIFEST.sha256" in err
    assert "stimuli/extra.txt: not listed in MANIFEST.sha256" in err
    assert "stimuli/run.json: listed in MANIFEST.sha256 but missing" in err


def test_the_same_salt_file_gives_the_same_ids(study, package, tmp_path, run_sketchlab):
    again = tmp_path / "again"
    salt = study / "package.salt"
    code, _, err = run_sketchlab(
        "package", study / "study.yaml", "--out", again, "--salt-file", salt, *N_BOOT
    )
    assert code == 0, err
    first = pd.read_csv(package / "responses.csv")["participant_id"]
    assert first.equals(pd.read_csv(again / "responses.csv")["participant_id"])


@pytest.mark.parametrize("problem", ["no responses", "out exists", "salt inside", "not a study"])
def test_package_bad_input_is_one_sentence_and_writes_nothing(
    study, tmp_path, run_sketchlab, problem
):
    out = tmp_path / "out"
    args = ["package", study, "--out", out]
    message = {
        "no responses": "does not exist: export the answers first",
        "out exists": "already exists: a package is never overwritten",
        "salt inside": "must stay out of it",
        "not a study": "no study.yaml there",
    }[problem]
    if problem == "no responses":
        args += ["--responses", tmp_path / "missing.csv"]
    elif problem == "out exists":
        out.mkdir()
    elif problem == "salt inside":
        args += ["--salt-file", out / "salt"]
    else:
        args[1] = tmp_path
    code, _, err = run_sketchlab(*args)
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == ([out] if problem == "out exists" else [])


def test_a_failure_while_packaging_leaves_nothing(study, tmp_path, monkeypatch, run_sketchlab):
    def crash(*args, **kwargs):
        raise RuntimeError("the analysis crashed")

    monkeypatch.setattr(analysis.report, "build_report", crash)
    with pytest.raises(RuntimeError):
        run_sketchlab("package", study, "--out", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_verify_refuses_a_folder_that_is_no_package(tmp_path, run_sketchlab):
    code, _, err = run_sketchlab("verify", tmp_path)
    assert code == 2
    assert "not a replication package" in err and err.count("\n") == 1
