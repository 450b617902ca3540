// Package docnames checks that the identifiers package documentation names
// exist, so that a rename or a removal cannot leave a package doc pointing
// at nothing: a stale name in a doc comment compiles. It parses the
// module's packages (go/parser, go/doc) without type-checking them and
// reads three forms in each package's documentation, outside its indented
// code blocks:
//
//   - pkg.Name and pkg.Type.Member, where pkg names a package of this
//     module (the package's own name, or the last element of its path):
//     Name must be declared there, Member must be a field or method of
//     Type;
//   - Type.Member, where Type is a type the documented package declares:
//     Member must be one of its fields or methods;
//   - a bare word with an upper-case letter after a lower-case one
//     (RunStore, builtinPlugins): some package of the module must declare
//     it, at top level or as a field or method, unless it names a package
//     or is one of the words that only look like identifiers
//     (notIdentifiers).
//
// Names of other modules and of the standard library are not checked.
package docnames

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Finding is a name a package's documentation uses that does not exist.
type Finding struct {
	Dir  string // the package's directory, relative to the module root
	Name string // as the documentation spells it
}

// String says which package's doc names what.
func (f Finding) String() string {
	return fmt.Sprintf("%s: package doc names %s, which does not exist", f.Dir, f.Name)
}

// notIdentifiers are words in documentation that look like identifiers
// of this module but are not: products, units, and names in other
// programs and modules (systemd, Windows, go-plugin, wgctrl). Add a word
// here when the check takes one for an identifier.
var notIdentifiers = map[string]bool{
	"WireGuard": true, "gRPC": true, "gVisor": true, "macOS": true, "GitHub": true, "PowerShell": true,
	"KiB": true, "MiB": true, "GiB": true,
	"AutoMTLS": true, "FirewallMark": true, "KillMode": true, "SyslogLevelPrefix": true,
	"LocalSystem": true, "ProgramData": true,
}

// fileExtensions end names in documentation that are files, not Type.Member.
var fileExtensions = map[string]bool{"go": true, "md": true, "toml": true, "json": true, "sh": true, "proto": true, "db": true, "mod": true, "sum": true}

// pkgInfo is what a package declares: its top-level names and, per type,
// its fields and methods.
type pkgInfo struct {
	dir     string
	name    string
	doc     string
	decls   map[string]bool
	members map[string]map[string]bool
}

var (
	qualified = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\b`)
	word      = regexp.MustCompile(`(?:^|[^\w./-])([A-Za-z][A-Za-z0-9]*)\b`)
	hump      = regexp.MustCompile(`[a-z0-9][A-Z]`)
)

// Check parses the packages below root (a module's root directory) and
// returns what their documentation names that does not exist.
func Check(root string) ([]Finding, error) {
	pkgs, err := load(root)
	if err != nil {
		return nil, err
	}
	byName := map[string][]*pkgInfo{}
	for _, p := range pkgs {
		byName[p.name] = append(byName[p.name], p)
		if base := path.Base(filepath.ToSlash(p.dir)); base != p.name {
			byName[base] = append(byName[base], p)
		}
	}
	var out []Finding
	for _, p := range pkgs {
		for _, name := range missing(p, byName, pkgs) {
			out = append(out, Finding{Dir: p.dir, Name: name})
		}
	}
	return out, nil
}

// missing returns the names p's documentation uses that do not exist.
func missing(p *pkgInfo, byName map[string][]*pkgInfo, all []*pkgInfo) []string {
	var out []string
	seen := map[string]bool{}
	report := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	text := prose(p.doc)
	for _, m := range qualified.FindAllStringSubmatch(text, -1) {
		x, y, z := m[1], m[2], m[3]
		switch {
		case fileExtensions[y] && z == "":
			// A file name: view.go, rustynet.toml.
		case p.members[x] != nil:
			if !p.members[x][y] {
				report(x + "." + y)
			}
		case len(byName[x]) > 0 && isUpper(y):
			if !declaredIn(byName[x], y, z) {
				report(strings.TrimSuffix(x+"."+y+"."+z, "."))
			}
		}
	}
	for _, m := range word.FindAllStringSubmatch(qualified.ReplaceAllString(text, " "), -1) {
		w := m[1]
		if !hump.MatchString(w) || notIdentifiers[w] || len(byName[w]) > 0 || known(all, w) {
			continue
		}
		report(w)
	}
	return out
}

// prose returns doc without its code blocks (indented lines).
func prose(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// known reports whether one of pkgs declares name at top level or as a
// field or method.
func known(pkgs []*pkgInfo, name string) bool {
	for _, p := range pkgs {
		if p.decls[name] {
			return true
		}
		for _, m := range p.members {
			if m[name] {
				return true
			}
		}
	}
	return false
}

func isUpper(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// declaredIn reports whether one of pkgs declares name (and, if member is
// not empty, name is a type with that field or method).
func declaredIn(pkgs []*pkgInfo, name, member string) bool {
	for _, p := range pkgs {
		if member == "" && p.decls[name] {
			return true
		}
		if member != "" && p.members[name][member] {
			return true
		}
	}
	return false
}

// load parses every package below root, skipping testdata, hidden and
// vendor directories.
func load(root string) ([]*pkgInfo, error) {
	var out []*pkgInfo
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		base := d.Name()
		if dir != root && (base == "testdata" || base == "vendor" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
			return filepath.SkipDir
		}
		p, err := parseDir(dir)
		if err != nil || p == nil {
			return err
		}
		p.dir, _ = filepath.Rel(root, dir)
		out = append(out, p)
		return nil
	})
	return out, err
}

// parseDir parses the non-test Go files of dir; nil if there are none.
func parseDir(dir string) (*pkgInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files, tests []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(n, "_test.go") {
			tests = append(tests, f) // declares what the doc may name (TestMain), writes no doc
		} else {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	dp, err := doc.NewFromFiles(fset, files, dir, doc.AllDecls|doc.PreserveAST)
	if err != nil {
		return nil, err
	}
	p := &pkgInfo{name: dp.Name, doc: dp.Doc, decls: map[string]bool{}, members: map[string]map[string]bool{}}
	for _, f := range slices.Concat(files, tests) {
		declare(p, f)
	}
	return p, nil
}

// declare records what f declares at top level.
func declare(p *pkgInfo, f *ast.File) {
	member := func(typ, name string) {
		if p.members[typ] == nil {
			p.members[typ] = map[string]bool{}
		}
		p.members[typ][name] = true
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				p.decls[d.Name.Name] = true
				continue
			}
			if typ := recvType(d.Recv.List[0].Type); typ != "" {
				member(typ, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						p.decls[n.Name] = true
					}
				case *ast.TypeSpec:
					p.decls[s.Name.Name] = true
					if p.members[s.Name.Name] == nil {
						p.members[s.Name.Name] = map[string]bool{}
					}
					fields(s.Type, func(name string) { member(s.Name.Name, name) })
				}
			}
		}
	}
}

// fields calls add with the name of every field and interface method of
// t, embedded ones by their type's name.
func fields(t ast.Expr, add func(string)) {
	var list *ast.FieldList
	switch t := t.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list = t.Methods
	default:
		return
	}
	for _, f := range list.List {
		for _, n := range f.Names {
			add(n.Name)
		}
		if len(f.Names) == 0 {
			if name := recvType(f.Type); name != "" {
				add(name)
			}
		}
	}
}

// recvType returns the name of a receiver's (or embedded field's) type.
func recvType(t ast.Expr) string {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.SelectorExpr:
			return x.Sel.Name
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}
