package driver

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/wafer"
)

// waferMap is what a heatmap draws.
type waferMap struct {
	spec   *wafer.Spec
	title  []string
	dies   []tempc.DieMap
	links  []tempc.LinkMap
	groups [][]wafer.DieID // each in ring order
	// stats says the maps carry a simulation's figures (else the wafer
	// alone is drawn).
	stats bool
}

// Heatmap geometry, in SVG user units.
const (
	hmPitch  = 100.0 // from one die's corner to the next
	hmDie    = 64.0  // a die's side
	hmMargin = 30.0  // more than half the gap between dies
	hmHeader = 18.0  // per title line
	hmLegend = 46.0
)

// writeSVG draws the wafer: each die a square filled by its compute
// engine's busy share of the step (dead dies grey and crossed, unused
// ones hatched grey), its peak memory written in it; each directed link a
// bar in the gap between its dies, coloured by its utilization (dead
// links dashed red); each model-parallel group outlined, its ring drawn
// through its dies' centres. Every shape carries a tooltip with its
// figures.
func (m *waferMap) writeSVG(w io.Writer) error {
	s := m.spec
	top := hmMargin + hmHeader*float64(len(m.title)) + (hmPitch-hmDie)/2
	width := max(2*hmMargin+float64(s.Cols-1)*hmPitch+hmDie, 720)
	height := top + float64(s.Rows-1)*hmPitch + hmDie + hmLegend + hmMargin
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif">`+"\n",
		width, height, width, height)
	b.WriteString(`<defs><pattern id="unused" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#cccccc" stroke-width="2"/></pattern></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="white"/>`+"\n", width, height)
	for i, t := range m.title {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12">%s</text>`+"\n", hmMargin, hmMargin+hmHeader*float64(i)+4, html.EscapeString(t))
	}
	corner := func(c [2]int) (x, y float64) {
		return hmMargin + float64(c[1])*hmPitch, top + float64(c[0])*hmPitch
	}
	centre := func(c [2]int) (x, y float64) {
		x, y = corner(c)
		return x + hmDie/2, y + hmDie/2
	}
	makespan := 0.0
	for _, d := range m.dies {
		makespan = max(makespan, d.BusySeconds+d.IdleSeconds)
	}
	// Links first, under the dies: a link from a to b runs on the side of
	// the gap to its right in its direction of travel.
	for _, l := range m.links {
		ax, ay := centre(l.From)
		bx, by := centre(l.To)
		dx, dy := (bx-ax)/hmPitch, (by-ay)/hmPitch
		off := 8.0
		nx, ny := -dy*off, dx*off
		half := hmDie / 2
		x1, y1 := ax+dx*half+nx, ay+dy*half+ny
		x2, y2 := bx-dx*half+nx, by-dy*half+ny
		tip := fmt.Sprintf("link (%d,%d)→(%d,%d): %.3g GB, %.1f%% busy", l.From[0], l.From[1], l.To[0], l.To[1], l.Bytes/1e9, 100*l.Utilization)
		switch {
		case !l.Alive:
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" stroke-width="3" stroke-dasharray="4 3"><title>%s (dead)</title></line>`+"\n",
				x1, y1, x2, y2, tip)
		case m.stats:
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="10"><title>%s</title></line>`+"\n",
				x1, y1, x2, y2, heat(l.Utilization), tip)
		default:
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999999" stroke-width="4"/>`+"\n", x1, y1, x2, y2)
		}
	}
	for _, d := range m.dies {
		x, y := corner(d.Die)
		label := fmt.Sprintf("%d,%d", d.Die[0], d.Die[1])
		switch {
		case !d.Alive:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="#7f7f7f"><title>die %s: dead</title></rect>`+"\n", x, y, hmDie, hmDie, label)
			fmt.Fprintf(&b, `<path d="M%.1f %.1fl%.0f %.0fM%.1f %.1fl%.0f -%.0f" stroke="white" stroke-width="3"/>`+"\n",
				x+8, y+8, hmDie-16, hmDie-16, x+8, y+hmDie-8, hmDie-16, hmDie-16)
			continue
		case !d.Used:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="url(#unused)" stroke="#bbbbbb"><title>die %s: unused</title></rect>`+"\n", x, y, hmDie, hmDie, label)
		case m.stats:
			busy := 0.0
			if makespan > 0 {
				busy = d.BusySeconds / makespan
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="%s" stroke="#555555"><title>die %s, group %d: compute busy %.1f%% (idle %.4g s), HBM %.3g GB, peak memory %.2f GB</title></rect>`+"\n",
				x, y, hmDie, hmDie, cool(busy), label, d.Group, 100*busy, d.IdleSeconds, d.HBMBytes/1e9, d.PeakMemoryBytes/1e9)
			ink := "black"
			if busy > 0.6 {
				ink = "white"
			}
			gb := fmt.Sprintf("%.0f GB", d.PeakMemoryBytes/1e9)
			if d.PeakMemoryBytes < 10e9 {
				gb = fmt.Sprintf("%.2g GB", d.PeakMemoryBytes/1e9)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="%s">%s</text>`+"\n", x+hmDie/2, y+hmDie-10, ink, gb)
		default:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="#deebf7" stroke="#555555"><title>die %s</title></rect>`+"\n", x, y, hmDie, hmDie, label)
		}
		ink := "#333333"
		if m.stats && d.Used && makespan > 0 && d.BusySeconds/makespan > 0.6 {
			ink = "white"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="%s">%s</text>`+"\n", x+hmDie/2, y+13, ink, label)
	}
	// Groups: their outlines (the sides of their dies that no die of the
	// group shares) and their rings.
	at := map[[2]int]int{}
	for g, ds := range m.groups {
		for _, d := range ds {
			c := s.Coord(d)
			at[[2]int{c.R, c.C}] = g
		}
	}
	for g, ds := range m.groups {
		var path strings.Builder
		// Each die's cell spans half the gap around it, so that the sides
		// of neighbouring cells meet.
		pad := (hmPitch - hmDie) / 2
		for _, d := range ds {
			c := s.Coord(d)
			x, y := corner([2]int{c.R, c.C})
			x, y = x-pad, y-pad
			for _, e := range []struct {
				dr, dc         int
				x1, y1, x2, y2 float64
			}{{-1, 0, x, y, x + hmPitch, y}, {1, 0, x, y + hmPitch, x + hmPitch, y + hmPitch},
				{0, -1, x, y, x, y + hmPitch}, {0, 1, x + hmPitch, y, x + hmPitch, y + hmPitch}} {
				if h, ok := at[[2]int{c.R + e.dr, c.C + e.dc}]; ok && h == g {
					continue // a side the group's own die shares
				}
				fmt.Fprintf(&path, "M%.1f %.1fL%.1f %.1f", e.x1, e.y1, e.x2, e.y2)
			}
		}
		fmt.Fprintf(&b, `<path d="%s" stroke="#222222" stroke-width="2.5" fill="none"><title>group %d: %d dies</title></path>`+"\n", path.String(), g, len(ds))
		if len(ds) > 1 {
			var pts []string
			for i := range len(ds) + 1 {
				d := ds[i%len(ds)]
				c := s.Coord(d)
				x, y := centre([2]int{c.R, c.C})
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y+6))
			}
			fmt.Fprintf(&b, `<polyline points="%s" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="3 2" fill="none"><title>group %d's ring</title></polyline>`+"\n",
				strings.Join(pts, " "), g)
		}
	}
	// Legends.
	ly := top + float64(s.Rows-1)*hmPitch + hmDie + 30
	if m.stats {
		for i := range 11 {
			f := float64(i) / 10
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="10" fill="%s"/>`+"\n", hmMargin+float64(i)*14, ly, heat(f))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="10" fill="%s"/>`+"\n", hmMargin+200+float64(i)*14, ly, cool(f))
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11">link utilization 0–100%%</text>`+"\n", hmMargin, ly+24)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11">die compute busy 0–100%%; GB: peak memory</text>`+"\n", hmMargin+200, ly+24)
	} else {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11">grey crossed: dead die; dashed red: dead link</text>`+"\n", hmMargin, ly+10)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// heat is a colour for f in [0, 1]: pale yellow to dark red.
func heat(f float64) string {
	return ramp(f, [][3]float64{{255, 255, 204}, {254, 178, 76}, {240, 59, 32}, {128, 0, 38}})
}

// cool is a colour for f in [0, 1]: white to dark blue.
func cool(f float64) string {
	return ramp(f, [][3]float64{{247, 251, 255}, {158, 202, 225}, {49, 130, 189}, {8, 48, 107}})
}

// ramp interpolates f in [0, 1] (clamped) along the stops.
func ramp(f float64, stops [][3]float64) string {
	if math.IsNaN(f) {
		f = 0
	}
	f = min(max(f, 0), 1) * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	t := f - float64(i)
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(stops[i][k] + t*(stops[i+1][k]-stops[i][k])))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}
