package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Where things live inside the guest.
const (
	guestProgram    = "/rustynet/program"
	guestModulesDir = "/lib/modules"
	guestBusybox    = "/bin/busybox"
)

// initramfs is what goes into one run's initramfs.
type initramfs struct {
	busybox string        // host path of a static busybox
	applets []string      // busybox applet names, linked in /bin
	modules []guestModule // in load order
	program string        // host path of the static program
	args    []string      // the program's arguments
	env     []string      // the program's environment, KEY=VALUE
	files   []File        // extra files
}

// guestModule is one kernel module file, decompressed.
type guestModule struct {
	name string // file name in guestModulesDir
	data []byte
}

// write writes the initramfs to w as a gzip-compressed newc cpio archive.
func (fsys *initramfs) write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	a := &archive{cpio: cpioWriter{w: zw}, dirs: map[string]bool{"/": true}}
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/etc"} {
		a.mkdirAll(d)
	}
	a.symlink("/var/run", "../run")
	// The kernel opens /dev/console for init before anything is mounted.
	a.cpio.charDev("/dev/console", 0o600, 5, 1)
	a.file("/etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n"))

	// Each guest path holds one thing; a file given for /bin/NAME takes
	// the place of busybox's applet NAME.
	taken := map[string]bool{guestBusybox: true, guestProgram: true, "/init": true, "/etc/hosts": true}
	for _, f := range fsys.files {
		if taken[f.Path] {
			return fmt.Errorf("vmtest: guest path %s is given twice or is reserved", f.Path)
		}
		taken[f.Path] = true
	}
	if err := a.hostFile(guestBusybox, fsys.busybox, 0o755); err != nil {
		return err
	}
	for _, applet := range fsys.applets {
		if p := path.Join("/bin", applet); applet != "busybox" && !taken[p] {
			a.symlink(p, "busybox")
		}
	}
	var modulePaths []string
	for _, m := range fsys.modules {
		p := path.Join(guestModulesDir, m.name)
		a.file(p, 0o644, m.data)
		modulePaths = append(modulePaths, p)
	}
	if err := a.hostFile(guestProgram, fsys.program, 0o755); err != nil {
		return err
	}
	for _, f := range fsys.files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o755
		}
		if err := a.hostFile(f.Path, f.Source, mode); err != nil {
			return err
		}
	}
	a.file("/init", 0o755, []byte(initScript(modulePaths, guestProgram, fsys.args, fsys.env)))
	if err := a.cpio.close(); err != nil {
		return err
	}
	return zw.Close()
}

// archive adds parent directories to a cpio archive as needed.
type archive struct {
	cpio cpioWriter
	dirs map[string]bool // directories already in the archive
}

func (a *archive) mkdirAll(dir string) {
	if a.dirs[dir] {
		return
	}
	a.mkdirAll(path.Dir(dir))
	a.cpio.dir(dir, 0o755)
	a.dirs[dir] = true
}

func (a *archive) file(name string, perm fs.FileMode, data []byte) {
	a.mkdirAll(path.Dir(name))
	a.cpio.file(name, perm, bytes.NewReader(data), int64(len(data)))
}

func (a *archive) symlink(name, target string) {
	a.mkdirAll(path.Dir(name))
	a.cpio.symlink(name, target)
}

// hostFile copies the host file src to name in the archive.
func (a *archive) hostFile(name, src string, perm fs.FileMode) error {
	if !path.IsAbs(name) || path.Clean(name) != name {
		return fmt.Errorf("vmtest: guest path %q must be absolute and clean", name)
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("vmtest: %s is not a regular file", src)
	}
	a.mkdirAll(path.Dir(name))
	a.cpio.file(name, perm, f, info.Size())
	return a.cpio.err
}

// guestModules reads the modules names and their dependencies from the
// kernel, in load order.
func guestModules(ctx context.Context, k Kernel, names []string) ([]guestModule, error) {
	ix, err := readModuleIndex(k.ModulesDir)
	if err != nil {
		return nil, err
	}
	order, err := ix.loadOrder(names)
	if err != nil {
		return nil, err
	}
	mods := make([]guestModule, 0, len(order))
	for _, p := range order {
		data, err := ix.readModule(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("vmtest: reading module %s: %w", p, err)
		}
		mods = append(mods, guestModule{name: moduleName(p) + ".ko", data: data})
	}
	return mods, nil
}

// checkStatic returns an error unless the file at p is a statically linked
// x86-64 ELF executable, the only kind the guest can run (it has no
// dynamic loader or libc).
func checkStatic(p string) error {
	f, err := openGuestELF(p)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("vmtest: %s is dynamically linked; the guest needs a static binary (for Go: CGO_ENABLED=0)", p)
		}
	}
	return nil
}

// findBusybox returns the host path of a static busybox.
func findBusybox() (string, error) {
	if p := os.Getenv(BusyboxEnv); p != "" {
		return p, checkStatic(p)
	}
	var lastErr error
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if lastErr = checkStatic(p); lastErr == nil {
			return p, nil
		}
	}
	if lastErr != nil {
		return "", fmt.Errorf("%w (install busybox-static)", lastErr)
	}
	return "", fmt.Errorf("vmtest: no busybox (install busybox-static)")
}

// BusyboxEnv names the environment variable that overrides where the
// static busybox is found.
const BusyboxEnv = "RUSTYNET_VM_BUSYBOX"

// busyboxApplets lists the applets the busybox at p provides.
func busyboxApplets(ctx context.Context, p string) ([]string, error) {
	out, err := run(ctx, "", p, "--list")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a == filepath.Base(a) && a != "" {
			applets = append(applets, a)
		}
	}
	return applets, nil
}
