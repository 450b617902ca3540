#!/usr/bin/env bash
# Drill: performs docs/operations/fork-equivocation.md end to end on local daemons and
# writes artifacts/drills/fork-equivocation.json (see run.sh).
exec "$(dirname "$0")/run.sh" fork-equivocation
