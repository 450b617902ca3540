package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one VM run.
type Config struct {
	// Program is the host path of a statically linked x86-64 executable,
	// run as root inside the guest.
	Program string
	Args    []string
	// Env is the program's environment as KEY=VALUE, added to PATH, HOME
	// and TMPDIR (=/tmp).
	Env []string
	// Files are copied into the guest beside the program.
	Files []File
	// HostPrograms are host executables copied into the guest with what
	// they need to run there: for a dynamically linked one, its ELF
	// interpreter (at the path the program names, PT_INTERP) and every
	// shared library it needs, directly or not (DT_NEEDED, found as the
	// host's loader would: run paths, /etc/ld.so.conf, the default
	// directories), each at its host path. The guest's LD_LIBRARY_PATH
	// lists the libraries' directories. A program at /bin/NAME replaces
	// busybox's applet NAME; see HostTool.
	HostPrograms []File
	// Modules are kernel modules to load, by name; their dependencies are
	// loaded too. Nil means {"wireguard"}.
	Modules []string
	// Memory is the guest's RAM in QEMU's syntax; empty means "512M".
	Memory string
	// CacheDir keeps kernels between runs; empty means CacheDir().
	CacheDir string
	// Logger receives progress messages (downloads); nil discards them.
	Logger *slog.Logger
}

// File is a host file copied into the guest.
type File struct {
	Path   string      // absolute path in the guest
	Source string      // host path
	Mode   fs.FileMode // permission bits; 0 means 0755
}

// Result is what a run produced.
type Result struct {
	// ExitCode is the program's exit status as the guest's shell saw it
	// (126/127: it could not be executed).
	ExitCode int
	// Output is everything the program wrote to stdout and stderr, and
	// nothing else.
	Output []byte
	// Console is the serial console: firmware, kernel messages, markers.
	Console []byte
	// Boot is the host's wall time from starting QEMU to the program's
	// start; GuestBoot is the guest kernel's uptime at that moment.
	Boot      time.Duration
	GuestBoot time.Duration
	// Run is the host's wall time from the program's start to its end.
	Run time.Duration
}

// DefaultModules are the kernel modules loaded when Config.Modules is nil.
var DefaultModules = []string{"wireguard"}

// NetworkModules are the kernel modules a guest needs to run Rustynet's
// kernel data plane as the wgkernel backend drives it: WireGuard, veth
// pairs between namespaces, and nftables with the expressions of
// hostroute's table (conntrack, NAT and masquerade come in as their
// dependencies). crc32c_generic comes first: nf_tables needs libcrc32c,
// which needs a crc32c algorithm through a soft dependency modules.dep does
// not list. Callers append what else they need.
var NetworkModules = []string{"wireguard", "veth", "crc32c_generic", "nf_tables", "nft_ct", "nft_chain_nat", "nft_masq"}

// qemuBinary is the emulator of the guest's architecture.
const qemuBinary = "qemu-system-x86_64"

// Run boots a VM that runs cfg.Program and returns its exit code and
// output. It returns an error if the VM could not be prepared or booted,
// the guest failed before starting the program, or ctx ended first (QEMU
// is killed then); a program that exits non-zero is not an error. QEMU
// never outlives Run, and it is killed if this process dies.
func Run(ctx context.Context, cfg Config) (Result, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkStatic(cfg.Program); err != nil {
		return Result{}, err
	}
	for _, kv := range cfg.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return Result{}, fmt.Errorf("vmtest: environment entry %q is not KEY=VALUE", kv)
		}
	}
	files, env := cfg.Files, cfg.Env
	if len(cfg.HostPrograms) > 0 {
		search, err := hostLibSearch()
		if err != nil {
			return Result{}, err
		}
		extra, libDirs, err := hostProgramFiles(cfg.HostPrograms, search)
		if err != nil {
			return Result{}, err
		}
		files = append(slices.Clip(files), extra...)
		if len(libDirs) > 0 {
			env = append(slices.Clip(env), libraryPathEnv+"="+strings.Join(libDirs, ":"))
		}
	}
	cacheDir := cfg.CacheDir
	if cacheDir == "" {
		var err error
		if cacheDir, err = CacheDir(); err != nil {
			return Result{}, err
		}
	}
	kernel, err := PrepareKernel(ctx, cacheDir, logger)
	if err != nil {
		return Result{}, err
	}
	busybox, err := findBusybox()
	if err != nil {
		return Result{}, err
	}
	applets, err := busyboxApplets(ctx, busybox)
	if err != nil {
		return Result{}, err
	}
	names := cfg.Modules
	if names == nil {
		names = DefaultModules
	}
	modules, err := guestModules(ctx, kernel, names)
	if err != nil {
		return Result{}, err
	}

	work, err := os.MkdirTemp("", "rustynet-vm-")
	if err != nil {
		return Result{}, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initrd.gz")
	f, err := os.Create(initrd)
	if err != nil {
		return Result{}, fmt.Errorf("vmtest: %w", err)
	}
	fsys := &initramfs{
		busybox: busybox, applets: applets, modules: modules,
		program: cfg.Program, args: cfg.Args, env: env, files: files,
	}
	if err := errors.Join(fsys.write(f), f.Close()); err != nil {
		return Result{}, fmt.Errorf("vmtest: writing the initramfs: %w", err)
	}

	memory := cfg.Memory
	if memory == "" {
		memory = "512M"
	}
	outputPath := filepath.Join(work, "output")
	return boot(ctx, kernel.Image, initrd, memory, outputPath)
}

