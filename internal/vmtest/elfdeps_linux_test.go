package vmtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestResolveMatchesLdd resolves real programs of this host and compares
// the result with what the host's own loader reports (ldd, here only as the
// independent reference).
func TestResolveMatchesLdd(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("ldd (libc-bin) is needed as the reference: " + err.Error())
	}
	search, err := hostLibSearch()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		program func(t *testing.T) string // skips t if the program is absent
		// wantRunPath is the DT_RUNPATH (or, with rpath, DT_RPATH) the
		// program must carry for the case to test what it says.
		wantRunPath func(program string) []string
		rpath       bool
	}{
		{name: "wireguard-tools wg", program: hostFile("/usr/bin/wg", "wireguard-tools")},
		{name: "coreutils ls", program: hostFile("/bin/ls", "coreutils")},
		{name: "iproute2 ip, libraries needing libraries", program: hostFile("/usr/sbin/ip", "iproute2")},
		{name: "static busybox", program: func(t *testing.T) string {
			bb, err := findBusybox()
			if err != nil {
				t.Skip(err)
			}
			return bb
		}},
		{
			name:        "DT_RUNPATH with $ORIGIN",
			program:     buildRunPathProgram,
			wantRunPath: func(p string) []string { return []string{filepath.Join(filepath.Dir(p), "lib")} },
		},
		{
			name:        "DT_RPATH of the program serves its libraries' needs",
			program:     buildRPathProgram,
			wantRunPath: func(p string) []string { return []string{filepath.Join(filepath.Dir(p), "rlib")} },
			rpath:       true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := tt.program(t)
			if tt.wantRunPath != nil {
				obj, err := readELFObject(prog)
				if err != nil {
					t.Fatal(err)
				}
				got := obj.runpath
				if tt.rpath {
					got = obj.rpath
				}
				if diff := cmp.Diff(tt.wantRunPath(prog), got); diff != "" {
					t.Fatalf("run path of the test program (-want +got):\n%s", diff)
				}
			}
			wantInterp, wantLibs := lddDeps(t, prog)
			got, err := search.resolve(prog)
			if err != nil {
				t.Fatal(err)
			}
			if got.interp != wantInterp {
				t.Errorf("interpreter: got %q, want %q", got.interp, wantInterp)
			}
			if diff := cmp.Diff(wantLibs, realPaths(t, got.libs)); diff != "" {
				t.Errorf("libraries, symbolic links resolved (-ldd +resolve):\n%s", diff)
			}
			for _, lib := range got.libs {
				if !filepath.IsAbs(lib) {
					t.Errorf("library path %q is not absolute", lib)
				}
			}
		})
	}
}

// TestResolveSearch checks how candidates along the search path are
// treated: found, skipped, or fatal, as the loader treats them.
func TestResolveSearch(t *testing.T) {
	host, err := hostLibSearch()
	if err != nil {
		t.Fatal(err)
	}
	const prog = "/bin/ls" // needs libselinux.so.1, then libc.so.6
	emptyDir := t.TempDir()
	foreignDir := t.TempDir() // a 32-bit libc.so.6: skipped
	writeELF32(t, filepath.Join(foreignDir, "libc.so.6"))
	junkDir := t.TempDir() // a libc.so.6 that is no ELF file: fatal
	if err := os.WriteFile(filepath.Join(junkDir, "libc.so.6"), []byte("not ELF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		program string
		dirs    []string
		wantErr string // empty: success, and no library from a test directory
	}{
		{name: "host search", program: prog, dirs: host.dirs},
		{name: "other ELF class skipped", program: prog, dirs: append([]string{foreignDir}, host.dirs...)},
		{name: "not ELF is fatal", program: prog, dirs: append([]string{junkDir}, host.dirs...), wantErr: junkDir},
		{name: "library in no directory", program: prog, dirs: []string{emptyDir}, wantErr: "needs libselinux.so.1, which is in none of " + emptyDir},
		{name: "program is a script", program: script, dirs: host.dirs, wantErr: "is not an ELF file"},
		{name: "program missing", program: filepath.Join(emptyDir, "nothing"), dirs: host.dirs, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &libSearch{dirs: tt.dirs}
			got, err := s.resolve(tt.program)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(got.libs, func(p string) bool { return filepath.Base(p) == "libc.so.6" }) {
				t.Errorf("libraries %q lack libc.so.6", got.libs)
			}
			for _, lib := range got.libs {
				for _, d := range []string{foreignDir, junkDir, emptyDir} {
					if filepath.Dir(lib) == d {
						t.Errorf("library %s comes from the test directory %s", lib, d)
					}
				}
			}
		})
	}
}

