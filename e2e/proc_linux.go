package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr returns a daemon's process attributes: it is killed if the
// test process dies, and runs as cfg.RunAs and in a network namespace of
// its own if cfg asks.
func sysProcAttr(cfg NodeConfig) (*syscall.SysProcAttr, error) {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.RunAs != nil {
		a.Credential = &syscall.Credential{Uid: cfg.RunAs.UID, Gid: cfg.RunAs.GID, NoSetGroups: true}
	}
	if cfg.PrivateNetwork {
		a.Cloneflags = syscall.CLONE_NEWNET
	}
	return a, nil
}

// children returns the process ids of pid's children, from every thread's
// /proc/PID/task/TID/children.
func children(pid int) ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("process %d has no /proc/%d/task/*/children (gone, or a kernel without CONFIG_PROC_CHILDREN)", pid, pid)
	}
	var out []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, field := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// cmdline returns a process's arguments.
func cmdline(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("no command line (a zombie)")
	}
	return strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00"), nil
}

// alive reports whether pid is a process that has not exited (a zombie
// has exited).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain them.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	state := data[i+2]
	return state != 'Z' && state != 'X'
}

// killPID sends SIGKILL to pid.
func killPID(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
