#!/bin/sh
# Installs what internal/vmtest needs to boot a Linux kernel with WireGuard
# under QEMU (Debian/Ubuntu, as root). The kernel itself is fetched by the
# tests with apt-get download and cached (see internal/vmtest).
set -eu
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	qemu-system-x86 busybox-static cpio kmod iproute2 wireguard-tools
