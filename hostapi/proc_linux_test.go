package hostapi_test

import (
	"bytes"
	"fmt"
	"os"
)

// processAlive reports whether pid runs; a zombie (exited, not yet reaped
// by whichever process adopted it) counts as exited.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}
