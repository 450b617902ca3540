#!/usr/bin/env bash
# Runs the plugin conformance suite (SPEC §9) against every built-in plugin,
# as the daemon launches them (`rustynet plugin NAME`) and as the standalone
# plugin binaries, plus the example plugin under examples/. Writes one JSON
# report per run to artifacts/conformance/<name>.json and exits non-zero if
# any run has a MUST failure or cannot launch its plugin.
#
# Backends with an OS interface (wgtun) run in network namespaces, which
# needs root; without it those runs are skipped and say so. wgkernel needs
# kernel WireGuard, which this host lacks: its run happens inside a VM
# (internal/vmtest), through the conformance package's TestWgkernelInVM.
#
# Environment:
#   CONFORMANCE_OUT   report directory (default artifacts/conformance)
#   CONFORMANCE_RUN   passed to --run to select cases (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${CONFORMANCE_OUT:-artifacts/conformance}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

echo "conformance: building the rustynet binary and the plugins"
go build -o "$bin/" \
  ./cmd/rustynet \
  ./plugins/store-file/cmd/rustynet-store-file \
  ./plugins/store-sqlite/cmd/rustynet-store-sqlite \
  ./plugins/backend-netstack/cmd/rustynet-backend-netstack \
  ./plugins/backend-wgtun/cmd/rustynet-backend-wgtun \
  ./examples/store-files/cmd/rustynet-store-files

# The suite's command line, `rustynet conformance` (conformance.Main; the
# standalone rustynet-conformance is the same function, and
# TestWgkernelInVM runs it).
suite=("$bin/rustynet" conformance)
echo "conformance: running ${suite[*]}"

root=false
if [[ $(id -u) -eq 0 ]]; then
  root=true
fi

failed=()
# run NAME FLAGS...: one suite run, its report in $out/NAME.json.
run() {
  local name=$1
  shift
  local extra=()
  [[ -n ${CONFORMANCE_RUN:-} ]] && extra=(--run "$CONFORMANCE_RUN")
  echo
  echo "==> $name"
  local status=0
  "${suite[@]}" "$@" "${extra[@]}" --format json --out "$out/$name.json" || status=$?
  case $status in
    0) ;;
    1) failed+=("$name (MUST failure)") ;;
    *) failed+=("$name (cannot launch, status $status)") ;;
  esac
}

run store-file --plugin "$bin/rustynet" --args "plugin store-file" --kind store
run store-sqlite --plugin "$bin/rustynet" --args "plugin store-sqlite" --kind store
run backend-netstack --plugin "$bin/rustynet" --args "plugin backend-netstack" --kind backend \
  --reference "$bin/rustynet-backend-netstack"
run rustynet-store-file --plugin "$bin/rustynet-store-file" --kind store
run rustynet-store-sqlite --plugin "$bin/rustynet-store-sqlite" --kind store
run rustynet-backend-netstack --plugin "$bin/rustynet-backend-netstack" --kind backend \
  --reference "$bin/rustynet" --reference-args "plugin backend-netstack"
run example-store-files --plugin "$bin/rustynet-store-files" --kind store

if $root; then
  run backend-wgtun --plugin "$bin/rustynet" --args "plugin backend-wgtun" --kind backend --netns \
    --reference "$bin/rustynet-backend-netstack"
  run rustynet-backend-wgtun --plugin "$bin/rustynet-backend-wgtun" --kind backend --netns \
    --reference "$bin/rustynet" --reference-args "plugin backend-netstack"
else
  echo
  echo "==> backend-wgtun: skipped: network namespaces need root"
fi

# The conformance command line, built statically, runs inside a VM whose
# kernel has WireGuard; the test writes the guest's report beside the others.
echo
echo "==> backend-wgkernel (in a VM)"
vmlog="$bin/wgkernel-vm.log"
if CONFORMANCE_OUT="$PWD/$out" go test -count=1 -v -run '^TestWgkernelInVM$' ./conformance >"$vmlog" 2>&1; then
  if grep -q -- '--- SKIP: TestWgkernelInVM' "$vmlog"; then
    echo "backend-wgkernel: skipped: $(grep -A1 -- '--- SKIP' "$vmlog" | tail -n1 | sed 's/^ *//')"
  else
    grep -E '^ +/bin/rustynet-backend-wgkernel: ' "$vmlog" | sed 's/^ *//' || true
  fi
else
  cat "$vmlog"
  failed+=("backend-wgkernel (in a VM)")
fi

echo
if ((${#failed[@]})); then
  echo "conformance: FAILED: ${failed[*]}"
  echo "conformance: reports in $out/"
  exit 1
fi
echo "conformance: every plugin passes every MUST case; reports in $out/"
