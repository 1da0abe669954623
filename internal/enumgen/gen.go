package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// enum is one type's values, as the template needs them.
type enum struct {
	Name   string   // the type
	Recv   string   // the receiver of its methods
	Table  string   // the names table
	Names  []string // indexed by value
	Conv   string   // int64 or uint64: how String prints a value
	Format string   // quoted format of the unknown-name error
}

// generate writes the enum methods of c.types, declared in the non-test,
// non-generated Go files of dir.
func generate(dir string, c config) ([]byte, error) {
	fset := token.NewFileSet()
	files, pkg, err := parsePackage(fset, dir)
	if err != nil {
		return nil, err
	}
	data := struct {
		Command, Pkg string
		OK, Text     bool
		Enums        []enum
	}{c.commandLine(), pkg, c.ok, c.text, nil}
	for _, t := range c.types {
		e, err := readEnum(fset, files, pkg, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.name, err)
		}
		data.Enums = append(data.Enums, e)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		panic(err) // the template is fixed; every field it reads exists
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		panic(fmt.Sprintf("enumgen writes code gofmt rejects: %v\n%s", err, b.Bytes()))
	}
	return src, nil
}

// parsePackage parses the package's own files in dir: not tests, not
// generated files (whose methods are about to be replaced).
func parsePackage(fset *token.FileSet, dir string) ([]*ast.File, string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, "", err
	}
	var files []*ast.File
	pkg := ""
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, "", err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, "", err
		}
		if ast.IsGenerated(f) {
			continue
		}
		if pkg != "" && f.Name.Name != pkg {
			return nil, "", fmt.Errorf("%s: package %s, not %s", p, f.Name.Name, pkg)
		}
		pkg = f.Name.Name
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("no Go files in %s", dir)
	}
	return files, pkg, nil
}

// readEnum finds type t and the const block of its values, and evaluates
// the block with go/types on its own (so that it needs no imports).
func readEnum(fset *token.FileSet, files []*ast.File, pkg string, t typeArg) (enum, error) {
	spec, block, err := findDecls(files, t.name)
	if err != nil {
		return enum{}, err
	}
	synth := &ast.File{Name: ast.NewIdent(pkg), Decls: []ast.Decl{
		&ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{spec}}, block}}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	tpkg, err := new(types.Config).Check(pkg, fset, []*ast.File{synth}, info)
	if err != nil {
		return enum{}, fmt.Errorf("its const block does not stand alone: %v", err)
	}
	named := tpkg.Scope().Lookup(t.name).Type()
	basic, ok := named.Underlying().(*types.Basic)
	if !ok || basic.Info()&types.IsInteger == 0 {
		return enum{}, fmt.Errorf("not an integer type")
	}
	names := map[int64]string{}
	for _, s := range block.Specs {
		vs := s.(*ast.ValueSpec)
		for _, id := range vs.Names {
			obj, _ := info.Defs[id].(*types.Const)
			if id.Name == "_" || obj == nil || !types.Identical(obj.Type(), named) {
				continue
			}
			name, err := lineName(fset, vs, id)
			if err != nil {
				return enum{}, err
			}
			if name == "" {
				continue // a count
			}
			v, exact := constant.Int64Val(obj.Val())
			if !exact {
				return enum{}, fmt.Errorf("%s: %s = %v is out of range", fset.Position(id.Pos()), id.Name, obj.Val())
			}
			if old, dup := names[v]; dup {
				return enum{}, fmt.Errorf("%s: %s has the value of %q", fset.Position(id.Pos()), id.Name, old)
			}
			names[v] = name
		}
	}
	return newEnum(t, names, basic.Info()&types.IsUnsigned != 0)
}

// findDecls returns the declaration of type name and the one const block
// that declares values of it by name (the first spec of an iota block).
func findDecls(files []*ast.File, name string) (*ast.TypeSpec, *ast.GenDecl, error) {
	var spec *ast.TypeSpec
	var blocks []*ast.GenDecl
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.Name == name {
						spec = s
					}
				case *ast.ValueSpec:
					if id, ok := s.Type.(*ast.Ident); ok && id.Name == name && gd.Tok == token.CONST && !slices.Contains(blocks, gd) {
						blocks = append(blocks, gd)
					}
				}
			}
		}
	}
	switch {
	case spec == nil:
		return nil, nil, fmt.Errorf("no such type")
	case spec.TypeParams != nil || spec.Assign.IsValid():
		return nil, nil, fmt.Errorf("not a defined integer type")
	case len(blocks) != 1:
		return nil, nil, fmt.Errorf("want its values in one const block, found %d", len(blocks))
	}
	return spec, blocks[0], nil
}

