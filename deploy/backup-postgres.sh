#!/bin/sh
# One pg_dump of the study database into $BACKUP_DIR (custom format: pg_restore reads it),
# named by the UTC time; dumps older than $BACKUP_KEEP_DAYS days are removed. The dump is
# written under a .part name and renamed when complete, so a file named *.dump is whole.
# Reads STUDY_DB (the postgresql+psycopg:// URL the replicas use) and BACKUP_DIR.
set -eu
: "${STUDY_DB:?STUDY_DB is not set}" "${BACKUP_DIR:?BACKUP_DIR is not set}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
url=$(printf '%s' "$STUDY_DB" | sed 's/^postgresql+[a-z0-9]*:/postgresql:/')
dump="$BACKUP_DIR/study-$(date -u +%Y%m%dT%H%M%SZ).dump"
mkdir -p "$BACKUP_DIR"
pg_dump --format=custom --file="$dump.part" "$url"
mv "$dump.part" "$dump"
find "$BACKUP_DIR" -name 'study-*.dump' -mtime +"$keep_days" -delete
echo "$dump"
