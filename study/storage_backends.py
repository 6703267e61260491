"""The databases a study can store its answers in: one `StorageBackend` per entry of BACKENDS,
which the `--storage` help, the storage URL's error messages and docs/study.md's table read.

An entry says what its URL looks like, when to choose it, and how to open an engine on it
(pool sizes, connection hooks). What differs in the queries themselves (SQLite's BEGIN
IMMEDIATE, PostgreSQL's row and advisory locks) stays in `study.storage`, which asks the
engine's dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sketchlab.errors import BadInput
from sketchlab.registry import Registry, words

if TYPE_CHECKING:  # SQLAlchemy is imported on use: the CLI's help reads BACKENDS
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL, Connection


@dataclass(frozen=True)
class EngineOptions:
    """How the caller uses the database: pool sizes per process (None: the backend's
    default), whether a commit must survive a power cut, and whether it writes at all."""

    pool_size: int | None
    max_overflow: int | None
    durable: bool
    writer: bool


@dataclass(frozen=True)
class StorageBackend:
    example: str
    """A URL of this kind, for help texts and messages."""
    use: str
    """When to choose it, one sentence."""
    open: Callable[[str, URL, EngineOptions], Engine]
    """(the URL as given, parsed) -> an engine; BadInput for a URL it cannot use."""


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def _open_sqlite(url: str, parsed: URL, options: EngineOptions) -> Engine:
    """`writer=False` (commands that only read) neither creates the file's folder nor switches
    the file to WAL (which would write to it, e.g. turn an empty file into a database)."""
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in url:
        raise BadInput(
            f"storage URL {masked_url(url)!r} is an in-memory database, which would lose "
            "every answer; name a file, e.g. sqlite:///study.db (field 'storage')"
        )
    try:  # no set-up: the file and its folder are created on first use
        if options.writer:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(
            f"cannot create the database folder for {masked_url(url)} "
            f"(field 'storage' or --storage): {error.strerror}"
        ) from None
    from sqlalchemy import create_engine, event

    engine = create_engine(
        url,
        connect_args={"timeout": 60, "check_same_thread": False},
        pool_size=options.pool_size or 8,
        max_overflow=64 if options.max_overflow is None else options.max_overflow,
        pool_timeout=120,
    )
    on_connect = partial(_sqlite_on_connect, durable=options.durable, writer=options.writer)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record, *, durable: bool, writer: bool) -> None:
    """WAL so readers never block the writer (set by writers only: it writes to the file);
    synchronous=FULL so a committed answer survives a power cut too, not only a killed
    process (costs a few ms per answer); a long busy wait; we issue BEGIN ourselves."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 60000")
    if writer:
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    """Writes take the lock up front (BEGIN IMMEDIATE), so the busy timeout applies."""
    read = conn.get_execution_options().get("sketchlab_read", False)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def pg_pool(pool_size: int | None, max_overflow: int | None) -> tuple[int, int]:
    """PostgreSQL connections per process: (kept open, extra under load)."""
    return pool_size or 10, 10 if max_overflow is None else max_overflow


def _open_postgresql(url: str, _parsed: URL, options: EngineOptions) -> Engine:
    from sqlalchemy import create_engine

    kept, extra = pg_pool(options.pool_size, options.max_overflow)
    return create_engine(
        url,
        connect_args={"connect_timeout": 5},
        # No pre-ping: it costs a round trip on every checkout. A connection the server
        # dropped fails its request once (a friendly page; SQLAlchemy then replaces the
        # pool's connections); recycling keeps idle ones fresh.
        pool_size=kept,
        max_overflow=extra,
        pool_timeout=120,
        pool_recycle=1800,
    )


BACKENDS: Registry[StorageBackend] = Registry(
    "storage backend",
    "--storage",
    entries={
        "sqlite": StorageBackend(
            "sqlite:///study.db",
            "one app process: a file beside the study, nothing to set up.",
            _open_sqlite,
        ),
        "postgresql": StorageBackend(
            "postgresql+psycopg://user:pass@host/db",
            "several app replicas behind a proxy (`study serve --replicas`), or a lab's "
            "database server.",
            _open_postgresql,
        ),
    },
    defaults=("sqlite",),
)


def examples() -> str:
    """Every backend's example URL, for messages: "sqlite:///study.db or postgresql+..."."""
    return words([backend.example for backend in BACKENDS.values()])


def open_engine(url: str, options: EngineOptions) -> Engine:
    """An engine on the storage URL `url`, by its backend's entry; BadInput naming the URL
    (password masked) and the field when it is not a database URL of a known backend."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadInput(
            f"storage URL {masked_url(url)!r} is not a database URL (field 'storage' or "
            f"--storage; e.g. {examples()})"
        ) from None
    name = parsed.get_backend_name()
    if name not in BACKENDS:
        raise BadInput(
            f"storage URL {masked_url(url)!r} must be one of {examples()} (field 'storage')"
        )
    try:
        return BACKENDS[name].open(url, parsed, options)
    except (NoSuchModuleError, ArgumentError) as error:
        raise BadInput(
            f"storage URL {masked_url(url)!r} cannot be used: {error} (field 'storage')"
        ) from None
