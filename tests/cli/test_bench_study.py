"""`sketchlab bench study`'s bad input (the load itself runs in `sketchlab bench study`, and
the replicas behind Caddy in tests/e2e/test_replicas.py)."""

from tests.cli.test_study import run


def test_replicas_without_postgres_is_exit_2(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "bench", "study", "--replicas", "2")
    assert code == 2 and out == ""
    assert "--replicas needs --postgres" in err
