package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/internal/inputfile"
)

// Load reads and parses the configuration file at path, resolving relative
// paths against its directory. It reads no other file; call Validate for
// that. A bad configuration gives an *Error; a file that cannot be read, is
// not a regular file (inputfile.ErrNotRegular: a device, a FIFO, a
// directory) or holds more than MaxFileBytes (inputfile.ErrTooLarge) the
// *fs.PathError naming it.
func Load(path string) (*Config, error) {
	data, err := inputfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, filepath.Dir(abs))
}

// Parse parses configuration text. name is the file name used in errors;
// relative paths are resolved against baseDir (made absolute against the
// working directory if it is relative). Keys the text leaves out keep
// Default's values. Any problem gives an *Error: the one that comes first in
// the text.
func Parse(data []byte, name, baseDir string) (*Config, error) {
	return parseIn(data, name, baseDir, currentLayout())
}

// parseIn is Parse with the defaults of layout l.
func parseIn(data []byte, name, baseDir string, l paths.Layout) (*Config, error) {
	baseDir, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, &Error{File: name, Msg: "base directory: " + err.Error()}
	}
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: syntaxErrorLine(data, pe.Position), Key: pe.LastKey, Msg: pe.Message}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	src := &source{file: name, data: string(data), tree: tree}
	d := newDecoder(src, md, baseDir)
	c := defaults(l)
	d.config(c)
	d.checkUnknown()
	if err := c.fillDerived(l); err != nil {
		d.probs = append(d.probs, problem{key: "node.high_water_file", at: loc{key: toml.Key{"node"}},
			msg: "required: there is no default: " + err.Error()})
	}
	if within(c.Control.Socket, c.Node.StateDir) {
		d.probs = append(d.probs, problem{key: "control.socket", at: loc{key: toml.Key{"control", "socket"}},
			msg: fmt.Sprintf("%s is inside node.state_dir %s, which holds only the store's files: put the socket elsewhere", c.Control.Socket, c.Node.StateDir)})
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	c.File, c.src = name, src
	return c, nil
}

// syntaxErrorLine returns the line of a syntax error. The parser counts a
// newline that ends a bad line as the start of the next one, so the line is
// taken from the error's byte offset instead.
func syntaxErrorLine(data []byte, pos toml.Position) int {
	if pos.Start < 0 || pos.Start > len(data) {
		return pos.Line
	}
	return 1 + bytes.Count(data[:pos.Start], []byte("\n"))
}

// within reports whether path lies inside dir (both absolute and clean, or
// empty: an empty one is inside nothing).
func within(path, dir string) bool {
	if path == "" || dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
