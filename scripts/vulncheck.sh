#!/usr/bin/env bash
# The vulnerability gate (SPEC §12): govulncheck, in source mode, for every
# release platform. It fails when govulncheck finds a vulnerability in code
# that rustynet calls (exit 3), or cannot load the code; it passes when
# govulncheck finds none. When the vulnerability database
# (https://vuln.go.dev) cannot be reached it says so plainly, NOT CHECKED,
# and passes — unless RUSTYNET_REQUIRE_VULNCHECK=1 (a release build), which
# fails instead. Reports go to artifacts/release/govulncheck-GOOS-GOARCH.txt.
#
# Environment: GOVULNCHECK (default govulncheck), RUSTYNET_REQUIRE_VULNCHECK,
# VULNCHECK_TIMEOUT (seconds per platform, default 300), VULNCHECK_REPORTS
# (default artifacts/release).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
govulncheck=${GOVULNCHECK:-govulncheck}
targets="linux/amd64 darwin/arm64 windows/amd64"
reports=${VULNCHECK_REPORTS:-artifacts/release}
mkdir -p "$reports"

unchecked=()
for t in $targets; do
  if ((${#unchecked[@]})); then
    unchecked+=("$t") # the database was unreachable a moment ago: do not wait for it again
    continue
  fi
  report=$reports/govulncheck-${t%/*}-${t#*/}.txt
  set +e
  GOOS=${t%/*} GOARCH=${t#*/} timeout "${VULNCHECK_TIMEOUT:-300}" "$govulncheck" ./... >"$report" 2>&1
  rc=$?
  set -e
  case $rc in
  0)
    echo "govulncheck $t: no vulnerability in called code ($(grep -c . "$report") lines in $report)"
    ;;
  3)
    cat "$report"
    echo "govulncheck $t: FAILED — rustynet calls vulnerable code (above; $report). Upgrade the module or show the call unreachable." >&2
    exit 1
    ;;
  *)
    if grep -q -e "fetching vulnerabilities" -e "vuln.go.dev" "$report" || [[ $rc == 124 ]]; then
      why=$(grep -m1 -e "fetching vulnerabilities" "$report" || echo "timed out after ${VULNCHECK_TIMEOUT:-300}s")
      echo "govulncheck $t: NOT CHECKED — the vulnerability database could not be reached from this machine: $why"
      unchecked+=("$t")
    else
      cat "$report"
      echo "govulncheck $t: FAILED — govulncheck could not analyse the code (exit $rc; $report)" >&2
      exit 1
    fi
    ;;
  esac
done
if ((${#unchecked[@]})); then
  if [[ ${RUSTYNET_REQUIRE_VULNCHECK:-} == 1 ]]; then
    echo "govulncheck: RUSTYNET_REQUIRE_VULNCHECK=1 and ${unchecked[*]} could not be checked: failing" >&2
    exit 1
  fi
  echo "govulncheck: NOT CHECKED for ${unchecked[*]} (no database); this run makes no claim about known vulnerabilities"
fi
