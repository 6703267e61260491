"""`sketchlab study backup` while participants are answering: the copy is one consistent
moment of the database, and restoring it exports the same rows (SQLite and PostgreSQL)."""

import shutil
import subprocess
import threading
import uuid
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from study.backup import libpq_url
from study.config import load_study
from study.flow import ParticipantFlow
from study.storage import Storage
from tests.cli.test_study import edit_yaml, run
from tests.conftest import TEST_DATA

N_THREADS = 4


@pytest.fixture
def study_dir(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(TEST_DATA / "study", folder)
    edit_yaml(folder, study_id=f"backup-{uuid.uuid4().hex[:10]}")
    return folder


class Answering:
    """Threads that bring one participant after another through the study, answering
    every trial, until told to stop (then they finish the participant in hand)."""

    def __init__(self, config, storage):
        self.config, self.storage = config, storage
        self.stop = threading.Event()
        self.answered = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._work, args=(i,)) for i in range(N_THREADS)]

    def _work(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            flow = ParticipantFlow.open(self.config, self.storage, f"w{worker}-{n}", f"s{n}")
            flow.consent(True)
            flow.finish_instructions()
            while (trial := flow.current_trial) is not None:
                shown = flow.shown_at(trial.trial_index)  # stored when the trial was drawn
                flow.answer(trial.trial_index, trial.options[0], shown + timedelta(seconds=2))
                self.answered.release()
            n += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        for _ in range(10):  # some answers are in before the backup starts
            self.answered.acquire()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


def export(monkeypatch, capsys, study_yaml, url, out) -> tuple[pd.DataFrame, pd.DataFrame]:
    code, _, err = run(
        monkeypatch, capsys, "study", "export", study_yaml, "--out", str(out), "--storage", url
    )
    assert code == 0, err
    return pd.read_csv(out), pd.read_csv(out.with_name(f"{out.stem}.participants.csv"))


def backup_while_answering(monkeypatch, capsys, study_yaml, url, out) -> tuple[int, int]:
    """Back up while participants answer; returns the live answer count before and after."""
    config = load_study(study_yaml, url, verify_images=False)
    storage = Storage(config.storage, config.study_id)
    try:
        with Answering(config, storage):
            before = storage.count_responses()
            code, stdout, err = run(
                monkeypatch, capsys, "study", "backup", study_yaml, "--out", str(out),
                "--storage", url,
            )  # fmt: skip
            after = storage.count_responses()
    finally:
        storage.close()
    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    return before, after


def assert_consistent_snapshot(copy, live) -> None:
    """Every row of the copy is in the live data, unchanged, and every participant's count
    of answers matches their rows: one moment, not a mix of moments."""
    copy_rows, copy_people = copy
    live_rows, _ = live
    assert len(copy_rows) > 0
    merged = copy_rows.merge(live_rows, how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), "the copy holds only rows the database holds"
    counts = copy_rows.groupby("participant_id").size()
    for person in copy_people.itertuples():
        assert person.n_answered == counts.get(person.participant_id, 0)


def test_sqlite_backup_while_answering_restores_the_same_rows(
    monkeypatch, capsys, study_dir, tmp_path
):
    study_yaml = str(study_dir / "study.yaml")
    url = f"sqlite:///{tmp_path / 'live.db'}"
    first, second = tmp_path / "copy1.db", tmp_path / "copy2.db"
    before, after = backup_while_answering(monkeypatch, capsys, study_yaml, url, first)
    assert after > before, "participants kept answering during the backup"
    live = export(monkeypatch, capsys, study_yaml, url, tmp_path / "live.csv")
    copy = export(monkeypatch, capsys, study_yaml, f"sqlite:///{first}", tmp_path / "c1.csv")
    assert_consistent_snapshot(copy, live)
    assert not list(tmp_path.glob(".copy1*")), "no temporary file left"

    code, _, err = run(
        monkeypatch, capsys, "study", "backup", study_yaml, "--out", str(second), "--storage", url
    )
    assert code == 0, err
    quiet = export(monkeypatch, capsys, study_yaml, f"sqlite:///{second}", tmp_path / "c2.csv")
    pd.testing.assert_frame_equal(quiet[0], live[0])
    pd.testing.assert_frame_equal(quiet[1], live[1])


def test_backup_never_creates_a_database_and_refuses_to_overwrite_it(
    monkeypatch, capsys, study_dir, tmp_path
):
    study_yaml = str(study_dir / "study.yaml")
    missing = tmp_path / "typo.db"
    code, _, err = run(
        monkeypatch, capsys, "study", "backup", study_yaml, "--out", str(tmp_path / "b.db"),
        "--storage", f"sqlite:///{missing}",
    )  # fmt: skip
    assert code == 2 and "there is no database at" in err
    assert not missing.exists() and not (tmp_path / "b.db").exists()
    live = tmp_path / "live.db"
    Storage(f"sqlite:///{live}", "x").close()
    code, _, err = run(
        monkeypatch, capsys, "study", "backup", study_yaml, "--out", str(live),
        "--storage", f"sqlite:///{live}",
    )  # fmt: skip
    assert code == 2 and "is the database itself" in err


@pytest.mark.postgres
def test_postgres_backup_while_answering_restores_the_same_rows(
    monkeypatch, capsys, study_dir, tmp_path, postgres_url
):
    if shutil.which("pg_restore") is None:
        pytest.fail("pg_restore is missing (it comes with the postgresql package)")
    study_yaml = str(study_dir / "study.yaml")
    dump = tmp_path / "study.dump"
    before, after = backup_while_answering(monkeypatch, capsys, study_yaml, postgres_url, dump)
    assert after > before, "participants kept answering during the backup"
    live = export(monkeypatch, capsys, study_yaml, postgres_url, tmp_path / "live.csv")

    server = make_url(postgres_url)
    restored_name = f"restore_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {restored_name}")
    restored = server.set(database=restored_name)
    try:
        restored_url = restored.render_as_string(hide_password=False)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={libpq_url(restored_url)}", str(dump)],
            env={"PGPASSWORD": server.password or "", "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
            timeout=120,
        )
        copy = export(
            monkeypatch,
            capsys,
            study_yaml,
            restored_url,
            tmp_path / "copy.csv",
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {restored_name} WITH (FORCE)")
        admin.dispose()
    assert_consistent_snapshot(copy, live)


def test_an_unreachable_postgres_backup_is_one_sentence(monkeypatch, capsys, study_dir, tmp_path):
    url = "postgresql+psycopg://u:hunter2@127.0.0.1:1/none"
    code, _, err = run(
        monkeypatch, capsys, "study", "backup", str(study_dir / "study.yaml"),
        "--out", str(tmp_path / "x.dump"), "--storage", url,
    )  # fmt: skip
    assert code == 2 and "cannot reach the database" in err and "hunter2" not in err
    assert err.count("\n") == 1


def test_pg_dump_gets_no_password_on_its_command_line():
    url = "postgresql+psycopg://u:hunter2@db.example:5433/study?sslmode=require"
    assert libpq_url(url) == "postgresql://u@db.example:5433/study?sslmode=require"
