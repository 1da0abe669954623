// Command enumgen writes the String, Parse and name-list methods of integer
// enums, taking each constant's external name from its line comment (as
// stringer's -linecomment does). It is run by a go:generate line next to the
// declarations, from the package directory:
//
//	//go:generate go run github.com/tempc/tempc/internal/enumgen -type Kind,Phase
//
// and all generated files are rewritten, from the module root, by
//
//	go generate ./...
//
// (go generate -run enumgen ./... runs only the enumgen lines).
// The TestGeneratedCurrent test fails when a committed file differs from
// what its go:generate line would write now.
//
// Each listed type must be an integer type whose values are declared in one
// const block as 0, 1, …, n−1, every one with a line comment giving its
// name:
//
//	const (
//		RingW Scheme = iota // ring-w
//		RingX               // ring-x
//		numSchemes
//	)
//
// A constant without a line comment whose name starts with "num" or "Num"
// is a count of the values and is skipped; any other constant of the type
// without one is an error. For each type T (names table tNames, the type
// name lower-cased) the output holds
//
//	func (T) String() string              // the name; T(7) for a value without one
//	func ParseT(s string) (T, error)      // the inverse; the error lists the names
//	func TNames() []string                // the names in value order
//
// and, with -text, MarshalText and UnmarshalText (the name as the text
// form, as in JSON). With -ok, ParseT returns (T, bool) instead. A type
// given as T=label is called label in errors (default: the type name
// lower-cased), e.g. -type "Kind=task kind".
//
// The output is written to the go:generate line's file name with the
// suffix _enum.go (types.go: types_enum.go), or to -output.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// config is what one go:generate line asks for.
type config struct {
	types  []typeArg
	ok     bool   // ParseT returns (T, bool)
	text   bool   // MarshalText and UnmarshalText
	output string // file name, relative to the package directory
}

// typeArg is one entry of -type: the type's name and what errors call it.
type typeArg struct{ name, label string }

// parseArgs reads the command line of one run; gofile is the file holding
// the go:generate line ($GOFILE), which names the default output.
func parseArgs(args []string, gofile string) (config, error) {
	fs := flag.NewFlagSet("enumgen", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	types := fs.String("type", "", "comma-separated type names, each T or T=label (required)")
	var c config
	fs.BoolVar(&c.ok, "ok", false, "ParseT returns (T, bool) instead of (T, error)")
	fs.BoolVar(&c.text, "text", false, "also write MarshalText and UnmarshalText")
	fs.StringVar(&c.output, "output", "", "output file (default: $GOFILE with the suffix _enum.go)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, t := range strings.Split(*types, ",") {
		name, label, found := strings.Cut(strings.TrimSpace(t), "=")
		if name == "" {
			continue
		}
		if !found {
			label = strings.ToLower(name)
		}
		c.types = append(c.types, typeArg{name, label})
	}
	if len(c.types) == 0 {
		return c, fmt.Errorf("-type names no type")
	}
	if c.output == "" {
		if gofile == "" {
			return c, fmt.Errorf("-output is required outside go generate ($GOFILE unset)")
		}
		c.output = strings.TrimSuffix(gofile, ".go") + "_enum.go"
	}
	return c, nil
}

// commandLine is the canonical command line of c, for the header of the
// output: the same whichever way the flags were spelled.
func (c config) commandLine() string {
	var ts []string
	for _, t := range c.types {
		if t.label == strings.ToLower(t.name) {
			ts = append(ts, t.name)
		} else {
			ts = append(ts, t.name+"="+t.label)
		}
	}
	s := "enumgen -type " + quoteArg(strings.Join(ts, ","))
	if c.ok {
		s += " -ok"
	}
	if c.text {
		s += " -text"
	}
	return s
}

// quoteArg quotes an argument with spaces as go generate reads it.
func quoteArg(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func main() {
	c, err := parseArgs(os.Args[1:], os.Getenv("GOFILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "enumgen:", err)
		fmt.Fprintln(os.Stderr, "usage: enumgen -type T[=label][,...] [-ok] [-text] [-output FILE]")
		os.Exit(2)
	}
	src, err := generate(".", c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "enumgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Clean(c.output), src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "enumgen:", err)
		os.Exit(1)
	}
}
