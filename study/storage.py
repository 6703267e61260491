"""Where every answer lands the moment it is given: SQLite (WAL) by default, PostgreSQL for
many app replicas, through SQLAlchemy Core.

Idempotency is in the schema: a response's key is (study_id, participant_id, trial_index)
and inserts are ON CONFLICT DO NOTHING, so a double click, a retry after a timeout, two
tabs or a restart can neither duplicate nor lose a trial. Every write is one short
transaction on a pooled connection (safe from Streamlit's many script threads). On SQLite
writes start with BEGIN IMMEDIATE (so the busy timeout is honoured instead of failing on a
read-to-write upgrade); on PostgreSQL the participant row is locked FOR UPDATE and
allocation takes a per-study advisory lock. `study_id` keeps studies in one database apart.
The admin page's login throttle (study/login.py) keeps its per-client record here too, so
every replica shares it.

Timestamps are stored as ISO-8601 UTC strings with milliseconds ("2026-11-25T19:42:01.123Z"),
which sort and compare correctly as text in both databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    delete,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from sketchlab.contracts import (
    COMPLETED,
    DECLINED,
    IN_PROGRESS,
    RESPONSE_SCHEMA,
    TIMED_OUT,
    TIMEOUT,
    ResponseColumn,
)
from sketchlab.errors import BadInput
from study.fair_gate import FairGate
from study.group_commit import GroupCommit
from study.progress import Progress
from study.storage_backends import EngineOptions, masked_url, open_engine, pg_pool
from study.trial_types import added_columns

metadata = MetaData()
participants_table = Table(
    "study_participants",
    metadata,
    Column("study_id", String(64), primary_key=True),
    Column("participant_id", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("condition", String(16)),
    Column("list_id", Integer),
    Column("status", String(20), nullable=False),
    Column("consent_version", String(16)),
    Column("consented_at", String(24)),
    Column("instructions_done_at", String(24)),
    Column("started_at", String(24), nullable=False),
    Column("completed_at", String(24)),
    Column("last_seen_at", String(24), nullable=False),
    Column("attention_failures", Integer, nullable=False, default=0),
    Column("n_answered", Integer, nullable=False, default=0),
    # Added after the first release: nullable, so `_prepare_schema` can upgrade old tables.
    # Trial timing: the trial on screen and when it was first drawn (the first draw wins,
    # across reloads, tabs and replicas), and the current run of timed-out trials.
    Column("shown_trial", Integer),
    Column("shown_at", String(24)),
    Column("consecutive_timeouts", Integer, default=0),
    # The participant's device, reported once by the browser (CSS pixels).
    Column("screen_width", Integer),
    Column("screen_height", Integer),
    Column("viewport_width", Integer),
    Column("viewport_height", Integer),
    Column("prolific_study_id", String(64)),  # Prolific's STUDY_ID: tells a pilot from a run
    Column("preview", Integer),  # 1: the researcher's preview, never counted or exported
    # Interruptions of the trial on screen (a lost connection): which trial, for how long in
    # all (ms), and the browser's mark of the last one (so a report counts once).
    Column("interrupted_trial", Integer),
    Column("interrupted_ms", Integer),
    Column("interruption_mark", String(32)),
    Index("ix_study_participants_cell", "study_id", "status", "condition", "list_id"),
)
admin_logins_table = Table(  # the admin page's throttle (study/login.py), per client address
    "study_admin_logins",
    metadata,
    Column("study_id", String(64), primary_key=True),
    Column("client", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", String(24), nullable=False),
    Column("next_attempt_at", String(24), nullable=False),
)
_SQL_TYPES = {"integer": Integer, "text": Text}
_KEY = ("study_id", "participant_id", "trial_index")


@lru_cache(maxsize=16)
def responses_table_for(extra: tuple[ResponseColumn, ...]) -> Table:
    """The responses table: key (study_id, participant_id, trial_index), then the core
    columns (`sketchlab.contracts.RESPONSE_SCHEMA`) and the `extra` columns the trial types
    declare (`study.trial_types.added_columns`), with their declared types. Columns a
    database made by an older version lacks are added when it is opened (nullable)."""

    def column(spec: ResponseColumn) -> Column:
        kind = String(spec.length) if spec.type == "string" else _SQL_TYPES[spec.type]
        return Column(spec.name, kind, primary_key=spec.name in _KEY, nullable=not spec.required)

    by_name = {spec.name: spec for spec in (*RESPONSE_SCHEMA, *extra)}
    ordered = [by_name[name] for name in _KEY] + [
        spec for name, spec in by_name.items() if name not in _KEY
    ]
    return Table("study_responses", MetaData(), *(column(spec) for spec in ordered))


responses_table = responses_table_for(added_columns())
"""The responses table of the registered trial types (a Storage builds its own when types
are registered later)."""
STUDY_TABLE_NAMES = (participants_table.name, responses_table.name)
"""The tables that hold the study's data (backups copy these; reading commands need them)."""