// lineName is the name the line comment of vs gives id: "" for a count
// (numX, NumX) without one.
func lineName(fset *token.FileSet, vs *ast.ValueSpec, id *ast.Ident) (string, error) {
	if vs.Comment == nil {
		if strings.HasPrefix(id.Name, "num") || strings.HasPrefix(id.Name, "Num") {
			return "", nil
		}
		return "", fmt.Errorf("%s: %s has no line comment naming it", fset.Position(id.Pos()), id.Name)
	}
	if len(vs.Names) > 1 {
		return "", fmt.Errorf("%s: one line comment names %d constants", fset.Position(id.Pos()), len(vs.Names))
	}
	name := strings.TrimSpace(vs.Comment.Text())
	if name == "" || strings.ContainsAny(name, "\n") {
		return "", fmt.Errorf("%s: the line comment of %s is not one name", fset.Position(id.Pos()), id.Name)
	}
	return name, nil
}

// newEnum orders the names by value, which must run 0, 1, …, n−1.
func newEnum(t typeArg, byValue map[int64]string, unsigned bool) (enum, error) {
	e := enum{Name: t.name, Recv: strings.ToLower(t.name[:1]), Table: strings.ToLower(t.name) + "Names", Conv: "int64"}
	if unsigned {
		e.Conv = "uint64"
	}
	if len(byValue) == 0 {
		return e, fmt.Errorf("no named values")
	}
	seen := map[string]bool{}
	for v := range int64(len(byValue)) {
		name, ok := byValue[v]
		if !ok {
			return e, fmt.Errorf("values are not 0, 1, …, %d: %d is missing", len(byValue)-1, v)
		}
		if seen[name] {
			return e, fmt.Errorf("two values are named %q", name)
		}
		seen[name] = true
		e.Names = append(e.Names, name)
	}
	list := e.Names[0]
	if n := len(e.Names); n > 1 {
		list = strings.Join(e.Names[:n-1], ", ") + " or " + e.Names[n-1]
	}
	esc := strings.NewReplacer("%", "%%").Replace
	e.Format = strconv.Quote("unknown " + esc(t.label) + " %q (want " + esc(list) + ")")
	return e, nil
}

var tmpl = template.Must(template.New("enum").Parse(`// Code generated by {{.Command}}; DO NOT EDIT.
// Regenerate with go generate ./... (see internal/enumgen).

package {{.Pkg}}

import "fmt"
{{range .Enums}}
// {{.Table}} are the names of the {{.Name}} values, indexed by value.
var {{.Table}} = [...]string{ {{range .Names}}{{printf "%q" .}}, {{end}} }

// String returns the name of {{.Recv}}, or {{.Name}}(n) for a value without one.
func ({{.Recv}} {{.Name}}) String() string {
	if uint64({{.Recv}}) < uint64(len({{.Table}})) {
		return {{.Table}}[{{.Recv}}]
	}
	return fmt.Sprintf("{{.Name}}(%d)", {{.Conv}}({{.Recv}}))
}
{{if $.OK}}
// Parse{{.Name}} returns the {{.Name}} whose String is s, and whether there is one.
func Parse{{.Name}}(s string) ({{.Name}}, bool) {
	for i, n := range {{.Table}} {
		if n == s {
			return {{.Name}}(i), true
		}
	}
	return 0, false
}
{{else}}
// Parse{{.Name}} returns the {{.Name}} whose String is s.
func Parse{{.Name}}(s string) ({{.Name}}, error) {
	for i, n := range {{.Table}} {
		if n == s {
			return {{.Name}}(i), nil
		}
	}
	return 0, fmt.Errorf({{.Format}}, s)
}
{{end}}
// {{.Name}}Names returns the names of the {{.Name}} values in value order:
// the strings Parse{{.Name}} accepts.
func {{.Name}}Names() []string { return append([]string(nil), {{.Table}}[:]...) }
{{if $.Text}}
// MarshalText writes {{.Recv}} by name; a value without one is an error.
func ({{.Recv}} {{.Name}}) MarshalText() ([]byte, error) {
	if uint64({{.Recv}}) < uint64(len({{.Table}})) {
		return []byte({{.Table}}[{{.Recv}}]), nil
	}
	return nil, fmt.Errorf("%v has no name", {{.Recv}})
}

// UnmarshalText reads a {{.Name}} by name, as Parse{{.Name}} does.
func ({{.Recv}} *{{.Name}}) UnmarshalText(text []byte) error {
{{- if $.OK}}
	parsed, ok := Parse{{.Name}}(string(text))
	if !ok {
		return fmt.Errorf({{.Format}}, text)
	}
{{- else}}
	parsed, err := Parse{{.Name}}(string(text))
	if err != nil {
		return err
	}
{{- end}}
	*{{.Recv}} = parsed
	return nil
}
{{end}}{{end}}`))
