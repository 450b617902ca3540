#!/usr/bin/env bash
# Drill: performs docs/operations/lost-approver-keys.md end to end on local daemons and
# writes artifacts/drills/lost-approver-keys.json (see run.sh).
exec "$(dirname "$0")/run.sh" lost-approver-keys
