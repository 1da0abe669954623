package frontend

import (
	"fmt"

	"github.com/tempc/tempc/internal/jsonpos"
)

// Bounds on the JSON files frontend reads (configs and graphs). The
// positioned JSON reader keeps, for every member or element of the object
// or array it is reading, a record of about 150 bytes, and a line table of
// 8 bytes a line: a file of tiny items or of blank lines takes up to 160
// times its size decoded. checkJSONShape scans the bytes first, without
// allocating, and refuses a file beyond these bounds by position.
const (
	// maxJSONEntries bounds the members of one object and the elements of
	// one array: twice the most a graph file may list (maxGraphItems
	// tensors or ops), so that the graph reader names a list just over
	// its limit by its key.
	maxJSONEntries = 2 * maxGraphItems
	// maxJSONValues bounds the values of the whole file (2^25): a graph of
	// maxGraphItems tensors and ops, each with a dozen values, in 3 times
	// fewer values than that.
	maxJSONValues = 1 << 25
	// maxJSONLines bounds the lines (2^24): 8 a tensor or op of a
	// maxGraphItems graph written one value a line.
	maxJSONLines = 1 << 24
	// maxJSONString bounds the bytes of one string (1 MiB): names, types
	// and paths take tens; a string is decoded in several copies.
	maxJSONString = 1 << 20
)

// checkJSONShape returns the positioned problem that makes reading data
// unsafe, or nil. Malformed JSON is left to the parser, which reports it
// with its cause; the scan only counts structure outside strings.
func checkJSONShape(file string, data []byte) *jsonpos.Error {
	type open struct {
		at      int
		entries int
		array   bool
	}
	var stack []open
	values, lines := 0, 0
	inString, escaped, start := false, false, 0
	for i, c := range data {
		switch {
		case c == '\n':
			if lines++; lines > maxJSONLines {
				return jsonError(file, data, i, fmt.Sprintf("more than %d lines exceed tempc's limit for a JSON file", maxJSONLines))
			}
		case inString:
			switch {
			case i-start > maxJSONString:
				return jsonError(file, data, start, fmt.Sprintf("a string of more than %d bytes exceeds tempc's limit", maxJSONString))
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString, start = true, i
		case c == '{' || c == '[':
			stack = append(stack, open{at: i, entries: 1, array: c == '['})
			if values++; values > maxJSONValues {
				return jsonError(file, data, i, fmt.Sprintf("more than %d values exceed tempc's limit for a JSON file", maxJSONValues))
			}
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == ',' && len(stack) > 0:
			top := &stack[len(stack)-1]
			if top.entries++; top.entries > maxJSONEntries {
				what := "members of an object"
				if top.array {
					what = "elements of an array"
				}
				return jsonError(file, data, top.at, fmt.Sprintf("more than %d %s exceed tempc's limit", maxJSONEntries, what))
			}
			fallthrough
		case c == ',':
			if values++; values > maxJSONValues {
				return jsonError(file, data, i, fmt.Sprintf("more than %d values exceed tempc's limit for a JSON file", maxJSONValues))
			}
		}
	}
	return nil
}

// jsonError places msg at byte offset at of data.
func jsonError(file string, data []byte, at int, msg string) *jsonpos.Error {
	line, start := 1, 0
	for i, c := range data[:at] {
		if c == '\n' {
			line, start = line+1, i+1
		}
	}
	return &jsonpos.Error{Pos: jsonpos.Pos{File: file, Line: line, Col: at - start + 1}, Msg: msg}
}
