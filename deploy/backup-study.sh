#!/bin/sh
# One `sketchlab study backup` of the study database into $BACKUP_DIR, named by the UTC time:
# study-<time>.dump (a pg_dump archive: pg_restore reads it) for PostgreSQL, study-<time>.db
# (a SQLite file) for SQLite. `study backup` writes under a temporary name and renames when
# complete, and gives pg_dump the password through its environment, never its command line.
# Backups older than $BACKUP_KEEP_DAYS days (default 14) are removed. Reads STUDY_YAML,
# STUDY_DB and BACKUP_DIR (deploy/study.env.example); `sketchlab` must be on the PATH.
set -eu
: "${STUDY_YAML:?STUDY_YAML is not set}" "${STUDY_DB:?STUDY_DB is not set}"
: "${BACKUP_DIR:?BACKUP_DIR is not set}"
case "$STUDY_DB" in
  sqlite*) suffix=db ;;
  *) suffix=dump ;;
esac
mkdir -p "$BACKUP_DIR"
sketchlab study backup "$STUDY_YAML" --storage "$STUDY_DB" \
  --out "$BACKUP_DIR/study-$(date -u +%Y%m%dT%H%M%SZ).$suffix"
find "$BACKUP_DIR" -name "study-*.$suffix" -mtime +"${BACKUP_KEEP_DAYS:-14}" -delete
