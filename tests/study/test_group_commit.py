"""Group commit on a real SQLite file: many threads' writes share commits, nothing a caller
was told is stored goes missing, and one failing block undoes only its own writes."""

import threading

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import OperationalError

from study.group_commit import GroupCommit


@pytest.fixture
def group(tmp_path):
    engine = create_engine(
        f"sqlite:///{tmp_path / 'g.db'}", connect_args={"check_same_thread": False}
    )
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, writer INTEGER)"))
    commits = []
    group = GroupCommit(engine)
    event.listen(engine, "commit", lambda conn: commits.append(1))
    yield group, engine, commits
    group.close()
    engine.dispose()


def rows(engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT k FROM t ORDER BY k"))]


def test_concurrent_writers_all_land_in_fewer_commits(group):
    group, engine, commits = group
    n = 40
    barrier = threading.Barrier(n)
    acknowledged = []

    def writer(w):
        barrier.wait()
        for i in range(5):
            with group.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (:k, :w)"), {"k": w * 100 + i, "w": w})
            acknowledged.append(w * 100 + i)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(acknowledged) == rows(engine) and len(acknowledged) == 5 * n
    assert len(commits) < 5 * n, "writers waiting together share a commit"


def test_a_failing_block_undoes_only_its_own_writes(group):
    group, engine, _ = group
    inside = threading.Event()
    release = threading.Event()
    outcome = {}

    def first():  # holds the turn until the others queue up behind it
        with group.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1, 1)"))
            inside.set()
            release.wait(10)
        outcome["first"] = "ok"

    def failing():
        try:
            with group.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (2, 2)"))
                conn.execute(text("INSERT INTO t VALUES (1, 2)"))  # duplicate key
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["failing"] = type(error).__name__

    def third():
        with group.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (3, 3)"))
        outcome["third"] = "ok"

    threads = [threading.Thread(target=first)]
    threads[0].start()
    inside.wait(10)
    threads += [threading.Thread(target=failing), threading.Thread(target=third)]
    threads[1].start()
    threads[2].start()
    while group._waiting < 2:  # both queued behind the first block (same batch)
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert outcome == {"first": "ok", "failing": "IntegrityError", "third": "ok"}
    assert rows(engine) == [1, 3]


def test_a_failed_commit_reaches_every_caller_of_the_batch_and_the_next_batch_works(
    group, monkeypatch
):
    group, engine, _ = group
    with group.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (1, 1)"))

    def disk_full(self):
        raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

    with monkeypatch.context() as failing_disk:
        failing_disk.setattr(Connection, "commit", disk_full)
        with pytest.raises(OperationalError), group.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (2, 1)"))
    with group.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (3, 1)"))
    assert rows(engine) == [1, 3], "nothing of the failed batch is stored"
