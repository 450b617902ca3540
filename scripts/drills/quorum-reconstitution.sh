#!/usr/bin/env bash
# Drill: performs docs/operations/quorum-reconstitution.md end to end on local daemons and
# writes artifacts/drills/quorum-reconstitution.json (see run.sh).
exec "$(dirname "$0")/run.sh" quorum-reconstitution
