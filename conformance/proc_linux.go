package conformance

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rustynet/rustynet/hostapi"
)

// procInspection reports whether this platform lets the suite see
// processes and file descriptors (/proc).
const procInspection = true

// processAlive reports whether pid runs; a zombie (exited, not yet reaped)
// counts as exited.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// descendants returns the pids of pid's children, their children, and so on.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

// openFDs returns the number of file descriptors this process has open.
func openFDs() (int, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	return len(fds), nil
}

// processSHA256 returns the hex SHA-256 of pid's executable, or "" if it
// cannot be read.
func processSHA256(pid int) string {
	sum, err := hostapi.FileSHA256(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	return sum
}
