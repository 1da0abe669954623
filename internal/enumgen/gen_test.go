package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/tempc/tempc/internal/golden"
)

// genCase is one package given to enumgen.
type genCase struct {
	name string
	src  string   // the package's one file, package p
	args []string // enumgen's arguments; $GOFILE is p.go
	// values are each type's names in value order; err is a substring of
	// generate's error instead.
	values map[string][]string
	err    string
}

var genCases = []genCase{
	{
		name: "iota with a count",
		src: `package p

type Color uint8

const (
	Red   Color = iota // red
	Green              // green-ish
	Blue               // 100%
	numColors
)
`,
		args:   []string{"-type", "Color"},
		values: map[string][]string{"Color": {"red", "green-ish", "100%"}},
	},
	{
		name: "signed types and labels",
		src: `package p

type Dir int8

const (
	// North is up.
	North Dir = iota // N
	South            // S
	Limit = 10       // an untyped constant of the block, not a Dir
)

type Mode int

const (
	Fast Mode = iota // fast
	Slow             // slow
	NumModes
)
`,
		args:   []string{"-type", "Dir=direction,Mode=speed mode"},
		values: map[string][]string{"Dir": {"N", "S"}, "Mode": {"fast", "slow"}},
	},
	{
		name: "text",
		src: `package p

type Kind uint16

const (
	Compute Kind = iota // compute
	Send                // send
)

// Verb's receiver, v, must not clash with the generated code's names.
type Verb uint8

const (
	Get Verb = iota // GET
	Put             // PUT
)
`,
		args:   []string{"-type", "Kind=task kind,Verb", "-text"},
		values: map[string][]string{"Kind": {"compute", "send"}, "Verb": {"GET", "PUT"}},
	},
	{
		name: "ok and text",
		src: `package p

type Phase int

const (
	Fwd Phase = iota // fwd
	Bwd              // bwd
	Opt              // opt
)
`,
		args:   []string{"-type", "Phase", "-ok", "-text"},
		values: map[string][]string{"Phase": {"fwd", "bwd", "opt"}},
	},
	{
		name: "no line comment",
		src:  "package p\n\ntype T int\n\nconst (\n\tA T = iota // a\n\tB\n)\n",
		args: []string{"-type", "T"},
		err:  "B has no line comment naming it",
	},
	{
		name: "a gap",
		src:  "package p\n\ntype T int\n\nconst (\n\tA T = iota // a\n\tB T = 5 // b\n)\n",
		args: []string{"-type", "T"},
		err:  "values are not 0, 1, …, 1: 1 is missing",
	},
	{
		name: "two names alike",
		src:  "package p\n\ntype T int\n\nconst (\n\tA T = iota // a\n\tB // a\n)\n",
		args: []string{"-type", "T"},
		err:  `two values are named "a"`,
	},
	{
		name: "two blocks",
		src:  "package p\n\ntype T int\n\nconst A T = 0 // a\n\nconst B T = 1 // b\n",
		args: []string{"-type", "T"},
		err:  "want its values in one const block, found 2",
	},
	{
		name: "not an integer",
		src:  "package p\n\ntype T string\n\nconst A T = \"x\" // a\n",
		args: []string{"-type", "T"},
		err:  "not an integer type",
	},
	{
		name: "no such type",
		src:  "package p\n\ntype T int\n\nconst A T = 0 // a\n",
		args: []string{"-type", "U"},
		err:  "U: no such type",
	},
	{
		name: "block needs an import",
		src:  "package p\n\nimport \"time\"\n\ntype T int64\n\nconst A T = T(time.Second) // a\n",
		args: []string{"-type", "T"},
		err:  "does not stand alone",
	},
}

// TestGenerate runs enumgen on each case: the valid ones must give
// gofmt-clean code with the generated-code header, equal to its golden
// file (testdata/NAME.golden, UPDATE_GOLDEN=1 rewrites them), the others
// the error.
func TestGenerate(t *testing.T) {
	for _, tc := range genCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCase(t.TempDir(), tc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f, err := format.Source(got); err != nil || !bytes.Equal(f, got) {
				t.Errorf("output is not gofmt-clean (%v)", err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), "", got, parser.ParseComments)
			if err != nil || !ast.IsGenerated(f) {
				t.Errorf("output lacks the generated-code header (%v)", err)
			}
			golden.Check(t, filepath.Join("testdata", strings.ReplaceAll(tc.name, " ", "-")+".golden"), string(got))
		})
	}
}

