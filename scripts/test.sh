#!/usr/bin/env bash
# The project's test command: every check CI runs, in order, failing fast.
# Run it from anywhere: scripts/test.sh
#
# Environment:
#   FUZZEXECS                    executions per fuzz target (default: the
#                                per-target budgets in fuzz_budget below)
#   RUSTYNET_CRASH_ITERATIONS    SIGKILL iterations per store crash test (default 200)
#   RUSTYNET_SOAK_DURATION       how long the soak and chaos test runs (default 2m)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
export RUSTYNET_CRASH_ITERATIONS=${RUSTYNET_CRASH_ITERATIONS:-200}

step() { printf '\n==> %s\n' "$*"; }

step "prerequisites"
scripts/install-prereqs.sh

step "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -print0 | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "cross-builds: linux/amd64 linux/arm64 darwin/arm64 windows/amd64"
for target in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
  echo "$target"
  # As the release builds (scripts/release.sh), so that it reuses this cache.
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -trimpath ./...
  GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

step "release build (snapshot mode: no network) and its reproducibility"
rel=$(mktemp -d)
scripts/release.sh --snapshot --out "$rel/a" | tail -n 5
(cd "$rel/a" && sha256sum --quiet -c SHA256SUMS)
TARGETS=linux/amd64 scripts/release.sh --snapshot --out "$rel/b" >/dev/null
if ! grep -qF "$(cat "$rel/b/SHA256SUMS")" "$rel/a/SHA256SUMS"; then
  echo "release: rebuilding linux/amd64 gave another archive:"; cat "$rel/a/SHA256SUMS" "$rel/b/SHA256SUMS"; exit 1
fi
tar -xzf "$rel"/a/rustynet_*_linux_amd64.tar.gz -C "$rel"
for f in packaging/systemd/rustynet.service packaging/launchd/net.rustynet.daemon.plist rustynet-store-file rustynet-backend-netstack; do
  ls "$rel"/rustynet_*_linux_amd64/$f >/dev/null
done
# The output is read whole first: grep -q stops at its match, and with
# pipefail the binary's SIGPIPE on its next line would fail the step.
version=$("$rel"/rustynet_*_linux_amd64/rustynet version)
grep -q '^rustynet v0.0.0-snapshot+' <<<"$version" || { echo "release: the binary is not stamped: $version"; exit 1; }
rm -rf "$rel"

step "staticcheck"
staticcheck ./...

step "release gate: go mod tidy leaves go.mod and go.sum unchanged"
if ! diff=$(go mod tidy -diff 2>&1); then
  echo "$diff"; echo "go.mod/go.sum are not tidy: run \`go mod tidy\` and commit the result"; exit 1
fi
echo "tidy"

step "release gate: dependency policy (licenses, module sources)"
scripts/dependency-policy.sh

step "release gate: govulncheck (fails on a vulnerability in called code; says so when it cannot run)"
scripts/vulncheck.sh

step "release gate: SECURITY.md"
grep -q "^## Reporting a vulnerability" SECURITY.md && grep -q "^## Patch targets" SECURITY.md
echo "SECURITY.md: how to report, patch targets"

step "tests (race detector on core/ and hostapi/; results in artifacts/test/ for the membership artifacts)"
rm -rf artifacts/test artifacts/drills artifacts/membership # nothing stale may pass for this run's evidence
mkdir -p artifacts/test
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
go build -o "$tools/evidence" ./scripts/evidence
# membership_artifacts writes artifacts/membership/ from this run's results
# (scripts/evidence); a failing run writes them too, saying fail.
membership_artifacts() {
  "$tools/evidence" membership -tests artifacts/test/core.jsonl,artifacts/test/other.jsonl \
    -drills artifacts/drills -runbooks docs/operations -out artifacts/membership
}
fail_with_artifacts() {
  echo "(the membership artifacts record the failure)"
  membership_artifacts || true
  exit 1
}
race_pkgs=$(go list ./core/... ./hostapi/...)
other_pkgs=$(go list ./... | grep -v -e '/core/' -e '/core$' -e '/hostapi/' -e '/hostapi$')
# `go test -json` keeps every result (and the expected and observed codes
# the threat tests log); evidence stream prints it for people as it goes.
go test -race -count=1 -json $race_pkgs | "$tools/evidence" stream artifacts/test/core.jsonl || fail_with_artifacts
# TestWgkernelInVM boots a VM for the conformance suite; conformance.sh
# below runs it (and keeps its report), so it runs once. The drills run
# below, with their evidence.
go test -count=1 -json -skip '^(TestWgkernelInVM|TestDrills)$' $other_pkgs |
  "$tools/evidence" stream artifacts/test/other.jsonl || fail_with_artifacts

