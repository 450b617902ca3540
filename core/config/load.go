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
// that, or Check for both. A bad configuration gives an ErrorList of every
// problem in it; a file that cannot be read, is not a regular file
// (inputfile.ErrNotRegular: a device, a FIFO, a directory) or holds more
// than MaxFileBytes (inputfile.ErrTooLarge) the *fs.PathError naming it.
func Load(path string) (*Config, error) {
	c, errs, err := load(path)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// Check is Load and then Validate, reporting the problems of both at once:
// an ErrorList of every problem in the file and in the files it names, in
// the order of the file. A key Load refuses is not checked again, so each
// key has at most one kind of problem. Errors reading path itself are
// Load's.
func Check(path string) (*Config, error) {
	c, errs, err := load(path)
	if err != nil {
		return nil, err
	}
	if c != nil {
		bad := map[string]bool{}
		for _, e := range errs {
			bad[e.Key] = true
		}
		for _, e := range c.validate() {
			if !bad[e.Key] {
				errs = append(errs, e)
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads and decodes the file at path: see decode.
func load(path string) (*Config, ErrorList, error) {
	data, err := inputfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	c, errs := decode(data, path, filepath.Dir(abs), currentLayout())
	return c, errs, nil
}

// Parse parses configuration text. name is the file name used in errors;
// relative paths are resolved against baseDir (made absolute against the
// working directory if it is relative). Keys the text leaves out keep
// Default's values. A bad configuration gives an ErrorList of every
// problem in the text.
func Parse(data []byte, name, baseDir string) (*Config, error) {
	return parseIn(data, name, baseDir, currentLayout())
}

// parseIn is Parse with the defaults of layout l.
func parseIn(data []byte, name, baseDir string, l paths.Layout) (*Config, error) {
	c, errs := decode(data, name, baseDir, l)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode parses configuration text with the defaults of layout l and
// returns the configuration, with every value that could be read, and the
// problems found, in the order of the text. Only a syntax error, which
// ends parsing, leaves no configuration.
func decode(data []byte, name, baseDir string, l paths.Layout) (*Config, ErrorList) {
	baseDir, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, ErrorList{{File: name, Msg: "base directory: " + err.Error()}}
	}
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, ErrorList{{File: name, Line: syntaxErrorLine(data, pe.Position), Key: pe.LastKey, Msg: pe.Message}}
		}
		return nil, ErrorList{{File: name, Msg: err.Error()}}
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
	c.File, c.src = name, src
	return c, d.errs()
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