// runCase writes tc's package into dir and generates its enum file there,
// returning its contents.
func runCase(dir string, tc genCase) ([]byte, error) {
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(tc.src), 0o644); err != nil {
		return nil, err
	}
	c, err := parseArgs(tc.args, "p.go")
	if err != nil {
		return nil, err
	}
	src, err := generate(dir, c)
	if err != nil {
		return nil, err
	}
	return src, os.WriteFile(filepath.Join(dir, c.output), src, 0o644)
}

// TestGeneratedRoundTrips compiles the valid cases' packages with their
// generated files and runs, in each, a test that every value's String
// parses back to it (and, with -text, through JSON), that the names are
// the line comments in order and that unknown names and values fail. One
// go test run covers them all.
func TestGeneratedRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a module with the go command")
	}
	root := t.TempDir()
	write := func(path, data string) {
		if err := os.WriteFile(filepath.Join(root, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module enumcases\n\ngo 1.21\n")
	for i, tc := range genCases {
		if tc.err != "" {
			continue
		}
		dir := fmt.Sprintf("case%d", i)
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := runCase(filepath.Join(root, dir), tc); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, _ := parseArgs(tc.args, "p.go")
		var b bytes.Buffer
		if err := roundTripTmpl.Execute(&b, map[string]any{"Values": tc.values, "OK": c.ok, "Text": c.text}); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(dir, "p_test.go"), b.String())
	}
	cmd := exec.Command("go", "test", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in %s: %v\n%s", root, err, out)
	}
}

// roundTripTmpl is the test of one case's package.
var roundTripTmpl = template.Must(template.New("test").Parse(`package p

import (
{{- if .Text}}
	"encoding/json"
{{- end}}
	"fmt"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
{{- range $name, $names := .Values}}
	{
		want := []string{ {{range $names}}{{printf "%q" .}}, {{end}} }
		if got := {{$name}}Names(); !reflect.DeepEqual(got, want) {
			t.Errorf("{{$name}}Names() = %q, want %q", got, want)
		}
		for i, n := range want {
			v := {{$name}}(i)
			if v.String() != n {
				t.Errorf("{{$name}}(%d).String() = %q, want %q", i, v.String(), n)
			}
{{- if $.OK}}
			if got, ok := Parse{{$name}}(n); !ok || got != v {
				t.Errorf("Parse{{$name}}(%q) = %d, %v", n, got, ok)
			}
{{- else}}
			if got, err := Parse{{$name}}(n); err != nil || got != v {
				t.Errorf("Parse{{$name}}(%q) = %d, %v", n, got, err)
			}
{{- end}}
{{- if $.Text}}
			js, err := json.Marshal(map[string]{{$name}}{n: v})
			var back map[string]{{$name}}
			if err != nil || json.Unmarshal(js, &back) != nil || back[n] != v || string(js) != fmt.Sprintf("{%q:%q}", n, n) {
				t.Errorf("JSON of %d: %s, %v, back %v", i, js, err, back)
			}
{{- end}}
		}
		unknown := {{$name}}(len(want))
		if got, exp := unknown.String(), fmt.Sprintf("{{$name}}(%d)", len(want)); got != exp {
			t.Errorf("unknown value prints as %q, want %q", got, exp)
		}
{{- if $.OK}}
		if _, ok := Parse{{$name}}("bogus"); ok {
			t.Error("Parse{{$name}}(bogus) succeeds")
		}
{{- else}}
		if _, err := Parse{{$name}}("bogus"); err == nil {
			t.Error("Parse{{$name}}(bogus) succeeds")
		} else {
			t.Log(err)
		}
{{- end}}
{{- if $.Text}}
		var v {{$name}}
		if err := json.Unmarshal([]byte(` + "`" + `"bogus"` + "`" + `), &v); err == nil {
			t.Error("bogus unmarshals")
		}
		if _, err := json.Marshal(unknown); err == nil {
			t.Error("an unknown value marshals")
		}
{{- end}}
	}
{{- end}}
}
`))
