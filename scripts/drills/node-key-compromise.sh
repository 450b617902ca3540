#!/usr/bin/env bash
# Drill: performs docs/operations/node-key-compromise.md end to end on local daemons and
# writes artifacts/drills/node-key-compromise.json (see run.sh).
exec "$(dirname "$0")/run.sh" node-key-compromise
