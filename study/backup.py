"""`study backup`: a consistent copy of the study tables, taken while participants answer.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies the whole file in one
  step, i.e. one read transaction: under WAL, writers carry on and the copy is the database
  as of one moment. The copy is a plain SQLite file (journal mode DELETE), usable at once as
  `--storage sqlite:///copy.db` for `study export`.
- PostgreSQL: `pg_dump --format=custom` of the two study tables (all studies in them), which
  reads one snapshot. Restore with `pg_restore --dbname URL FILE`. The password goes to
  pg_dump through PGPASSWORD, never on its command line.

Either way the file appears only when complete (written under a temporary name, then
renamed), and a database that does not exist is never created.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from sketchlab.errors import BadInput
from sketchlab.files import atomic_path
from study.storage import Storage, participants_table, responses_table
from study.storage_backends import masked_url

PG_DUMP_TIMEOUT_S = 3600


def backup(url: str, study_id: str, out: str | Path) -> Path:
    """Back up the study database at `url` into `out`; returns `out`."""
    out = Path(out)
    Storage(url, study_id, create=False).close()  # exists, reachable, has the study tables
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = Path(parsed.database).resolve()
        if out.resolve() == source:
            raise BadInput(f"--out {out} is the database itself; choose another file")
        return _sqlite_backup(source, out)
    return _pg_dump(url, out)


def _sqlite_backup(source: Path, out: Path) -> Path:
    with atomic_path(out) as tmp:
        src = sqlite3.connect(source, timeout=60)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # pages=-1: all at once, so one consistent snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
    return out


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as PostgreSQL's own tools take it: `postgresql://`, no password
    (pass that as PGPASSWORD: a command line is visible to every user of the machine)."""
    parsed = make_url(url)
    return URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string(hide_password=False)


def _pg_dump(url: str, out: Path) -> Path:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BadInput(
            "pg_dump is not installed; it comes with PostgreSQL's client tools "
            "(apt-get install postgresql-client)"
        )
    parsed = make_url(url)
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    with atomic_path(out) as tmp:
        command = [
            pg_dump,
            "--format=custom",
            "--no-owner",
            f"--table={participants_table.name}",
            f"--table={responses_table.name}",
            f"--file={tmp}",
            f"--dbname={libpq_url(url)}",
        ]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S
        )
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["failed"])[0]
            raise BadInput(f"pg_dump of {masked_url(url)} failed: {first}")
    return out
