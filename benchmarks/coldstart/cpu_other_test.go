//go:build !unix

package coldstart

import (
	"testing"
	"time"
)

// cpuMeasured says whether cpuTime measures anything here: not on this
// platform, so the cpu-ms metric is left out.
const cpuMeasured = false

// cpuTime is 0: this platform has no getrusage.
func cpuTime(*testing.B) time.Duration { return 0 }
