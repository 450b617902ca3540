#!/usr/bin/env bash
# Drill: performs docs/operations/upgrading-a-node.md end to end on local daemons and
# writes artifacts/drills/upgrading-a-node.json (see run.sh).
exec "$(dirname "$0")/run.sh" upgrading-a-node
