#!/usr/bin/env bash
# Runs drills: every runbook of docs/operations performed end to end on real
# local daemons (netstack on 127.0.0.1, no root), exactly as its command
# blocks say (e2e/drillrun_test.go). With names, runs those; without, all.
# Evidence: artifacts/drills/NAME.json (steps, commands, exit codes, heads
# before and after, timings, pass/fail) and the nodes' audit trails in
# artifacts/drills/NAME/audit/. Exits non-zero if a drill fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$PWD/artifacts/drills"
mkdir -p "$out"
if (($#)); then
  pattern=$(IFS='|'; echo "$*")
  for name in "$@"; do rm -rf "${out:?}/$name" "$out/$name.json"; done
else
  pattern='.*'
  rm -rf "${out:?}"/*
fi
log="$out/drills.log"
if ! RUSTYNET_DRILL_EVIDENCE="$out" go test -count=1 -timeout 20m -run "^TestDrills\$/^($pattern)\$" -v ./e2e >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
grep -E '_test.go:[0-9]+: (drill |n[0-9]+: dropped)|^(ok|---|PASS|FAIL)' "$log" || true
if ! grep -q -- '--- PASS: TestDrills' "$log"; then
  echo "drills: no drill ran (pattern ^($pattern)\$)" >&2
  exit 1
fi
