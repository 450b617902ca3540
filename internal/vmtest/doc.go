// Package vmtest boots a real Linux kernel with WireGuard under QEMU and runs
// one static program inside it, for tests that need a kernel feature the
// host lacks (the development and CI machines have no WireGuard module).
//
// A run, in order:
//
//  1. PrepareKernel finds Debian's current kernel package (the dependency
//     of linux-image-amd64), downloads it with apt-get, extracts it with
//     dpkg-deb and indexes its modules with depmod, all once: the result is
//     kept under CacheDir, guarded by a lock file so that concurrent test
//     processes share one download.
//  2. Run builds a fresh initramfs (newc cpio, gzip) holding a static
//     busybox with its applet links, the requested modules and everything
//     they depend on, the program, extra files, host programs (such as wg
//     or iproute2's ip) with the ELF interpreter and shared libraries they
//     need, found by reading their dynamic sections (debug/elf) and
//     searching as the host's loader does, and an /init script.
//  3. QEMU boots it (TCG; KVM is not assumed). /init mounts proc, sys and
//     dev, loads the modules, brings lo up, runs the program with its
//     output on the second serial port, prints begin and end markers with
//     the exit status on the kernel console, and powers off.
//
// The result separates the program's output (second serial port) from the
// console (firmware and kernel noise, markers).
//
// Package vmtesting, beside this one, adapts Run to Go tests: a test calls
// it and runs on the host as a VM launcher and inside the guest as itself.
package vmtest
