"""`sketchlab study check|simulate|export` as a user runs them, and every bad input:
one sentence naming the file and field on stderr, exit code 2."""

import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sketchlab.cli import main
from sketchlab.contracts import RESPONSE_COLUMNS, REVIEW_COLUMNS
from study.synthetic import write_synthetic_study
from study.trial_types import added_columns
from tests.conftest import REPO, TEST_DATA


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["sketchlab", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code or 0, out, err


@pytest.fixture
def study_dir(tmp_path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(TEST_DATA / "study", folder)
    return folder


def edit_yaml(folder: Path, **changes) -> str:
    path = folder / "study.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_check_prints_the_design(monkeypatch, capsys, study_dir):
    code, out, err = run(monkeypatch, capsys, "study", "check", str(study_dir / "study.yaml"))
    assert code == 0, err
    assert "cells (8)" in out and "with_none/list0" in out
    assert "with_none: 12 trials per participant" in out and "min" in out
    assert "storage: sqlite:///" in out and "test-study.db" in out
    assert not (study_dir / "test-study.db").exists(), "check creates no database"


def test_check_notes_a_database_that_is_not_there_yet(monkeypatch, capsys, study_dir):
    code, out, err = run(monkeypatch, capsys, "study", "check", str(study_dir / "study.yaml"))
    assert code == 0, err
    assert "(the file does not exist yet; `sketchlab study serve` creates it)" in out


def test_check_warns_with_the_smallest_screen_that_fits(monkeypatch, capsys, tmp_path):
    from tests.e2e.test_browser_layout import LONG_NAMES

    study_yaml = write_synthetic_study(tmp_path, classes=LONG_NAMES, conditions=("with_none",))
    code, out, err = run(monkeypatch, capsys, "study", "check", str(study_yaml))
    assert code == 0, err
    assert (
        "warning: with_none: the answer buttons do not all fit without scrolling at 320x568" in out
    )
    assert "the smallest screen they fit is 360x640" in out
    code, out, _ = run(monkeypatch, capsys, "study", "check", str(write_synthetic_study(tmp_path)))
    assert "every button on screen without scrolling at 320x568" in out and "warning" not in out


def test_check_lists_each_outcome_and_warns_when_a_text_contradicts_it(
    monkeypatch, capsys, study_dir
):
    outcomes = {
        "completed": {"code": "DONE1"},
        "failed_attention": {"code": "FAIL1", "text": "Please return your submission now."},
        "timed_out": {"redirect_url": "https://app.prolific.com/submissions/complete?cc=T1"},
    }
    path = edit_yaml(study_dir, completion=None, outcomes=outcomes)
    code, out, err = run(monkeypatch, capsys, "study", "check", path)
    assert code == 0, err
    assert "completed (code DONE1); failed_attention (code FAIL1); timed_out (redirect)" in out
    assert "declined (asked to return the submission)" in out
    assert "warning: outcome failed_attention: its text asks participants to return" in out
    assert "warning: outcome completed" not in out


@pytest.mark.parametrize(
    ("command", "expected_code"),
    [(["check"], 0), (["status"], 2), (["export", "--out", "r.csv"], 2), (["backup"], 2)],
    ids=["check", "status", "export", "backup"],
)
def test_read_only_commands_leave_an_empty_database_file_empty(
    monkeypatch, capsys, study_dir, tmp_path, command, expected_code
):
    empty = tmp_path / "empty.db"
    empty.touch()
    before = empty.stat().st_mtime_ns
    args = [*command] + (["--out", str(tmp_path / "copy.db")] if command == ["backup"] else [])
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    code, out, err = run(
        monkeypatch, capsys, "study", args[0], str(study_dir / "study.yaml"), *args[1:],
        "--storage", f"sqlite:///{empty}",
    )  # fmt: skip
    assert code == expected_code, err
    assert "holds no study tables" in out + err
    assert empty.stat().st_size == 0 and empty.stat().st_mtime_ns == before, "not rewritten"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("empty")) == [
        "empty.db"
    ], "no journal or WAL files left"


def test_check_of_the_bundled_study_writes_nothing_into_data(monkeypatch, capsys, tmp_path):
    before = sorted(path for path in (REPO / "data").rglob("*"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(monkeypatch, capsys, "study", "check", str(REPO / "data" / "study.yaml"))
    assert code == 0, err
    assert sorted(path for path in (REPO / "data").rglob("*")) == before


def export_to(monkeypatch, capsys, study_yaml, out: Path, storage: str) -> tuple[int, str, str]:
    """`sketchlab study export STUDY_YAML --out OUT --storage STORAGE`."""
    return run(
        monkeypatch, capsys, "study", "export", str(study_yaml), "--out", str(out),
        "--storage", storage,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: None, "there is no database at sqlite:///"),
        (lambda path: sqlite3.connect(path).close(), "holds no study tables"),
    ],
    ids=["missing file", "file without study tables"],
)
def test_export_never_creates_a_database(monkeypatch, capsys, study_dir, tmp_path, make, expected):
    db = tmp_path / "typo.db"
    make(db)
    existed = db.exists()
    out = tmp_path / "r.csv"
    code, _, err = export_to(monkeypatch, capsys, study_dir / "study.yaml", out, f"sqlite:///{db}")
    assert code == 2 and expected in err and err.count("\n") == 1
    assert db.exists() == existed and not out.exists()


def test_export_of_a_database_without_this_study_is_exit_2(
    monkeypatch, capsys, study_dir, tmp_path
):
    db = f"sqlite:///{tmp_path / 'other.db'}"
    other = edit_yaml(study_dir, study_id="another-study")
    code, _, err = run(
        monkeypatch, capsys, "study", "simulate", other, "--participants", "2", "--storage", db
    )
    assert code == 0, err
    edit_yaml(study_dir, study_id="test-study")
    out = tmp_path / "r.csv"
    code, _, err = export_to(monkeypatch, capsys, study_dir / "study.yaml", out, db)
    assert code == 2 and err.count("\n") == 1
    assert "has no participants of study 'test-study'" in err and "'another-study'" in err
    assert not out.exists()


def test_check_masks_the_database_password(monkeypatch, capsys, study_dir, postgres_url):
    code, out, _ = run(
        monkeypatch,
        capsys,
        "study",
        "check",
        str(study_dir / "study.yaml"),
        "--storage",
        postgres_url,
    )
    assert code == 0
    assert "***" in out and ":postgres@" not in out


def test_simulate_then_export_csv_and_parquet(monkeypatch, capsys, study_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    yaml_path = str(study_dir / "study.yaml")
    code, out, err = run(
        monkeypatch,
        capsys,
        "study",
        "simulate",
        yaml_path,
        "--participants",
        "24",
        "--seed",
        "3",
        "--storage",
        db,
    )
    assert code == 0, err
    assert '"participants": 24' in out and "not a result" in out
    for name in ("responses.csv", "responses.parquet"):
        code, _, err = run(
            monkeypatch,
            capsys,
            "study",
            "export",
            yaml_path,
            "--out",
            str(tmp_path / "out" / name),
            "--storage",
            db,
        )
        assert code == 0, err
    csv = pd.read_csv(tmp_path / "out" / "responses.csv")
    parquet = pd.read_parquet(tmp_path / "out" / "responses.parquet")
    assert len(csv) == len(parquet) > 200
    assert list(csv.columns)[:3] == ["participant_id", "study_id", "session_id"]
    core = list(RESPONSE_COLUMNS)
    assert core[-4:] == ["answered_at", "too_fast", "interrupted_ms", "save_failures"]
    assert list(csv.columns) == core + [c.name for c in added_columns()], "types' columns last"
    assert (csv["interrupted_ms"] == 0).all() and (csv["save_failures"] == 0).all()
    participants = pd.read_csv(tmp_path / "out" / "responses.participants.csv")
    assert len(participants) == 24
    assert list(participants.columns)[-4:] == ["screen_width", "screen_height",
                                               "viewport_width", "viewport_height"]  # fmt: skip
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind


def test_the_sketchlab_command_runs_as_installed(study_dir):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "sketchlab"),
            "study",
            "check",
            str(study_dir / "study.yaml"),
            "--storage",
            "postgresql+psycopg://u:secret@127.0.0.1:1/none",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("sketchlab: cannot reach the database")
    assert "secret" not in result.stderr
    assert "torch" not in result.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _break_png(folder: Path) -> str:
    (folder / "png" / "cat0_4strokes.png").write_bytes(b"not a png")
    return str(folder / "study.yaml")


def _remove_png(folder: Path) -> str:
    (folder / "png" / "dog1_16strokes.png").unlink()
    return str(folder / "study.yaml")


def _unknown_class(folder: Path) -> str:
    csv = folder / "stimuli.csv"
    csv.write_text(csv.read_text().replace(",horse,", ",zebra,"))
    return str(folder / "study.yaml")


def _too_few_images(folder: Path) -> str:
    csv = folder / "stimuli.csv"
    keep = [
        line
        for line in csv.read_text().splitlines()
        if line.split(",")[1] in ("image_id", "cat0", "dog0", "bird0", "cat_practice", "dog_catch")
    ]
    csv.write_text("\n".join(keep) + "\n")
    return str(folder / "study.yaml")


def _missing_level(folder: Path) -> str:
    csv = folder / "stimuli.csv"
    csv.write_text(
        "\n".join(
            line for line in csv.read_text().splitlines() if not line.startswith("car1_8strokes,")
        )
        + "\n"
    )
    return str(folder / "study.yaml")


def _only_study_id(folder: Path) -> str:
    (folder / "study.yaml").write_text("study_id: x\n")
    return str(folder / "study.yaml")


def _malformed(folder: Path) -> str:
    (folder / "study.yaml").write_text("study_id: x\noptions: [cat, dog\n")
    return str(folder / "study.yaml")


BAD_INPUTS = {
    "malformed YAML": (_malformed, "malformed YAML at line"),
    "unknown key": (lambda f: edit_yaml(f, colour="blue"), "unknown field 'colour'"),
    "missing required field": (_only_study_id, "required field 'stimuli' is missing"),
    "stimuli.csv missing": (lambda f: edit_yaml(f, stimuli="nope.csv"), "field 'stimuli' names"),
    "stimulus file missing": (_remove_png, "field 'png_path' names"),
    "unreadable PNG": (_break_png, "is not a readable image"),
    "class not among options": (_unknown_class, "field 'class' 'zebra' is not among the options"),
    "fewer images than lists": (_too_few_images, "needs at least 4"),
    "image missing a level": (_missing_level, "has no sketch with n_strokes=8"),
    "practice stimulus unknown": (
        lambda f: edit_yaml(f, practice={"stimuli": ["ghost"]}),
        "field 'practice.stimuli'",
    ),
    "attention answer not an option": (
        lambda f: edit_yaml(
            f, attention={"checks": [{"stimulus": "catch_dog", "answer": "zebra"}]}
        ),
        "field 'attention.checks'",
    ),
    "bad study id": (lambda f: edit_yaml(f, study_id="<script>"), "field 'study_id'"),
    "option with markup": (lambda f: edit_yaml(f, options=["cat", "<b>dog</b>"]), "field 'options"),
    "unknown condition": (lambda f: edit_yaml(f, conditions=["maybe_none"]), "field 'conditions"),
    "missing study file": (lambda f: str(f / "absent.yaml"), "study file does not exist"),
    "outcome code with markup": (
        lambda f: edit_yaml(f, completion={"code": "OK1", "declined": {"code": "<b>"}}),
        "field 'completion.declined.code'",
    ),
    "outcome redirect not a URL": (
        lambda f: edit_yaml(
            f, completion={"code": "OK1", "failed_attention": {"redirect_url": "javascript:x"}}
        ),
        "field 'completion.failed_attention.redirect_url'",
    ),
    "unknown outcome": (
        lambda f: edit_yaml(f, completion={"code": "OK1", "returned": {"code": "R1"}}),
        "unknown field 'completion.returned'",
    ),
    "outcomes and completion": (
        lambda f: edit_yaml(f, outcomes={"completed": {"code": "OK2"}}),
        "gives both 'outcomes' and the older 'completion'",
    ),
    "no outcomes": (lambda f: edit_yaml(f, completion=None), "needs 'outcomes'"),
    "completed without an exit": (
        lambda f: edit_yaml(f, completion=None, outcomes={"completed": {"title": "Done"}}),
        "field 'outcomes.completed' is invalid: needs a code or a redirect_url",
    ),
    "unknown outcome in the table": (
        lambda f: edit_yaml(
            f, completion=None, outcomes={"completed": {"code": "A1"}, "returned": {"code": "R"}}
        ),
        "unknown field 'outcomes.returned'",
    ),
    "more than 12 options": (
        lambda f: edit_yaml(f, options=["cat", "dog", "car", "chair", "horse"] + list("abcdefgh")),
        "field 'options' is invalid",
    ),
    "target per cell zero": (lambda f: edit_yaml(f, target_per_cell=0), "'target_per_cell'"),
    "short preview token": (lambda f: edit_yaml(f, preview_token="abc"), "'preview_token'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_sentence_and_exit_2(monkeypatch, capsys, study_dir, case):
    make, expected = BAD_INPUTS[case]
    path = make(study_dir)
    code, _, err = run(
        monkeypatch, capsys, "study", "check", path, "--storage", f"sqlite:///{study_dir / 'x.db'}"
    )
    assert code == 2
    assert err.startswith("sketchlab: ") and expected in err, err
    assert err.count("\n") == 1
    assert "yaml" in err or "stimuli.csv" in err


def test_unreachable_database_is_exit_2_naming_the_url(monkeypatch, capsys, study_dir):
    url = f"postgresql+psycopg://user:hunter2@127.0.0.1:{_closed_port()}/study"
    for command in (["check"], ["export", "--out", str(study_dir / "r.csv")]):
        code, _, err = run(
            monkeypatch,
            capsys,
            "study",
            command[0],
            str(study_dir / "study.yaml"),
            *command[1:],
            "--storage",
            url,
        )
        assert code == 2
        assert "cannot reach the database postgresql+psycopg://user:***@127.0.0.1" in err
        assert "hunter2" not in err


@pytest.mark.parametrize("url", ["mysql://x@y/z", "sqlite://", "sqlite:///:memory:", "not a url"])
def test_unusable_storage_url_is_exit_2(monkeypatch, capsys, study_dir, url):
    code, _, err = run(
        monkeypatch, capsys, "study", "check", str(study_dir / "study.yaml"), "--storage", url
    )
    assert code == 2 and "field 'storage'" in err


def test_export_refuses_an_unknown_format(monkeypatch, capsys, study_dir, tmp_path):
    code, _, err = run(
        monkeypatch,
        capsys,
        "study",
        "export",
        str(study_dir / "study.yaml"),
        "--out",
        str(tmp_path / "r.xlsx"),
        "--storage",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert code == 2 and "must end in .csv or .parquet" in err


def test_simulate_refuses_a_database_with_real_participants(
    monkeypatch, capsys, study_dir, tmp_path
):
    from study.config import load_study
    from study.flow import ParticipantFlow
    from study.storage import Storage

    db = f"sqlite:///{tmp_path / 'real.db'}"
    config = load_study(study_dir / "study.yaml", db)
    storage = Storage(db, config.study_id)
    ParticipantFlow.open(config, storage, "5f8a9b2c3d4e5f6a7b8c9d0e").consent(True)
    storage.close()
    code, _, err = run(
        monkeypatch,
        capsys,
        "study",
        "simulate",
        str(study_dir / "study.yaml"),
        "--participants",
        "2",
        "--storage",
        db,
    )
    assert code == 2 and "real participants" in err


def test_study_code_never_imports_torch_or_sketchgen():
    """A study server needs neither: checked in a fresh interpreter."""
    probe = (
        "import sys, study.config, study.design, study.storage, study.assignment, study.flow, "
        "study.simulate, study.export, study.synthetic, study.protocol, sketchlab.cli; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sketchgen')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_participants_lists_everyone_for_prolific(monkeypatch, capsys, study_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    yaml_path = str(study_dir / "study.yaml")
    code, _, err = run(
        monkeypatch, capsys, "study", "simulate", yaml_path, "-n", "30", "--storage", db
    )
    assert code == 0, err
    code, printed, err = run(
        monkeypatch, capsys, "study", "export", yaml_path, "--participants", "--storage", db
    )
    assert code == 0, err
    assert printed.splitlines()[0].split() == list(REVIEW_COLUMNS)
    assert len(printed.splitlines()) == 31
    out = tmp_path / "review.csv"
    code, stdout, err = run(
        monkeypatch, capsys, "study", "export", yaml_path, "--participants", "--out", str(out),
        "--storage", db,
    )  # fmt: skip
    assert code == 0 and stdout.strip() == f"wrote {out}", err
    review = pd.read_csv(out, keep_default_na=False)
    assert len(review) == 30 and review["participant_id"].is_unique
    expected = {
        "completed": {"approve", "review"},
        "failed_attention": {"reject"},
        "declined": {"return"},
        "timed_out": {"return"},
        "in_progress": {"wait"},
    }
    for row in review.itertuples():
        assert row.action in expected[row.status], row
    assert set(review.loc[review["status"] == "failed_attention", "attention"]) <= {"failed"}
    assert set(review.loc[review["status"] == "declined", "attention"]) <= {""}
    assert "passed" in set(review.loc[review["status"] == "completed", "attention"])


def test_export_needs_out_unless_listing_participants(monkeypatch, capsys, study_dir):
    code, _, err = run(monkeypatch, capsys, "study", "export", str(study_dir / "study.yaml"))
    assert code == 2 and "needs --out" in err


def test_preview_prints_the_link_or_says_how_to_set_a_token(monkeypatch, capsys, study_dir):
    code, _, err = run(monkeypatch, capsys, "study", "preview", str(study_dir / "study.yaml"))
    assert code == 2 and "field 'preview_token' is not set" in err and err.count("\n") == 1
    token = "pilot-token-0123456789"
    path = edit_yaml(study_dir, preview_token=token)
    code, out, err = run(
        monkeypatch, capsys, "study", "preview", path, "--url", "https://study.example.org/s/"
    )
    assert code == 0, err
    assert out.strip() == f"https://study.example.org/s/?PREVIEW={token}"