_P = participants_table.c
_WHO = (_P.study_id == bindparam("k_study")) & (_P.participant_id == bindparam("k_participant"))
# Statements on the answer path are built once: SQLAlchemy then reuses their compiled form.
_SELECT_PARTICIPANT = select(participants_table).where(_WHO)
_SELECT_PROGRESS = select(
    _P.status,
    _P.n_answered,
    _P.attention_failures,
    _P.consecutive_timeouts,
    _P.shown_trial,
    _P.shown_at,
).where(_WHO)
_UPDATE_PROGRESS = (
    update(participants_table)
    .where(_WHO)
    .values(
        n_answered=bindparam("v_answered"),
        attention_failures=bindparam("v_failures"),
        consecutive_timeouts=bindparam("v_timeouts"),
        status=bindparam("v_status"),
        last_seen_at=bindparam("v_seen"),
        shown_trial=bindparam("v_shown_trial"),
        shown_at=bindparam("v_shown_at"),
        completed_at=func.coalesce(_P.completed_at, bindparam("v_completed", type_=String)),
    )
)
_SELECT_SHOWN = select(_P.shown_trial, _P.shown_at).where(_WHO)
_UPDATE_SHOWN = (  # only forwards: a stale tab can never move the clock of a newer trial
    update(participants_table)
    .where(
        _WHO,
        _P.status == IN_PROGRESS,
        (_P.shown_trial.is_(None)) | (_P.shown_trial < bindparam("v_shown_trial")),
    )
    .values(
        shown_trial=bindparam("v_shown_trial"),
        shown_at=bindparam("v_shown_at"),
        last_seen_at=bindparam("v_shown_at"),
    )
)
_UPDATE_INTERRUPTED = (  # once per mark: the browser may report one interruption twice
    update(participants_table)
    .where(
        _WHO,
        _P.status == IN_PROGRESS,
        _P.shown_trial == bindparam("v_trial"),
        func.coalesce(_P.interruption_mark, "") != bindparam("v_mark"),
    )
    .values(
        shown_at=bindparam("v_now"),
        last_seen_at=bindparam("v_now"),
        interrupted_ms=case(
            (_P.interrupted_trial == bindparam("v_trial"), func.coalesce(_P.interrupted_ms, 0)),
            else_=0,
        )
        + bindparam("v_ms"),
        interrupted_trial=bindparam("v_trial"),
        interruption_mark=bindparam("v_mark"),
    )
)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, e.g. 2026-11-25T19:42:01.123Z."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (use datetime.now(timezone.utc))")
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(stamp: str) -> datetime:
    """The inverse of `iso`."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Participant:
    """One row of study_participants (timestamps as ISO strings)."""

    participant_id: str
    session_id: str
    condition: str | None
    list_id: int | None
    status: str
    consent_version: str | None
    consented_at: str | None
    instructions_done_at: str | None
    started_at: str
    completed_at: str | None
    last_seen_at: str
    attention_failures: int
    n_answered: int
    shown_trial: int | None = None
    shown_at: str | None = None
    consecutive_timeouts: int | None = 0
    screen_width: int | None = None
    screen_height: int | None = None
    viewport_width: int | None = None
    viewport_height: int | None = None
    prolific_study_id: str | None = None
    preview: int | None = None
    interrupted_trial: int | None = None
    interrupted_ms: int | None = None
    interruption_mark: str | None = None

    def interrupted_ms_of(self, trial_index: int) -> int:
        """How long (ms) trial `trial_index` was interrupted while on screen (0: never)."""
        return (self.interrupted_ms or 0) if self.interrupted_trial == trial_index else 0


_PARTICIPANT_FIELDS = tuple(f.name for f in fields(Participant))


@dataclass(frozen=True)
class RecordResult:
    """Outcome of `record_response`: whether this call wrote the row, the status after, and
    the trial on screen with its first-drawn time (as stored)."""

    inserted: bool
    status: str
    shown_trial: int | None = None
    shown_at: str | None = None


class _Changed(BadInput):
    def __init__(self, participant_id: str, trial_index: int):
        super().__init__(
            f"the answer of participant {participant_id!r} to trial {trial_index} changed "
            "while the codes were applied; nothing was changed, run the command again"
        )


@dataclass(frozen=True)
class LoginClaim:
    """Outcome of `claim_login_attempt`: `wait_s` > 0 means refused (the client must wait
    that long); otherwise the attempt may go ahead, counted as this client's `failures`-th
    failure in a row (with `delay_s` to wait after it) unless it turns out right."""

    wait_s: float
    failures: int = 0
    delay_s: float = 0.0


class Storage:
    """One study's tables in one database. Thread-safe; share one instance per process."""

    def __init__(
        self,
        url: str,
        study_id: str,
        *,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        durable: bool = True,
        create: bool = True,
        warm: bool = False,
    ):
        """`pool_size`/`max_overflow`: connections per process (default 8+64 on SQLite; 10+10
        on PostgreSQL, so several replicas stay under its default max_connections of 100; the
        10 stay open, so a busy server does not connect and disconnect all the time).
        `warm` (the app, the benches) opens the PostgreSQL pool's connections now: a burst of
        first requests would otherwise wait seconds for dozens of connections being set up
        at once.
        `durable=False` (simulations only) lets SQLite skip the fsync per answer: a killed
        process still loses nothing, a power cut may lose the last answers.
        `create=False` (export, backup) opens an existing study database only: a missing
        SQLite file or missing tables are BadInput, so a typo never creates an empty one."""
        self.url = url
        self.study_id = study_id
        self.masked_url = masked_url(url)
        if not create:
            _require_sqlite_file(url)
        self.engine = open_engine(
            url, EngineOptions(pool_size, max_overflow, durable, writer=create)
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time anyway: this process's writers take turns (instead
        # of SQLite's sleep-and-retry busy handler, which made p99 latency seconds long with
        # 200 writers) and share commits (one fsync per batch, study/group_commit.py); other
        # processes still wait through busy_timeout.
        self._group_commit = GroupCommit(self.engine) if self.is_sqlite else None
        # PostgreSQL: connections go to waiting threads in arrival order (study/fair_gate.py).
        self._gate = (
            nullcontext() if self.is_sqlite else FairGate(sum(pg_pool(pool_size, max_overflow)))
        )
        dialect = sqlite if self.is_sqlite else postgresql
        self.responses = responses_table_for(added_columns())
        self.tables = (participants_table, self.responses, admin_logins_table)
        r = self.responses.c
        self._insert_response = (  # RETURNING tells reliably whether this call inserted
            dialect.insert(self.responses).on_conflict_do_nothing().returning(r.trial_index)
        )
        self._select_responses = (
            select(self.responses)
            .where(
                r.study_id == bindparam("k_study"), r.participant_id == bindparam("k_participant")
            )
            .order_by(r.trial_index)
        )
        self._insert_participant = dialect.insert(participants_table).on_conflict_do_nothing()
        self._insert_login = dialect.insert(admin_logins_table).on_conflict_do_nothing()
        self._select_progress = (
            _SELECT_PROGRESS if self.is_sqlite else _SELECT_PROGRESS.with_for_update()
        )
        try:
            self._prepare_schema(create)
        except (DBAPIError, SQLAlchemyError) as error:
            self.close()
            raise BadInput(
                f"cannot reach the database {self.masked_url} (field 'storage' or --storage): "
                f"{_first_line(error)}"
            ) from None
        except BadInput:
            self.close()
            raise
        if warm and not self.is_sqlite:
            opened = [self.engine.connect() for _ in range(self.engine.pool.size())]
            for conn in opened:
                conn.close()

    def _prepare_schema(self, create: bool) -> None:
        """Create the tables (or, with create=False, insist they exist), then add columns
        that newer versions introduced to tables an older version created. Nothing is
        written when the schema is already current."""
        with self._read() as conn:
            missing = _missing_schema(conn, self.tables)
        if not create:  # reading only: the admin page's table is the server's to create
            missing = [
                (table, column) for table, column in missing if table.name in STUDY_TABLE_NAMES
            ]
        if not missing:
            return
        if not create and any(column is None for _, column in missing):
            raise BadInput(
                f"the database {self.masked_url} holds no study tables (field 'storage' or "
                "--storage; `sketchlab study serve` creates them)"
            )
        with self._write() as conn:
            if not self.is_sqlite:  # replicas starting together must not race on DDL
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("schema")})
            for table in self.tables:
                table.create(conn, checkfirst=True)
            for table, column in _missing_schema(conn, self.tables):
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")

    def close(self) -> None:
        if self._group_commit is not None:
            self._group_commit.close()
        self.engine.dispose()

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: committed (durably) when the block ends."""
        if self._group_commit is not None:
            with self._group_commit.write() as conn:
                yield conn
        else:
            with self._gate, self.engine.begin() as conn:
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._gate, self.engine.execution_options(sketchlab_read=True).connect() as conn:
            yield conn

    def _key(self, participant_id: str) -> dict:
        return {"k_study": self.study_id, "k_participant": participant_id}

    def _mine(self, participant_id: str):
        return (_P.study_id == self.study_id) & (_P.participant_id == participant_id)

    # --- participants -------------------------------------------------------------------

    def get_participant(self, participant_id: str) -> Participant | None:
        with self._read() as conn:
            row = conn.execute(_SELECT_PARTICIPANT, self._key(participant_id)).first()
        return _participant(row) if row is not None else None

    def allocate(
        self,
        participant_id: str,
        session_id: str,
        choose: Callable[[dict[tuple[str, int], int]], tuple[str, int] | None],
        now: datetime,
        active_since: datetime,
        consent_version: str,
        *,
        prolific_study_id: str | None = None,
        preview: bool = False,
    ) -> Participant | None:
        """Insert a consenting participant into the cell `choose(counts)` picks, atomically;
        None (and nothing written) when `choose` returns None (the study is full).

        Under the study's allocation lock: in-progress participants not seen since
        `active_since` become timed_out (their slots are freed), then `counts` holds, per
        cell, completed plus still-active participants: real ones for a real participant,
        previews for a preview (so previews never take a slot, and successive previews walk
        through the cells). An existing participant is returned unchanged (never allocated
        twice).
        """
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(self.study_id)}
                )
            existing = conn.execute(_SELECT_PARTICIPANT, self._key(participant_id)).first()
            if existing is not None:
                return _participant(existing)
            self._time_out_idle(conn, active_since, preview=preview)
            cell = choose(self._filled(conn, active_since, preview))
            if cell is None:
                return None
            condition, list_id = cell
            stamp = iso(now)
            values = {
                "study_id": self.study_id, "participant_id": participant_id,
                "session_id": session_id,
                "condition": condition, "list_id": list_id, "status": IN_PROGRESS,
                "consent_version": consent_version, "consented_at": stamp, "started_at": stamp,
                "last_seen_at": stamp, "attention_failures": 0, "n_answered": 0,
                "prolific_study_id": prolific_study_id, "preview": int(preview),
            }  # fmt: skip
            conn.execute(participants_table.insert().values(**values))
        return Participant(**{name: values.get(name) for name in _PARTICIPANT_FIELDS})

    def filled_cells(self, active_since: datetime) -> dict[tuple[str, int], int]:
        """Per cell, real participants completed or in progress and seen since
        `active_since` (what a target count per cell is compared with); a read only."""
        with self._read() as conn:
            return self._filled(conn, active_since, preview=False)

    def _filled(
        self, conn: Connection, active_since: datetime, preview: bool
    ) -> dict[tuple[str, int], int]:
        c = _P
        active = (c.status == COMPLETED) | (
            (c.status == IN_PROGRESS) & (c.last_seen_at >= iso(active_since))
        )
        rows = conn.execute(
            select(c.condition, c.list_id, func.count())
            .where(c.study_id == self.study_id, active, _is_preview(preview))
            .group_by(c.condition, c.list_id)
        ).all()
        return {(row[0], row[1]): row[2] for row in rows}

    def record_decline(
        self,
        participant_id: str,
        session_id: str,
        now: datetime,
        consent_version: str,
        *,
        prolific_study_id: str | None = None,
        preview: bool = False,
    ) -> Participant:
        """Record that this participant declined consent (no cell, no slot taken)."""
        stamp = iso(now)
        values = {
            "study_id": self.study_id, "participant_id": participant_id, "session_id": session_id,
            "status": DECLINED, "consent_version": consent_version, "started_at": stamp,
            "last_seen_at": stamp, "attention_failures": 0, "n_answered": 0,
            "prolific_study_id": prolific_study_id, "preview": int(preview),
        }  # fmt: skip
        with self._write() as conn:
            conn.execute(self._insert_participant, values)
        return self.get_participant(participant_id)

    def mark(self, participant_id: str, now: datetime, **values: str | None) -> None:
        """Update a participant's fields (e.g. instructions_done_at, status) and last_seen_at."""
        unknown = set(values) - set(_PARTICIPANT_FIELDS)
        if unknown:
            raise ValueError(f"unknown participant fields {sorted(unknown)}")
        with self._write() as conn:
            conn.execute(
                update(participants_table)
                .where(self._mine(participant_id))
                .values(last_seen_at=iso(now), **values)
            )

    def time_out_idle(self, active_since: datetime, participant_id: str | None = None) -> int:
        """Mark in-progress participants (all, or just this one) not seen since
        `active_since` as timed_out; returns how many were marked."""
        with self._write() as conn:
            return self._time_out_idle(conn, active_since, participant_id)

    def _time_out_idle(
        self,
        conn: Connection,
        active_since: datetime,
        participant_id: str | None = None,
        *,
        preview: bool | None = None,
    ) -> int:
        """(`preview`: only previews, or only real participants: a preview's arrival never
        changes a real participant's row.)"""
        c = _P
        where = [
            c.study_id == self.study_id,
            c.status == IN_PROGRESS,
            c.last_seen_at < iso(active_since),
        ]
        if participant_id is not None:
            where.append(c.participant_id == participant_id)
        if preview is not None:
            where.append(_is_preview(preview))
        return conn.execute(
            update(participants_table).where(*where).values(status=TIMED_OUT)
        ).rowcount

    # --- responses ----------------------------------------------------------------------

    def record_response(
        self, row: dict, advance: Callable[[Progress], Progress], now: datetime
    ) -> RecordResult:
        """Write one answered trial exactly once, and move the participant on.

        `row` has the responses columns except study_id (missing trial-type columns are
        empty). If this call inserted it, the participant's counters become `advance(their
        stored counters)` in the same transaction, on their locked row (the status rules of
        study/progress.py); last_seen_at becomes `now` either way. Nothing is written unless
        the participant exists and is in progress.
        """
        values = {column.name: row.get(column.name) for column in self.responses.columns}
        values["study_id"] = self.study_id
        return self._advance(
            row["participant_id"],
            lambda conn: conn.execute(self._insert_response, values).first() is not None,
            advance,
            now,
        )

    def record_reply(
        self,
        participant_id: str,
        trial_index: int,
        values: dict,
        reply_column: str,
        advance: Callable[[Progress], Progress],
        now: datetime,
    ) -> RecordResult:
        """Write a follow-up question's reply (`values`, e.g. a confidence rating and its
        time) onto an answered trial's row, exactly once: only while its `reply_column` is
        empty and the trial did not time out. Then as `record_response`."""
        r = self.responses.c
        statement = (
            update(self.responses)
            .where(
                r.study_id == self.study_id,
                r.participant_id == participant_id,
                r.trial_index == trial_index,
                r[reply_column].is_(None),
                r.response != TIMEOUT,
            )
            .values(**values)
        )
        return self._advance(
            participant_id, lambda conn: conn.execute(statement).rowcount == 1, advance, now
        )

    def _advance(
        self,
        participant_id: str,
        write: Callable[[Connection], bool],
        advance: Callable[[Progress], Progress],
        now: datetime,
    ) -> RecordResult:
        key = self._key(participant_id)
        with self._write() as conn:
            current = conn.execute(self._select_progress, key).first()
            if current is None:
                return RecordResult(False, "unknown")
            progress = Progress(*current)
            if progress.status != IN_PROGRESS:
                return RecordResult(False, progress.status, progress.shown_trial, progress.shown_at)
            written = write(conn)
            if written:
                progress = advance(progress)
            stamp = iso(now)
            conn.execute(
                _UPDATE_PROGRESS,
                {
                    **key,
                    "v_answered": progress.n_answered,
                    "v_failures": progress.attention_failures,
                    "v_timeouts": progress.consecutive_timeouts or 0,
                    "v_status": progress.status,
                    "v_seen": stamp,
                    "v_shown_trial": progress.shown_trial,
                    "v_shown_at": progress.shown_at,
                    "v_completed": stamp if progress.status == COMPLETED else None,
                },
            )
        return RecordResult(written, progress.status, progress.shown_trial, progress.shown_at)

    def update_responses(self, changes: Sequence) -> None:
        """Change stored answers (the researcher's codes for typed names), all or none: each
        change (`participant_id`, `trial_index`, `expected`, `values`) applies only while its
        row still holds the `expected` values; if any row no longer does, nothing changes and
        BadInput says so."""
        r = self.responses.c
        with self._write() as conn:
            for change in changes:
                statement = (
                    update(self.responses)
                    .where(
                        r.study_id == self.study_id,
                        r.participant_id == change.participant_id,
                        r.trial_index == change.trial_index,
                        *(r[name] == value for name, value in change.expected.items()),
                    )
                    .values(**change.values)
                )
                if conn.execute(statement).rowcount != 1:
                    raise _Changed(change.participant_id, change.trial_index)

    def record_shown(
        self, participant_id: str, trial_index: int, now: datetime
    ) -> tuple[int | None, str | None]:
        """Record that `trial_index` was drawn at `now`, unless it (or a later trial) already
        was: the first draw wins, whichever tab or replica drew it. Returns the stored
        (shown_trial, shown_at)."""
        key = self._key(participant_id)
        with self._write() as conn:
            conn.execute(
                _UPDATE_SHOWN, {**key, "v_shown_trial": trial_index, "v_shown_at": iso(now)}
            )
            stored = conn.execute(_SELECT_SHOWN, key).first()
        return (stored[0], stored[1]) if stored is not None else (None, None)

    def record_interruption(
        self, participant_id: str, trial_index: int, lost_ms: int, mark: str, now: datetime
    ) -> Participant | None:
        """The participant's connection was lost for `lost_ms` while trial `trial_index` was
        on screen: the trial is shown afresh (its clock restarts at `now`) and `lost_ms` is
        added to its interrupted time, once per `mark` (the browser's name for this
        interruption) and only while that trial is the one on screen. Returns the row after."""
        key = self._key(participant_id)
        with self._write() as conn:
            conn.execute(
                _UPDATE_INTERRUPTED,
                {**key, "v_trial": trial_index, "v_ms": lost_ms, "v_mark": mark, "v_now": iso(now)},
            )
            row = conn.execute(_SELECT_PARTICIPANT, key).first()
        return _participant(row) if row is not None else None

    # --- the admin page's login throttle (study/login.py) -------------------------------

    def claim_login_attempt(
        self,
        client: str,
        now: datetime,
        delay_after: Callable[[int], float],
        forget_before: datetime,
    ) -> LoginClaim:
        """May `client` try an admin password now? If it must wait, `wait_s` says how long.
        If not, the attempt is recorded as a failure before the password is even compared
        (failures last recorded before `forget_before` are forgotten first), with the next
        attempt allowed `delay_after(failures)` seconds from now: so guesses sent in
        parallel from one client are refused but the first. `clear_login_failures` undoes
        it when the password was right. One transaction, so every replica agrees."""
        start = iso(datetime(2000, 1, 1, tzinfo=timezone.utc))
        values = {"study_id": self.study_id, "client": client}
        a = admin_logins_table.c
        where = (a.study_id == self.study_id) & (a.client == client)
        with self._write() as conn:
            conn.execute(
                self._insert_login.values(
                    **values, failures=0, last_failure_at=start, next_attempt_at=start
                )
            )
            query = select(a.failures, a.last_failure_at, a.next_attempt_at).where(where)
            failures, last_failure_at, next_attempt_at = conn.execute(
                query if self.is_sqlite else query.with_for_update()
            ).one()
            if next_attempt_at > iso(now):
                return LoginClaim(wait_s=(parse_iso(next_attempt_at) - now).total_seconds())
            failures = (0 if last_failure_at < iso(forget_before) else failures) + 1
            delay_s = delay_after(failures)
            conn.execute(
                update(admin_logins_table)
                .where(where)
                .values(
                    failures=failures,
                    last_failure_at=iso(now),
                    next_attempt_at=iso(now + timedelta(seconds=delay_s)),
                )
            )
        return LoginClaim(wait_s=0.0, failures=failures, delay_s=delay_s)

    def clear_login_failures(self, client: str) -> None:
        """Forget `client`'s failed admin logins (its password was right)."""
        a = admin_logins_table.c
        with self._write() as conn:
            conn.execute(
                delete(admin_logins_table).where(a.study_id == self.study_id, a.client == client)
            )

    def responses_of(self, participant_id: str) -> dict[int, dict]:
        """This participant's answered trials by trial_index (rebuilding state on resume)."""
        with self._read() as conn:
            rows = conn.execute(self._select_responses, self._key(participant_id)).mappings().all()
        return {row["trial_index"]: dict(row) for row in rows}

    # --- whole-study reads (export, admin page, benches) --------------------------------

    # Previews (the researcher's own runs through the study) are left out of every one.

    def responses_frame(self):
        """All responses of this study as a pandas DataFrame: the core columns
        (RESPONSE_COLUMNS) in order, then the trial types' columns."""
        import pandas as pd

        from study.trial_types import response_columns

        names = response_columns()
        r = self.responses.c
        query = (
            select(*[r[name] for name in names])
            .where(r.study_id == self.study_id, self._not_preview_response())
            .order_by(r.participant_id, r.trial_index)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(rows, columns=list(names))

    def participants_frame(self):
        """All participants of this study as a pandas DataFrame (one row each)."""
        import pandas as pd

        c = _P
        with self._read() as conn:
            rows = conn.execute(
                select(*[c[name] for name in _PARTICIPANT_FIELDS])
                .where(c.study_id == self.study_id, _is_preview(False))
                .order_by(c.started_at, c.participant_id)
            ).all()
        frame = pd.DataFrame(rows, columns=list(_PARTICIPANT_FIELDS))
        frame.insert(1, "study_id", self.study_id)
        return frame

    def cell_counts(self) -> dict[tuple[str, int], dict[str, int]]:
        """Per (condition, list_id): participant counts by status (for the admin page)."""
        c = _P
        with self._read() as conn:
            rows = conn.execute(
                select(c.condition, c.list_id, c.status, func.count())
                .where(c.study_id == self.study_id, c.condition.is_not(None), _is_preview(False))
                .group_by(c.condition, c.list_id, c.status)
            ).all()
        counts: dict[tuple[str, int], dict[str, int]] = {}
        for condition, list_id, status, n in rows:
            counts.setdefault((condition, list_id), {})[status] = n
        return counts

    def answers_since(self, moment: datetime) -> dict[tuple[str, int], int]:
        """Per (condition, list_id): answers given at or after `moment` (the live view)."""
        r = self.responses.c
        with self._read() as conn:
            rows = conn.execute(
                select(r.condition, r.list_id, func.count())
                .where(
                    r.study_id == self.study_id,
                    r.answered_at >= iso(moment),
                    self._not_preview_response(),
                )
                .group_by(r.condition, r.list_id)
            ).all()
        return {(condition, list_id): n for condition, list_id, n in rows}

    def count_responses(self) -> int:
        r = self.responses.c
        with self._read() as conn:
            return conn.execute(
                select(func.count())
                .select_from(self.responses)
                .where(r.study_id == self.study_id, self._not_preview_response())
            ).scalar_one()

    def participant_ids(self) -> list[str]:
        c = _P
        with self._read() as conn:
            return list(
                conn.execute(
                    select(c.participant_id).where(c.study_id == self.study_id, _is_preview(False))
                ).scalars()
            )

    def _not_preview_response(self):
        c = _P
        previews = select(c.participant_id).where(c.study_id == self.study_id, c.preview == 1)
        return self.responses.c.participant_id.not_in(previews)

    def study_ids(self) -> list[str]:
        """Every study with participants in this database (to name them when ours has none)."""
        with self._read() as conn:
            return list(
                conn.execute(select(_P.study_id).distinct().order_by(_P.study_id)).scalars()
            )


def _missing_schema(conn: Connection, tables: Sequence[Table]) -> list[tuple[Table, Column | None]]:
    """(table, None) for each of our tables the database lacks, (table, column) for each
    column a table from an older version lacks (new columns are nullable, so adding them
    upgrades the table in place, with the new fields empty for old rows)."""
    inspector = inspect(conn)
    missing: list[tuple[Table, Column | None]] = []
    present_tables = set(inspector.get_table_names())
    for table in tables:
        if table.name not in present_tables:
            missing.append((table, None))
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [(table, column) for column in table.columns if column.name not in present]
    return missing


def _require_sqlite_file(url: str) -> None:
    """For commands that read an existing database: a SQLite file that is not there is
    BadInput (connecting would create an empty one)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # open_engine explains
    on_disk = parsed.database not in (None, "", ":memory:") and "mode=memory" not in url
    if parsed.get_backend_name() == "sqlite" and on_disk and not Path(parsed.database).is_file():
        raise BadInput(
            f"there is no database at {masked_url(url)} (field 'storage' or --storage; "
            "`sketchlab study serve` creates it)"
        )


def check_reachable(url: str) -> str | None:
    """Connect once and read the schema, writing nothing: `study check` uses it. Returns a
    note when the database is not set up yet (a SQLite file that does not exist, or no study
    tables: `serve` creates them); an unreachable server or a file that is not a database is
    BadInput."""
    engine = open_engine(url, EngineOptions(1, 0, durable=True, writer=False))
    try:
        if engine.dialect.name == "sqlite" and not Path(engine.url.database).is_file():
            return "the file does not exist yet; `sketchlab study serve` creates it"
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        if not set(STUDY_TABLE_NAMES) <= tables:
            return "it holds no study tables yet; `sketchlab study serve` creates them"
        return None
    except (DBAPIError, SQLAlchemyError) as error:
        raise BadInput(
            f"cannot reach the database {masked_url(url)} (field 'storage' or --storage): "
            f"{_first_line(error)}"
        ) from None
    finally:
        engine.dispose()


def _is_preview(preview: bool):
    """Previews have preview=1; real participants 0, or NULL in rows from older versions."""
    return _P.preview == 1 if preview else func.coalesce(_P.preview, 0) == 0


def _participant(row) -> Participant:
    mapping = row._mapping
    return Participant(**{name: mapping[name] for name in _PARTICIPANT_FIELDS})


def _first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for PostgreSQL."""
    return int.from_bytes(
        hashlib.sha256(f"sketchlab:{name}".encode()).digest()[:8], "big", signed=True
    )
