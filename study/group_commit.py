"""Group commit for SQLite: the writes of many threads share one transaction and one fsync.

SQLite has one writer at a time, and with `synchronous=FULL` every commit waits for the
disk (several ms). With one transaction per answer, answers queue behind each other's
fsyncs and a burst of participants waits seconds. Here each caller's block still runs
alone, and every block after the first of a batch in a SAVEPOINT (so one block's failure
undoes only its own writes); a caller that finishes while others are waiting hands the open
transaction on, and the last one of the batch commits for everybody. Nobody returns before
their writes are committed: what a caller was told is stored survives a crash or a power
cut as before. One connection is kept for these writes (reads use the pool).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

MAX_BATCH = 64
"""At most this many blocks share one commit (bounds how long the first one waits)."""


class _Batch:
    def __init__(self) -> None:
        self.size = 0
        self.error: BaseException | None = None
        self.done = threading.Event()


class GroupCommit:
    """Serialised write blocks on one engine, committed in batches (`write()`)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._turn = threading.Lock()  # whose block runs now
        self._state = threading.Lock()  # guards _waiting
        self._waiting = 0
        self._conn: Connection | None = None
        self._batch: _Batch | None = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside the shared transaction; returns once the block is committed
        (raises what the block raised, or the commit's error)."""
        with self._state:
            self._waiting += 1
        self._turn.acquire()
        with self._state:
            self._waiting -= 1
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            if self._batch is None:
                self._conn.begin()
                self._batch = _Batch()
            batch = self._batch
            batch.size += 1
            # The first block needs no savepoint: if it fails, the batch is only itself.
            savepoint = self._conn.begin_nested() if batch.size > 1 else None
        except BaseException as error:
            self._abort(error)
            raise
        try:
            yield self._conn
        except BaseException as error:
            if savepoint is None:
                self._abort(error)
                raise
            try:
                savepoint.rollback()
            except BaseException:
                self._abort(error)
                raise error from None
            self._pass_on_or_commit(batch)
            raise
        try:
            if savepoint is not None:
                savepoint.commit()
        except BaseException as error:
            self._abort(error)
            raise
        self._pass_on_or_commit(batch)
        batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def _pass_on_or_commit(self, batch: _Batch) -> None:
        """Called with the turn held: let a waiting caller continue the transaction, or
        commit it (one fsync for the batch) and wake everyone in it."""
        with self._state:
            others = self._waiting
        if others and batch.size < MAX_BATCH:
            self._turn.release()
            return
        try:
            self._conn.commit()
        except BaseException as error:
            self._abort(error)
            return
        self._end(batch)

    def _abort(self, error: BaseException) -> None:
        """Roll the whole batch back (every caller in it gets `error`) and start the next
        batch on a fresh connection."""
        batch = self._batch
        if batch is not None:
            batch.error = error
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
                conn.close()
            except BaseException:
                conn.invalidate()
        self._end(batch)

    def _end(self, batch: _Batch | None) -> None:
        self._batch = None
        if batch is not None:
            batch.done.set()
        self._turn.release()

    def close(self) -> None:
        """Give the kept connection back (when the storage is closed)."""
        with self._turn:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
