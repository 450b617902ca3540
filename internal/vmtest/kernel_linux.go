package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// KernelPackageEnv names the environment variable that selects the kernel
// package (e.g. linux-image-6.1.0-56-amd64) instead of asking apt which one
// linux-image-amd64 currently depends on.
const KernelPackageEnv = "RUSTYNET_VM_KERNEL_PACKAGE"

// kernelMetaPackage is Debian's package that always depends on the current
// kernel of the release.
const kernelMetaPackage = "linux-image-amd64"

// Kernel is an extracted kernel package: its image and its module tree,
// indexed by depmod. A Kernel in the cache is never modified again.
type Kernel struct {
	Package    string // Debian package, e.g. linux-image-6.1.0-56-amd64
	Release    string // uname -r, e.g. 6.1.0-56-amd64
	Image      string // path of the bootable image (vmlinuz)
	ModulesDir string // path of lib/modules/<Release>, with modules.dep
}

// PrepareKernel returns the kernel for VMs, downloading, extracting and
// indexing it into cacheDir/kernels on first use. Later calls find it there
// and only ask apt-cache which package is current (a local look-up). If apt
// cannot answer, the newest cached kernel is used. Concurrent callers, in
// this process or others, wait for one another on the cache lock. A nil
// logger discards progress messages.
func PrepareKernel(ctx context.Context, cacheDir string, logger *slog.Logger) (Kernel, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	kernels := filepath.Join(cacheDir, "kernels")
	pkg, err := kernelPackage(ctx)
	if err != nil {
		k, cachedErr := newestCachedKernel(kernels)
		if cachedErr != nil {
			return Kernel{}, fmt.Errorf("vmtest: %w (and %v)", err, cachedErr)
		}
		logger.Warn("vmtest: using the newest cached kernel", "package", k.Package, "reason", err)
		return k, nil
	}
	dir := filepath.Join(kernels, pkg)
	if k, err := loadKernel(dir); err == nil {
		return k, nil
	}
	unlock, err := lockCache(ctx, cacheDir)
	if err != nil {
		return Kernel{}, err
	}
	defer unlock()
	if k, err := loadKernel(dir); err == nil {
		return k, nil // another process prepared it while we waited
	}
	logger.Info("vmtest: downloading kernel", "package", pkg, "cache", kernels)
	if err := fetchKernel(ctx, pkg, dir); err != nil {
		return Kernel{}, err
	}
	return loadKernel(dir)
}

// kernelPackage returns the kernel package to use: the override from the
// environment, else the package linux-image-amd64 depends on.
func kernelPackage(ctx context.Context) (string, error) {
	if pkg := os.Getenv(KernelPackageEnv); pkg != "" {
		return pkg, nil
	}
	out, err := run(ctx, "", "apt-cache", "depends", kernelMetaPackage)
	if err != nil {
		return "", fmt.Errorf("asking apt for the current kernel: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		dep, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Depends: ")
		if ok && strings.HasPrefix(dep, "linux-image-") {
			return dep, nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image package (run apt-get update)", kernelMetaPackage)
}

// Layout of a prepared kernel directory.
const (
	kernelImageName = "vmlinuz"
	modulesSubdir   = "lib/modules"
)

// loadKernel describes the prepared kernel in dir.
func loadKernel(dir string) (Kernel, error) {
	releases, err := os.ReadDir(filepath.Join(dir, modulesSubdir))
	if err != nil {
		return Kernel{}, err
	}
	if len(releases) != 1 {
		return Kernel{}, fmt.Errorf("vmtest: %s: want one module tree, found %d", dir, len(releases))
	}
	k := Kernel{
		Package:    filepath.Base(dir),
		Release:    releases[0].Name(),
		Image:      filepath.Join(dir, kernelImageName),
		ModulesDir: filepath.Join(dir, modulesSubdir, releases[0].Name()),
	}
	for _, p := range []string{k.Image, filepath.Join(k.ModulesDir, "modules.dep")} {
		if _, err := os.Stat(p); err != nil {
			return Kernel{}, err
		}
	}
	return k, nil
}

// newestCachedKernel returns the most recently prepared kernel under dir.
func newestCachedKernel(dir string) (Kernel, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Kernel{}, fmt.Errorf("no cached kernel: %w", err)
	}
	type candidate struct {
		k       Kernel
		modTime int64
	}
	var found []candidate
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		k, err := loadKernel(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		found = append(found, candidate{k, info.ModTime().UnixNano()})
	}
	if len(found) == 0 {
		return Kernel{}, fmt.Errorf("no cached kernel in %s", dir)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].modTime > found[j].modTime })
	return found[0].k, nil
}

// fetchKernel downloads pkg, extracts the image and the module tree into a
// scratch directory beside dir, indexes the modules and renames the result
// to dir, so that dir either does not exist or is complete.
func fetchKernel(ctx context.Context, pkg, dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	scratch, err := os.MkdirTemp(parent, ".fetch-")
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(scratch)

	if _, err := run(ctx, scratch, "apt-get", "download", "-q", pkg); err != nil {
		return fmt.Errorf("vmtest: downloading %s: %w", pkg, err)
	}
	debs, err := filepath.Glob(filepath.Join(scratch, "*.deb"))
	if err != nil || len(debs) != 1 {
		return fmt.Errorf("vmtest: apt-get download %s left %d .deb files", pkg, len(debs))
	}
	extracted := filepath.Join(scratch, "root")
	if _, err := run(ctx, "", "dpkg-deb", "-x", debs[0], extracted); err != nil {
		return fmt.Errorf("vmtest: extracting %s: %w", pkg, err)
	}

	images, _ := filepath.Glob(filepath.Join(extracted, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return fmt.Errorf("vmtest: %s holds %d kernel images, want 1", pkg, len(images))
	}
	release := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	modules, err := findModuleTree(extracted, release)
	if err != nil {
		return fmt.Errorf("vmtest: %s: %w", pkg, err)
	}

	kernel := filepath.Join(scratch, "kernel")
	if err := os.MkdirAll(filepath.Join(kernel, modulesSubdir), 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if err := os.Rename(images[0], filepath.Join(kernel, kernelImageName)); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if err := os.Rename(modules, filepath.Join(kernel, modulesSubdir, release)); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	// depmod looks under lib/modules or usr/lib/modules depending on how kmod
	// was built; the link makes both find the tree.
	if err := os.MkdirAll(filepath.Join(kernel, "usr", "lib"), 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if err := os.Symlink("../../lib/modules", filepath.Join(kernel, "usr", "lib", "modules")); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if _, err := run(ctx, "", "depmod", "-b", kernel, release); err != nil {
		return fmt.Errorf("vmtest: indexing the modules of %s: %w", pkg, err)
	}
	if err := os.Rename(kernel, dir); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	return nil
}

// findModuleTree returns the module directory of release in an extracted
// package, wherever the package's layout puts it.
func findModuleTree(root, release string) (string, error) {
	for _, sub := range []string{"lib/modules", "usr/lib/modules"} {
		dir := filepath.Join(root, sub, release)
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no module tree for %s", release)
}

// run runs a command in dir and returns its standard output; on failure
// the error carries its standard error.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
