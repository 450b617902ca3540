#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Go:
# system packages for the namespace, TUN and VM tests, and pinned Go tools.
# Idempotent and quick when everything is already there.
set -euo pipefail

apt_packages=(
  iproute2          # ip netns, veth: wgtun tests in network namespaces
  wireguard-tools   # wg: interop with standard WireGuard peers
  nftables          # nft: the gateway tests read back the tables a backend installs
  qemu-system-x86   # the VM that runs kernel WireGuard tests
  busybox-static    # the VM's userland
  cpio kmod         # initramfs and module dependency resolution
  xz-utils zstd     # Debian ships kernel modules compressed
  protobuf-compiler # regenerating hostapi's gRPC code (checked in CI)
  systemd           # systemd-analyze verify: the service unit (internal/service)
  util-linux        # unshare, nsenter: the daemon run as its systemd unit runs it
  zip               # release archives for Windows (scripts/release.sh)
  zsh fish          # the completion scripts' syntax and behaviour (cmd/rustynet)
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-prereqs: not root; cannot install: ${missing[*]} (tests that need them will say so)" >&2
  else
    echo "install-prereqs: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

gobin=$(go env GOPATH)/bin
install_tool() { # name module@version
  local name=$1 pkg=$2 want=${2##*@}
  if [[ -x $gobin/$name ]] && go version -m "$gobin/$name" 2>/dev/null | grep -q "$want"; then
    return
  fi
  echo "install-prereqs: go install $pkg"
  GOFLAGS= go install "$pkg"
}
install_tool staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
install_tool govulncheck golang.org/x/vuln/cmd/govulncheck@v1.8.0
install_tool go-licenses github.com/google/go-licenses@v1.6.0 # scripts/dependency-policy.sh
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