// boot runs QEMU and collects the result.
func boot(ctx context.Context, image, initrd, memory, outputPath string) (Result, error) {
	cmd := exec.CommandContext(ctx, qemuBinary,
		"-accel", "tcg", "-cpu", "max", "-m", memory, "-smp", "1",
		"-nographic", "-monitor", "none", "-no-reboot", "-nic", "none",
		"-serial", "stdio", // ttyS0: the console
		"-serial", "file:"+outputPath, // ttyS1: the program's output
		"-kernel", image, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1 oops=panic",
	)
	// QEMU dies with this process. Pdeathsig fires when the thread that
	// started QEMU exits, so that thread stays locked to this goroutine
	// (and alive) until QEMU is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, fmt.Errorf("vmtest: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("vmtest: starting %s: %w", qemuBinary, err)
	}

	var (
		console bytes.Buffer
		mu      sync.Mutex
		begun   time.Time
		ended   time.Time
	)
	copied := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadBytes('\n')
			now := time.Now()
			mu.Lock()
			console.Write(line)
			if bytes.Contains(line, []byte(beginMarker)) {
				begun = now
			}
			if bytes.Contains(line, []byte(endMarker)) {
				ended = now
			}
			mu.Unlock()
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				copied <- err
				return
			}
		}
	}()
	readErr := <-copied
	waitErr := cmd.Wait()

	mu.Lock()
	defer mu.Unlock()
	res := Result{Console: console.Bytes()}
	if !begun.IsZero() {
		res.Boot = begun.Sub(start)
		if !ended.IsZero() {
			res.Run = ended.Sub(begun)
		}
	}
	res.GuestBoot = markerUptime(res.Console)
	res.Output, _ = os.ReadFile(outputPath)

	if ctx.Err() != nil {
		return res, fmt.Errorf("vmtest: VM stopped: %w; console ends:\n%s", ctx.Err(), tail(res.Console))
	}
	if readErr != nil {
		return res, fmt.Errorf("vmtest: reading the console: %w", readErr)
	}
	if reason, ok := between(res.Console, failMarker, markerClose); ok {
		return res, fmt.Errorf("vmtest: guest setup failed: %s; console ends:\n%s", reason, tail(res.Console))
	}
	status, ok := between(res.Console, endMarker, markerClose)
	if !ok {
		return res, fmt.Errorf("vmtest: the guest ended without an exit status (%v: %s); console ends:\n%s",
			waitErr, strings.TrimSpace(stderr.String()), tail(res.Console))
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		return res, fmt.Errorf("vmtest: bad exit status %q", status)
	}
	res.ExitCode = code
	return res, nil
}

// between returns the text after the last occurrence of open, up to close.
func between(b []byte, open, close string) (string, bool) {
	i := bytes.LastIndex(b, []byte(open))
	if i < 0 {
		return "", false
	}
	rest := b[i+len(open):]
	j := bytes.Index(rest, []byte(close))
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// uptimeRE matches the kernel's timestamp before the begin marker.
var uptimeRE = regexp.MustCompile(`\[\s*(\d+\.\d+)\]\s*` + regexp.QuoteMeta(beginMarker))

// markerUptime returns the guest's uptime when it printed the begin
// marker, or zero if the console does not show it.
func markerUptime(console []byte) time.Duration {
	m := uptimeRE.FindSubmatch(console)
	if m == nil {
		return 0
	}
	secs, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// tail returns the last lines of a console log for an error message.
func tail(b []byte) string {
	const max = 3000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
