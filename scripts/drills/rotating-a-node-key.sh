#!/usr/bin/env bash
# Drill: performs docs/operations/rotating-a-node-key.md end to end on local daemons and
# writes artifacts/drills/rotating-a-node-key.json (see run.sh).
exec "$(dirname "$0")/run.sh" rotating-a-node-key
