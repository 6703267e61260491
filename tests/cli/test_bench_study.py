"""`sketchlab bench study`'s bad input (the load itself runs in `sketchlab bench study`, and
the replicas behind Caddy in tests/e2e/test_replicas.py)."""

from tests.cli.test_study import run


def test_replicas_without_postgres_is_exit_2(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "bench", "study", "--replicas", "2")
    assert code == 2 and out == ""
    assert "--replicas needs --postgres" in err


def test_the_load_bench_answers_ratings_and_typed_names():
    """--trial-types: the load participants rate every answer and, in the naming condition
    (the ninth participant's cell: conditions x 4 lists), type names; each is measured and
    checked against the database."""
    from sketchlab.bench.study_load import run_load

    figures = run_load(clients=9, think_s=(0.3, 0.5), time_limit_s=120, trial_types=True)
    assert figures["completed"] == 9 and figures["errors"] == 0
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    by_kind = figures["answers_by_kind"]
    assert by_kind["rating"] > 0 and by_kind["name"] > 0
    assert by_kind["answer"] + by_kind["name"] == figures["rows_of_completed"]
