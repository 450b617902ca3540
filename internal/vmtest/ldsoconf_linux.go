package vmtest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ldSoConf is the host's dynamic loader configuration: the directories
// ldconfig puts into the loader's cache, searched before the defaults.
const ldSoConf = "/etc/ld.so.conf"

// maxConfDepth bounds nested include lines, as a guard against a loop.
const maxConfDepth = 8

// readLdSoConf returns the library directories the ld.so.conf file at path
// lists, in order, following its include lines (glob patterns, relative to
// the including file's directory) as ldconfig does. A missing file lists
// none; so does a pattern that matches nothing. Duplicates are dropped.
func readLdSoConf(path string) ([]string, error) {
	var dirs []string
	seen := make(map[string]bool)
	if err := readConfFile(path, 0, func(dir string) {
		if !seen[dir] {
			seen[dir] = true
			dirs = append(dirs, dir)
		}
	}); err != nil {
		return nil, err
	}
	return dirs, nil
}

// readConfFile reads one configuration file, calling add for each
// directory and recurring into includes.
func readConfFile(path string, depth int, add func(string)) error {
	if depth > maxConfDepth {
		return fmt.Errorf("vmtest: %s: includes nested deeper than %d", path, maxConfDepth)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		keyword, rest, _ := strings.Cut(line, " ")
		switch {
		case line == "":
		case keyword == "include":
			pattern := strings.TrimSpace(rest)
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(path), pattern)
			}
			matches, err := filepath.Glob(pattern)
			if err != nil {
				return fmt.Errorf("vmtest: %s: include %q: %w", path, pattern, err)
			}
			for _, m := range matches { // Glob sorts them, as ldconfig does
				if err := readConfFile(m, depth+1, add); err != nil {
					return err
				}
			}
		case keyword == "hwcap":
			// Obsolete (ignored by ldconfig since glibc 2.37).
		default:
			add(filepath.Clean(line))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("vmtest: %s: %w", path, err)
	}
	return nil
}
