#!/usr/bin/env bash
# Drill: performs docs/operations/restricted-mode.md end to end on local daemons and
# writes artifacts/drills/restricted-mode.json (see run.sh).
exec "$(dirname "$0")/run.sh" restricted-mode
