package ilp

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MergeTerms sums the coefficients of repeated columns and orders terms by
// column, as a solver wants them.
func MergeTerms(ts []Term) []Term {
	out := append([]Term(nil), ts...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Col < out[j].Col })
	n := 0
	for _, t := range out {
		if n > 0 && out[n-1].Col == t.Col {
			out[n-1].Coef += t.Coef
			continue
		}
		out[n] = t
		n++
	}
	return out[:n]
}

// Text is the canonical text form of the problem: objective, rows and
// bounds in order, one per line, in a syntax close to CPLEX LP. Golden
// tests compare it.
func (p *Problem) Text() string {
	var b strings.Builder
	p.WriteText(&b)
	return b.String()
}

// WriteText writes the canonical text form to w.
func (p *Problem) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\\ problem %s: %d columns, %d rows\nminimize\n obj:", p.Name, len(p.Cols), len(p.Rows))
	for j, c := range p.Cols {
		if c.Cost != 0 {
			fmt.Fprintf(&b, " %s %s", signed(c.Cost), p.Cols[j].Name)
		}
	}
	if p.Offset != 0 {
		fmt.Fprintf(&b, " %s", signed(p.Offset))
	}
	b.WriteString("\nsubject to\n")
	for _, r := range p.Rows {
		fmt.Fprintf(&b, " %s:", r.Name)
		for _, t := range MergeTerms(r.Terms) {
			fmt.Fprintf(&b, " %s %s", signed(t.Coef), p.Cols[t.Col].Name)
		}
		switch {
		case r.Lower == r.Upper:
			fmt.Fprintf(&b, " = %s\n", num(r.Lower))
		case math.IsInf(r.Lower, -1):
			fmt.Fprintf(&b, " <= %s\n", num(r.Upper))
		case math.IsInf(r.Upper, 1):
			fmt.Fprintf(&b, " >= %s\n", num(r.Lower))
		default:
			fmt.Fprintf(&b, " in [%s, %s]\n", num(r.Lower), num(r.Upper))
		}
	}
	b.WriteString("bounds\n")
	for _, c := range p.Cols {
		kind := ""
		if c.Integer {
			kind = " integer"
		}
		fmt.Fprintf(&b, " %s <= %s <= %s%s\n", num(c.Lower), c.Name, num(c.Upper), kind)
	}
	b.WriteString("end\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', 12, 64)
}

func signed(v float64) string {
	if v < 0 {
		return "- " + num(-v)
	}
	return "+ " + num(v)
}
