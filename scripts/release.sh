#!/usr/bin/env bash
# Builds a Rustynet release: `rustynet` and the standalone plugins for
# linux/amd64, linux/arm64, darwin/arm64 and windows/amd64, each target as
# one archive (tar.gz; zip for Windows) holding the binaries, the service
# files under packaging/ and the README, plus SHA256SUMS over the archives.
#
#   scripts/release.sh [--snapshot] [--out DIR]
#
# Reproducible: the same commit and Go toolchain give byte-identical
# binaries and archives (CGO_ENABLED=0, -trimpath, no build id, no VCS
# stamping from the work tree; version, revision and date are stamped with
# -ldflags from git, the date being the commit's; archive entries are
# sorted, owned by 0:0 and dated at the commit).
#
# Environment:
#   VERSION   the version to stamp (default: `git describe --tags --dirty`,
#             v0.0.0-snapshot+<revision> in snapshot mode)
#   TARGETS   the GOOS/GOARCH pairs to build, space-separated (default: all four)
#
# --snapshot builds from the module cache alone (GOPROXY=off,
# -mod=readonly): no network, as in CI, which runs it from scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
snapshot=false
while (($#)); do
  case $1 in
    --snapshot) snapshot=true ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

read -r -a targets <<<"${TARGETS:-linux/amd64 linux/arm64 darwin/arm64 windows/amd64}"
plugins=(store-file store-sqlite backend-netstack backend-wgtun backend-wgkernel)
pkg=github.com/rustynet/rustynet/internal/version

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$epoch}
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if $snapshot; then
  version=${VERSION:-v0.0.0-snapshot+${revision:0:12}}
  export GOPROXY=off GOFLAGS=-mod=readonly
else
  version=${VERSION:-$(git describe --tags --dirty 2>/dev/null || echo "v0.0.0-${revision:0:12}")}
fi
ldflags="-s -w -buildid= -X $pkg.stampedVersion=$version -X $pkg.stampedRevision=$revision -X $pkg.stampedDate=$date"

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "release $version (revision $revision, $date) into $out"
for target in "${targets[@]}"; do
  goos=${target%/*} goarch=${target#*/}
  name=rustynet_${version}_${goos}_${goarch}
  dir=$work/$name
  mkdir -p "$dir/packaging"
  ext=""
  [[ $goos == windows ]] && ext=.exe
  build() { # output package
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$1" "$2"
  }
  build "$dir/rustynet$ext" ./cmd/rustynet
  for p in "${plugins[@]}"; do
    build "$dir/rustynet-$p$ext" "./plugins/$p/cmd/rustynet-$p"
  done
  cp -R packaging/. "$dir/packaging/"
  cp README.md "$dir/"
  # Every entry dated at the commit, for archives that do not depend on
  # when or where they were made.
  find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  if [[ $goos == windows ]]; then
    (cd "$work" && find "$name" -print | LC_ALL=C sort | TZ=UTC zip -q -X -D -@ "$out/$name.zip")
  else
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
      -C "$work" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
  fi
  echo "  $target: $(ls "$dir" | tr '\n' ' ')"
done
(cd "$out" && sha256sum -- rustynet_* >SHA256SUMS)
cat "$out/SHA256SUMS"
