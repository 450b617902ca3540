#!/usr/bin/env bash
# Drill: performs docs/operations/emergency-revocation.md end to end on local daemons and
# writes artifacts/drills/emergency-revocation.json (see run.sh).
exec "$(dirname "$0")/run.sh" emergency-revocation