// hostFile returns a program function for the host program at p, which
// the Debian package pkg installs.
func hostFile(p, pkg string) func(t *testing.T) string {
	return func(t *testing.T) string {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed here (apt-get install %s): %v", p, pkg, err)
		}
		return p
	}
}

// lddDeps returns the interpreter and the libraries (symbolic links
// resolved, sorted) that ldd reports for prog.
func lddDeps(t *testing.T, prog string) (interp string, libs []string) {
	t.Helper()
	out, err := exec.Command("ldd", prog).CombinedOutput()
	if bytes.Contains(out, []byte("not a dynamic executable")) {
		return "", nil
	}
	if err != nil {
		t.Fatalf("ldd %s: %v\n%s", prog, err, out)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>":
			if f[2] == "not" {
				t.Fatalf("ldd %s: %s", prog, line)
			}
			libs = append(libs, f[2])
		case len(f) == 2 && strings.HasPrefix(f[0], "/"):
			interp = f[0]
		}
	}
	return interp, realPaths(t, libs)
}

// realPaths returns paths with symbolic links resolved, sorted.
func realPaths(t *testing.T, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// writeELF32 writes the header of a 32-bit x86 shared object to p.
func writeELF32(t *testing.T, p string) {
	t.Helper()
	h := elf.Header32{Type: uint16(elf.ET_DYN), Machine: uint16(elf.EM_386), Version: uint32(elf.EV_CURRENT), Ehsize: 52}
	copy(h.Ident[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildRunPathProgram builds a program that finds its library libdemo.so
// in lib/ beside it through DT_RUNPATH $ORIGIN/lib.
func buildRunPathProgram(t *testing.T) string {
	dir := t.TempDir()
	writeSource(t, dir, "demo.c", "int demo(void) { return 0; }\n")
	writeSource(t, dir, "main.c", "int demo(void);\nint main(void) { return demo(); }\n")
	gcc(t, dir, "-shared", "-fPIC", "-o", "lib/libdemo.so", "demo.c")
	gcc(t, dir, "-o", "prog", "main.c", "-Llib", "-ldemo", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/lib")
	return filepath.Join(dir, "prog")
}

// buildRPathProgram builds a program whose DT_RPATH $ORIGIN/rlib finds its
// library libouter.so and, for libouter.so (which has no run path of its
// own), libinner.so.
func buildRPathProgram(t *testing.T) string {
	dir := t.TempDir()
	writeSource(t, dir, "inner.c", "int inner(void) { return 0; }\n")
	writeSource(t, dir, "outer.c", "int inner(void);\nint outer(void) { return inner(); }\n")
	writeSource(t, dir, "main.c", "int outer(void);\nint main(void) { return outer(); }\n")
	gcc(t, dir, "-shared", "-fPIC", "-o", "rlib/libinner.so", "inner.c")
	gcc(t, dir, "-shared", "-fPIC", "-o", "rlib/libouter.so", "outer.c", "-Lrlib", "-linner")
	gcc(t, dir, "-o", "prog", "main.c", "-Lrlib", "-louter", "-Wl,-rpath-link,rlib",
		"-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/rlib")
	return filepath.Join(dir, "prog")
}

func writeSource(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gcc runs the C compiler in dir, creating the output's directory; it
// skips t if there is no compiler.
func gcc(t *testing.T, dir string, args ...string) {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is needed to build a program with a run path: " + err.Error())
	}
	for i, a := range args {
		if a == "-o" {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(args[i+1])), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(cc, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
