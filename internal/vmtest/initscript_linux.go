package vmtest

import (
	"fmt"
	"strings"
)

// Markers /init prints on the kernel console (through /dev/kmsg, which
// prints synchronously, so a marker is out before the power goes off).
const (
	beginMarker = "@@RUSTYNET-VM-BEGIN@@"
	endMarker   = "@@RUSTYNET-VM-END status="   // followed by the status and "@@"
	failMarker  = "@@RUSTYNET-VM-SETUP-FAILED " // followed by the reason and "@@"
	markerClose = "@@"
)

// programTTY is the guest's second serial port, which carries only the
// program's output.
const programTTY = "/dev/ttyS1"

// initScript returns the guest's /init: mount the pseudo file systems,
// load the modules (in order), bring lo up, run program with args and env
// with its output on programTTY, report its exit status, power off.
func initScript(modules []string, program string, args, env []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
export PATH=/bin
fail() {
	echo "<2>%s$*%s" > /dev/kmsg
	poweroff -f
}
mount -t proc proc /proc || fail mount /proc
mount -t sysfs sysfs /sys || fail mount /sys
mount -t devtmpfs devtmpfs /dev || fail mount /dev
`, failMarker, markerClose)
	for _, m := range modules {
		fmt.Fprintf(&b, "insmod %s || fail insmod %s\n", shellQuote(m), shellQuote(m))
	}
	fmt.Fprintf(&b, `ip link set lo up || fail ip link set lo up
stty -F %[1]s raw -echo || fail stty %[1]s
echo "<2>%[2]s" > /dev/kmsg
cd /
`, programTTY, beginMarker)

	b.WriteString("env -i PATH=/bin HOME=/root TMPDIR=/tmp")
	for _, kv := range env {
		b.WriteString(" " + shellQuote(kv))
	}
	b.WriteString(" " + shellQuote(program))
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	fmt.Fprintf(&b, ` </dev/null >%[1]s 2>&1
status=$?
# Stop whatever the program left running, then wait until the serial port
# has sent everything (stty sets its mode with TCSADRAIN).
kill -9 -1 2>/dev/null
stty -F %[1]s raw -echo
echo "<2>%[2]s$status%[3]s" > /dev/kmsg
poweroff -f
`, programTTY, endMarker, markerClose)
	return b.String()
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