step "soak and chaos test: a 3-node mesh under SIGKILLs, ${RUSTYNET_SOAK_DURATION:-2m} (report in artifacts/soak/)"
mkdir -p artifacts/soak
if ! RUSTYNET_SOAK_DURATION=${RUSTYNET_SOAK_DURATION:-2m} \
    RUSTYNET_SOAK_REPORT="$PWD/artifacts/soak/soak_chaos_report.json" \
    go test -count=1 -run '^TestSoakChaos$' -v -timeout 15m ./e2e >artifacts/soak/soak.log 2>&1; then
  cat artifacts/soak/soak.log; exit 1
fi
grep -E '"(updates|applies|lost_acknowledged)"|^(ok|---)' artifacts/soak/soak.log

step "a feed of 100,000 updates published and followed (the race detector above skips it: too slow under it)"
if ! out=$(go test -count=1 -run '^TestHundredThousandUpdates$' -v ./core/feed 2>&1); then
  echo "$out"; exit 1
fi
if ! grep -q -- '--- PASS: TestHundredThousandUpdates' <<<"$out"; then
  echo "$out"; echo "the 100,000-update feed test did not run"; exit 1
fi
grep -E '^(--- |ok)' <<<"$out"

step "benchmark report, quick smoke run: go run ./benchmarks/report -quick (tiny sizes; the full report is not part of CI)"
tmpdir=$(mktemp -d)
if ! go run ./benchmarks/report -quick -out "$tmpdir" 2>"$tmpdir/progress.log"; then
  cat "$tmpdir/progress.log"; exit 1
fi
for f in results.json report.md; do
  [[ -s $tmpdir/$f ]] || { cat "$tmpdir/progress.log"; echo "the report wrote no $f"; exit 1; }
done
compgen -G "$tmpdir/*.svg" >/dev/null || { cat "$tmpdir/progress.log"; echo "the report wrote no plot"; exit 1; }
if grep -q '"status": "failed' "$tmpdir/results.json"; then
  cat "$tmpdir/progress.log"; echo "a benchmark group failed in the quick report run"; exit 1
fi
echo "report: $(cd "$tmpdir" && echo results.json report.md *.svg)"
rm -rf "$tmpdir"

step "conformance suite against every built-in plugin (reports in artifacts/conformance/)"
scripts/conformance.sh

step "drills: every runbook of docs/operations on real local daemons (evidence in artifacts/drills/)"
scripts/drills/run.sh || fail_with_artifacts

step "membership artifacts from the results above (artifacts/membership/)"
membership_artifacts

# Fuzz budgets are execution counts, not durations. With a duration, Go 1.26's
# fuzz coordinator can fail a clean run with a bare "context deadline exceeded"
# when the deadline fires while a worker is mid-call (golang/go#75804, fixed in
# Go 1.27); a count never arms that deadline. Budgets are sized for 10-20 s per
# target on the 2-vCPU CI machine; -timeout still catches a hung target.
fuzz_budget() {
  if [ -n "${FUZZEXECS:-}" ]; then echo "$FUZZEXECS"; return; fi
  case $1 in
    FuzzReadRequest | FuzzParseDatagram | FuzzPeerColumns | FuzzRouteListJSON | FuzzAppendIndented) echo 100000 ;;  # ~5k execs/s
    FuzzDecodeFrame | FuzzPeerListJSON) echo 150000 ;;   # ~10k execs/s
    FuzzCompile) echo 25000 ;;                           # ~1.2k execs/s: compiles every node, served and not
    *) echo 300000 ;;                                    # 15k-35k execs/s
  esac
}

step "fuzzing (execution budgets per target)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    execs=$(fuzz_budget "$target")
    echo "fuzz $pkg $target (${execs} execs)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" -fuzzminimizetime 5s \
        -timeout 10m "$pkg" >artifacts/fuzz.log 2>&1; then
      cat artifacts/fuzz.log; exit 1
    fi
    grep -E '^(ok|PASS)' artifacts/fuzz.log | tail -1
  done
done

echo
echo "all checks passed"
