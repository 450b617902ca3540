#!/usr/bin/env bash
# The dependency policy, a release gate (SPEC §12; the seed's
# `cargo deny check licenses sources`). scripts/test.sh runs it; it needs no
# network once the module cache holds the build list.
#
# Licenses: every module compiled into a non-test package, on every release
# platform, is under an allowed license. go-licenses
# (github.com/google/go-licenses, pinned in install-prereqs.sh) finds and
# classifies each module's license file in the module cache. A module whose
# file it cannot classify is listed in `reviewed` below with the license a
# person read there and the file's SHA-256: a changed file fails the check
# until someone reads it again.
#
# Sources: go.mod replaces nothing; every module compiled in comes from an
# allowed origin; nothing is exempt from the checksum database (GOSUMDB on;
# GONOSUMDB, GONOSUMCHECK, GOPRIVATE and GOINSECURE empty; no -insecure);
# and `go mod verify` finds the module cache equal to go.sum.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

allowed_licenses=Apache-2.0,BSD-2-Clause,BSD-3-Clause,ISC,MIT,MPL-2.0
allowed_sources='^(filippo\.io/|github\.com/|golang\.org/x/|google\.golang\.org/|gvisor\.dev/|modernc\.org/|golang\.zx2c4\.com/|go\.uber\.org/)'
targets="linux/amd64 linux/arm64 darwin/arm64 windows/amd64"
self=$(go list -m)
# module, license file, license, SHA-256 of the file as reviewed
reviewed=(
  "modernc.org/mathutil LICENSE BSD-3-Clause bfa9bf72a72ca009fd62a8f84fca3dca67e51d93af96352723646599898b6cf5"
)

fail=0
bad() { echo "dependency policy: $*" >&2; fail=1; }

# --- sources
if replaced=$(go list -m -f '{{if .Replace}}{{.Path}} => {{.Replace.Path}} {{.Replace.Version}}{{end}}' all) && [[ -n $replaced ]]; then
  bad "go.mod replaces modules (not allowed):"$'\n'"$replaced"
fi
for v in GONOSUMDB GONOSUMCHECK GOPRIVATE GOINSECURE; do
  [[ -z $(go env "$v") ]] || bad "$v=$(go env "$v") exempts modules from the checksum database"
done
[[ $(go env GOSUMDB) != off ]] || bad "GOSUMDB=off: module checksums are not checked against the checksum database"
[[ $(go env GOFLAGS) != *-insecure* ]] || bad "GOFLAGS has -insecure"
modules=$(for t in $targets; do
  GOOS=${t%/*} GOARCH=${t#*/} go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}' ./...
done | sort -u)
while read -r m; do
  [[ -z $m || $m =~ $allowed_sources ]] || bad "module $m comes from a source not allowed ($allowed_sources)"
done <<<"$modules"
if ! out=$(go mod verify 2>&1); then
  bad "go mod verify: $out"
fi
echo "sources: $(wc -l <<<"$modules") modules compiled in for $targets, none replaced, all from allowed sources; $out"

# --- licenses
ignore=(--ignore "$self")
for r in "${reviewed[@]}"; do
  read -r mod file license sum <<<"$r"
  ignore+=(--ignore "$mod")
  dir=$(go list -m -f '{{.Dir}}' "$mod")
  got=$(sha256sum "$dir/$file" | cut -d' ' -f1)
  if [[ $got != "$sum" ]]; then
    bad "$mod: $file changed since it was reviewed as $license (sha256 $got, reviewed $sum): read it and update scripts/dependency-policy.sh"
  elif [[ ",$allowed_licenses," != *",$license,"* ]]; then
    bad "$mod: reviewed license $license is not allowed"
  fi
done
for t in $targets; do
  # go-licenses logs a warning for every assembly file; keep only verdicts.
  if ! out=$(GOOS=${t%/*} GOARCH=${t#*/} go-licenses check ./... "${ignore[@]}" --allowed_licenses="$allowed_licenses" 2>&1); then
    bad "licenses on $t:"$'\n'"$(grep -v -e '^W' -e '\.s$' <<<"$out")"
  fi
done
echo "licenses: every module compiled in for $targets is under $allowed_licenses (go-licenses; reviewed by hand: ${#reviewed[@]})"
exit $fail
