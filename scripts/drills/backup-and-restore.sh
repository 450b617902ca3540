#!/usr/bin/env bash
# Drill: performs docs/operations/backup-and-restore.md end to end on local daemons and
# writes artifacts/drills/backup-and-restore.json (see run.sh).
exec "$(dirname "$0")/run.sh" backup-and-restore
