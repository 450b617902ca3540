package vmtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// moduleIndex is a kernel's modules.dep and modules.builtin: for each
// loadable module (by name), its file and the files it depends on.
type moduleIndex struct {
	dir     string              // lib/modules/<release>
	byName  map[string]string   // module name → path relative to dir
	deps    map[string][]string // path → paths it depends on
	builtin map[string]bool     // names of modules built into the image
}

// readModuleIndex reads modules.dep (written by depmod) and modules.builtin
// from the module directory dir.
func readModuleIndex(dir string) (*moduleIndex, error) {
	ix := &moduleIndex{
		dir:     dir,
		byName:  make(map[string]string),
		deps:    make(map[string][]string),
		builtin: make(map[string]bool),
	}
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(dep))
	for sc.Scan() {
		path, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		ix.byName[moduleName(path)] = path
		ix.deps[path] = strings.Fields(rest)
	}
	// modules.builtin lists the modules compiled into the image; a missing
	// file means there are none to know about.
	if builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, line := range strings.Fields(string(builtin)) {
			ix.builtin[moduleName(line)] = true
		}
	}
	return ix, nil
}

// moduleName returns the name of the module stored at path, as modprobe
// spells it: kernel/net/ipv4/udp_tunnel.ko.xz → udp_tunnel.
func moduleName(path string) string {
	name := filepath.Base(path)
	if i := strings.Index(name, ".ko"); i >= 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "_")
}

// loadOrder returns the module files to load, in an order in which each
// file's dependencies come before it, for the modules names and everything
// they depend on. Modules built into the image need no file.
func (ix *moduleIndex) loadOrder(names []string) ([]string, error) {
	var order []string
	seen := make(map[string]bool)
	var visit func(path string)
	visit = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		for _, dep := range ix.deps[path] {
			visit(dep)
		}
		order = append(order, path)
	}
	for _, name := range names {
		name = strings.ReplaceAll(name, "-", "_")
		if ix.builtin[name] {
			continue
		}
		path, ok := ix.byName[name]
		if !ok {
			return nil, fmt.Errorf("vmtest: kernel module %q is neither in modules.dep nor built in (%s)", name, ix.dir)
		}
		visit(path)
	}
	return order, nil
}

// readModule returns the contents of the module file at path (relative to
// the index's directory), decompressed: busybox insmod needs a plain ELF
// object. Debian compresses modules in some releases (.ko.xz, .ko.zst).
func (ix *moduleIndex) readModule(ctx context.Context, path string) ([]byte, error) {
	full := filepath.Join(ix.dir, path)
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(full)
	case strings.HasSuffix(path, ".ko.gz"):
		f, err := os.Open(full)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("vmtest: %s: %w", path, err)
		}
		return io.ReadAll(zr)
	case strings.HasSuffix(path, ".ko.xz"):
		return run(ctx, "", "xz", "--decompress", "--stdout", full)
	case strings.HasSuffix(path, ".ko.zst"):
		return run(ctx, "", "zstd", "--decompress", "--stdout", "--quiet", full)
	}
	return nil, fmt.Errorf("vmtest: %s: unknown module file format", path)
}
