"""The storage backends come from one registry (study/storage_backends.py): every registered
backend opens a working database, and the help and the messages list what is registered."""

import pytest
from sqlalchemy import text

from sketchlab.errors import BadInput
from study.storage_backends import BACKENDS, EngineOptions, examples, open_engine

OPTIONS = EngineOptions(pool_size=1, max_overflow=0, durable=True, writer=True)


@pytest.fixture
def url_of(tmp_path, request):
    """A URL of a real database of each backend (PostgreSQL: the suite's server)."""

    def url(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / 'study.db'}"
        return request.getfixturevalue("postgres_url")

    return url


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_registered_backend_opens_a_database(backend, url_of):
    engine = open_engine(url_of(backend), OPTIONS)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert engine.dialect.name == backend
    finally:
        engine.dispose()


def test_the_help_lists_every_registered_backend(run_sketchlab):
    code, out, _ = run_sketchlab("study", "check", "--help")
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    for name, backend in BACKENDS.items():
        assert f"{name}" in flat and backend.example in flat


def test_an_unknown_backend_is_refused_naming_the_registered_ones():
    with pytest.raises(BadInput) as error:
        open_engine("mysql://user:secret@host/db", OPTIONS)
    message = str(error.value)
    assert examples() in message and "secret" not in message
    for backend in BACKENDS.values():
        assert backend.example in message


def test_a_registered_backend_is_one_entry(monkeypatch, tmp_path):
    """A backend added to the registry alone is used for its URLs (here: SQLite's engine
    under the name `sqlite`, re-registered with another example)."""
    sqlite = BACKENDS["sqlite"]
    opened = []

    def open_and_note(url, parsed, options):
        opened.append(url)
        return sqlite.open(url, parsed, options)

    monkeypatch.setitem(BACKENDS, "sqlite", type(sqlite)("sqlite:///x.db", "a test", open_and_note))
    url = f"sqlite:///{tmp_path / 'other.db'}"
    open_engine(url, OPTIONS).dispose()
    assert opened == [url]
    assert "sqlite:///x.db" in examples()
