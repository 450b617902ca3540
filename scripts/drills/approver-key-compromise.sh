#!/usr/bin/env bash
# Drill: performs docs/operations/approver-key-compromise.md end to end on local daemons and
# writes artifacts/drills/approver-key-compromise.json (see run.sh).
exec "$(dirname "$0")/run.sh" approver-key-compromise
