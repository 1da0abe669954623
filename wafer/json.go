package wafer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/internal/jsonpos"
)

// SchemaVersion is the version of the wafer file format written by
// WriteJSON and read by ReadJSON (wafer.schema.json).
const SchemaVersion = 3

type jsonSpec struct {
	SchemaVersion int        `json:"schema_version"`
	Name          string     `json:"name"`
	Rows          int        `json:"rows"`
	Cols          int        `json:"cols"`
	Die           jsonDie    `json:"die"`
	Link          jsonLink   `json:"link"`
	HBMPJPerBit   float64    `json:"hbm_pj_per_bit"`
	SRAMPJPerBit  float64    `json:"sram_pj_per_bit"`
	TFLOPSPerWatt float64    `json:"tflops_per_watt"`
	Kernel        jsonKernel `json:"kernel"`
	// DeadDies and DeadLinks are read as slices, not [2]int arrays, which
	// would silently drop a third coordinate or zero a missing one.
	DeadDies  [][]int   `json:"dead_dies"`
	DeadLinks [][][]int `json:"dead_links"`
	// Cluster is optional: absent, the file describes one wafer.
	Cluster *jsonCluster `json:"cluster,omitempty"`
}

type jsonCluster struct {
	Wafers    int     `json:"wafers"`
	EdgeTBps  float64 `json:"edge_tbps"`
	LatencyNs float64 `json:"latency_ns"`
	PJPerBit  float64 `json:"pj_per_bit"`
	StaticW   float64 `json:"static_w"`
}

type jsonDie struct {
	PeakTFLOPS float64 `json:"peak_tflops"`
	HBMGB      float64 `json:"hbm_gb"`
	HBMTBps    float64 `json:"hbm_tbps"`
	SRAMMB     float64 `json:"sram_mb"`
	DMAEngines int     `json:"dma_engines"`
	StaticW    float64 `json:"static_w"`
}

type jsonKernel struct {
	GEMMEfficiency      float64 `json:"gemm_efficiency"`
	AttentionEfficiency float64 `json:"attention_efficiency"`
	ArrayTile           int     `json:"array_tile"`
	GEMMSRAMFraction    float64 `json:"gemm_sram_fraction"`
}

type jsonLink struct {
	BandwidthTBps float64 `json:"bandwidth_tbps"`
	LatencyNs     float64 `json:"latency_ns"`
	PJPerBit      float64 `json:"pj_per_bit"`
	StaticW       float64 `json:"static_w"`
}

// ReadJSON parses a wafer file and validates it (Spec.Validate; the
// physical fields against their plausible ranges as written, before
// conversion). Malformed JSON, unknown or missing fields, wrong types and
// invalid values are reported with their file position and the field, die
// or link at fault.
func ReadJSON(file string, data []byte) (*Spec, error) {
	o, perr := jsonpos.Parse(file, data)
	if perr != nil {
		return nil, fmt.Errorf("wafer: %w", jsonpos.ErrorList{perr})
	}
	var j jsonSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
			return nil, unknownField(file, o, strings.TrimSuffix(name, `"`))
		}
		return nil, fmt.Errorf("wafer: %w", jsonpos.ErrorList{o.Src.SyntaxError(err, 0)})
	}
	e := &jsonpos.Errs{File: file, Prefix: "wafer"}
	if !o.Has("schema_version") {
		e.Add(o.Pos, "schema_version", "required field is missing (this tempc reads %d)", SchemaVersion)
		return nil, e.Err()
	}
	if j.SchemaVersion != SchemaVersion {
		hint := ""
		switch j.SchemaVersion {
		case 1:
			hint = "; version 2 added die.static_w and link.static_w, the idle power of a die and of a link direction; version 3 sram_pj_per_bit and kernel"
		case 2:
			hint = "; version 3 adds sram_pj_per_bit and the kernel object (gemm_efficiency, attention_efficiency, array_tile, gemm_sram_fraction): `tempc wafer --wafer temp48` prints them"
		}
		e.Add(o.FieldPos("schema_version"), "schema_version", "unsupported version %d (this tempc reads %d%s)", j.SchemaVersion, SchemaVersion, hint)
		return nil, e.Err()
	}
	checkRequired(e, o)
	w := &where{o: o, elems: map[string][]jsonpos.Pos{}}
	dies, links := coords(e, w, &j)
	if e.Len() > 0 {
		return nil, e.Err()
	}
	s := j.spec(file, dies, links)
	hw := fileHardwareProblems(&j)
	if c := j.Cluster; c != nil {
		hw = append(hw, clusterProblems(c.Wafers, func(l *limit) float64 { return l.file(&j) })...)
	}
	for _, p := range s.problems(hw, true) {
		pos, field := w.problem(p)
		e.Add(pos, field, "%s", p.msg)
	}
	if e.Len() > 0 {
		return nil, e.Err()
	}
	return s, nil
}

// spec converts j to SI units, naming the wafer after its file when it
// has no name.
func (j *jsonSpec) spec(file string, dies []Coord, links []DeadLink) *Spec {
	s := &Spec{Name: j.Name, Rows: j.Rows, Cols: j.Cols,
		Die: Die{PeakFLOPS: j.Die.PeakTFLOPS * tera, HBMBytes: j.Die.HBMGB * giga, HBMBandwidth: j.Die.HBMTBps * tera,
			SRAMBytes: j.Die.SRAMMB * mega, DMAEngines: j.Die.DMAEngines, StaticWatts: j.Die.StaticW},
		Link: Link{Bandwidth: j.Link.BandwidthTBps * tera, Latency: fromNano(j.Link.LatencyNs), JoulesPerBit: fromPico(j.Link.PJPerBit),
			StaticWatts: j.Link.StaticW},
		HBMJoulesPerBit: fromPico(j.HBMPJPerBit), SRAMJoulesPerBit: fromPico(j.SRAMPJPerBit), FLOPSPerWatt: j.TFLOPSPerWatt * tera,
		Kernel: Kernel{GEMMEfficiency: j.Kernel.GEMMEfficiency, AttentionEfficiency: j.Kernel.AttentionEfficiency,
			ArrayTile: j.Kernel.ArrayTile, GEMMSRAMFraction: j.Kernel.GEMMSRAMFraction},
		DeadDies: dies, DeadLinks: links}
	if c := j.Cluster; c != nil {
		s.Cluster = &Cluster{Wafers: c.Wafers, EdgeBandwidth: c.EdgeTBps * tera, Latency: fromNano(c.LatencyNs),
			JoulesPerBit: fromPico(c.PJPerBit), StaticWatts: c.StaticW}
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(file, ".json")
	}
	return s
}

// unknownField reports a field the format does not have, at its position:
// top-level, or in die or link.
func unknownField(file string, o *jsonpos.Object, name string) error {
	e := &jsonpos.Errs{File: file, Prefix: "wafer"}
	pos, field := o.Pos, name
	if _, ok := o.Fields[name]; ok {
		pos = o.FieldPos(name)
	} else {
		for _, obj := range []string{"die", "link", "kernel", "cluster"} {
			if c := o.Child(&jsonpos.Errs{}, obj); c != nil && c.Fields[name] != nil {
				pos, field = c.FieldPos(name), obj+"."+name
			}
		}
	}
	e.Add(pos, field, "unknown field (see wafer.schema.json)")
	return e.Err()
}

// requiredFields lists the fields a wafer file must give (wafer.schema.json),
// by object: "" for the top level.
var requiredFields = []struct {
	object string
	keys   []string
}{
	{"", []string{"rows", "cols", "die", "link", "hbm_pj_per_bit", "sram_pj_per_bit", "tflops_per_watt", "kernel"}},
	{"die", []string{"peak_tflops", "hbm_gb", "hbm_tbps", "sram_mb", "dma_engines", "static_w"}},
	{"link", []string{"bandwidth_tbps", "latency_ns", "pj_per_bit", "static_w"}},
	{"kernel", []string{"gemm_efficiency", "attention_efficiency", "array_tile", "gemm_sram_fraction"}},
	{"cluster", []string{"wafers", "edge_tbps", "latency_ns", "pj_per_bit", "static_w"}},
}

// checkRequired reports the required fields that are missing or null
// (which would otherwise read as zero).
func checkRequired(e *jsonpos.Errs, o *jsonpos.Object) {
	for _, r := range requiredFields {
		if r.object == "cluster" && !o.Has("cluster") {
			continue // optional: absent, the file describes one wafer
		}
		obj, prefix := o, ""
		if r.object != "" {
			if obj = o.Child(e, r.object); obj == nil {
				continue // reported at the top level
			}
			prefix = r.object + "."
		}
		for _, k := range r.keys {
			if !obj.Has(k) {
				e.Add(obj.Pos, prefix+k, "required field is missing")
			}
		}
	}
}

// coords converts the dead dies and links of j, reporting coordinates that
// are not [row, col] pairs and links that are not pairs of coordinates.
func coords(e *jsonpos.Errs, w *where, j *jsonSpec) ([]Coord, []DeadLink) {
	n := 0
	var last jsonpos.Pos // of the last problem reported, where the count of the rest goes
	bad := func(key string, i int, format string, args ...any) {
		if n++; n <= maxFaultProblems {
			last = w.element(key, i)
			e.Add(last, fmt.Sprintf("%s[%d]", key, i), format, args...)
		}
	}
	defer func() {
		if n > maxFaultProblems {
			e.Add(last, "", "and %d more malformed faults", n-maxFaultProblems)
		}
	}()
	var dies []Coord
	for i, d := range j.DeadDies {
		if len(d) != 2 {
			bad("dead_dies", i, "want a [row, col] pair, got %v", d)
			continue
		}
		dies = append(dies, Coord{d[0], d[1]})
	}
	var links []DeadLink
	for i, l := range j.DeadLinks {
		if len(l) != 2 || len(l[0]) != 2 || len(l[1]) != 2 {
			bad("dead_links", i, "want a pair of [row, col] pairs, got %v", l)
			continue
		}
		links = append(links, DeadLink{Coord{l[0][0], l[0][1]}, Coord{l[1][0], l[1][1]}})
	}
	return dies, links
}

// where finds positions in a wafer file, decoding each list once (a file
// may list a million faults).
type where struct {
	o     *jsonpos.Object
	elems map[string][]jsonpos.Pos
}

// problem is where p is in the file, and the field to name in the message
// when p's message does not (an element of a list).
func (w *where) problem(p problem) (jsonpos.Pos, string) {
	if p.field == "" {
		return jsonpos.Pos{}, "" // the whole file
	}
	if obj, key, ok := strings.Cut(p.field, "."); ok {
		if c := w.o.Child(&jsonpos.Errs{}, obj); c != nil {
			return c.FieldPos(key), ""
		}
		return w.o.FieldPos(obj), ""
	}
	if p.elem >= 0 {
		return w.element(p.field, p.elem), fmt.Sprintf("%s[%d]", p.field, p.elem)
	}
	return w.o.FieldPos(p.field), ""
}

// element is the position of element i of the array under key, or of key
// when there is no such element.
func (w *where) element(key string, i int) jsonpos.Pos {
	ps, ok := w.elems[key]
	if !ok {
		ps = elements(w.o, key)
		w.elems[key] = ps
	}
	if i < len(ps) {
		return ps[i]
	}
	return w.o.FieldPos(key)
}

// elements lists the positions of the elements of the array under key.
func elements(o *jsonpos.Object, key string) []jsonpos.Pos {
	f, ok := o.Fields[key]
	if !ok {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(f.Raw))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var ps []jsonpos.Pos
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		// The element ends at the offset and starts len(raw) before.
		ps = append(ps, o.Src.Pos(f.At+dec.InputOffset()-int64(len(raw))))
	}
	return ps
}

// MaxFileBytes bounds the wafer files Load reads (64 MiB). The largest
// wafer a file may describe, 256×256 dies, written by WriteJSON with 90%
// of its dies and links dead (tempc wafer --die-rate 0.9 --link-rate 0.9
// --json) is 13 MB; every die and link dead, about 16 MB. The bound is four
// times that, and keeps a device or a wrong file (/dev/zero, a model's
// weights) from being read into memory whole.
const MaxFileBytes = 64 << 20

// Load returns the preset called name, or reads the wafer file at that path
// (a regular file or a pipe of at most MaxFileBytes; a directory or device
// is refused before reading): a name the user gave.
func Load(name string) (*Spec, error) { return load(name, fileio.AllowPipes) }

// LoadNamed is Load for a name read out of another file (a plan's wafer):
// a pipe or FIFO there is refused, since nobody stands ready to write it.
func LoadNamed(name string) (*Spec, error) { return load(name, fileio.RegularOnly) }

func load(name string, kind fileio.Kind) (*Spec, error) {
	if s, ok := Preset(name); ok {
		return s, nil
	}
	data, err := fileio.Read(name, MaxFileBytes, kind, "wafer file")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(name, `/\.`) {
			return nil, fmt.Errorf("wafer: unknown wafer %q: not a preset (%s) nor a file", name, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("wafer: %w", err)
	}
	return ReadJSON(name, data)
}

// WriteJSON writes s in the wafer file format, each fault once (the file
// format rejects repeats; a Spec may carry them). A joined Spec (with a
// Seam) is refused: the file format describes a cluster by one wafer and
// its cluster object, and that file is what is stored.
func WriteJSON(w io.Writer, s *Spec) error {
	if s.Seam != nil {
		return fmt.Errorf("wafer: %s joins %d wafers into one mesh, which a wafer file cannot hold: write the cluster's wafer file (one wafer and its cluster object) instead", s.Name, s.Wafers())
	}
	j := jsonSpec{SchemaVersion: SchemaVersion, Name: s.Name, Rows: s.Rows, Cols: s.Cols,
		Die: jsonDie{PeakTFLOPS: s.Die.PeakFLOPS / tera, HBMGB: s.Die.HBMBytes / giga, HBMTBps: s.Die.HBMBandwidth / tera,
			SRAMMB: s.Die.SRAMBytes / mega, DMAEngines: s.Die.DMAEngines, StaticW: s.Die.StaticWatts},
		Link: jsonLink{BandwidthTBps: s.Link.Bandwidth / tera, LatencyNs: toNano(s.Link.Latency), PJPerBit: toPico(s.Link.JoulesPerBit),
			StaticW: s.Link.StaticWatts},
		HBMPJPerBit: toPico(s.HBMJoulesPerBit), SRAMPJPerBit: toPico(s.SRAMJoulesPerBit), TFLOPSPerWatt: s.FLOPSPerWatt / tera,
		Kernel: jsonKernel{GEMMEfficiency: s.Kernel.GEMMEfficiency, AttentionEfficiency: s.Kernel.AttentionEfficiency,
			ArrayTile: s.Kernel.ArrayTile, GEMMSRAMFraction: s.Kernel.GEMMSRAMFraction},
		DeadDies: [][]int{}, DeadLinks: [][][]int{}}
	if c := s.Cluster; c != nil {
		j.Cluster = &jsonCluster{Wafers: c.Wafers, EdgeTBps: c.EdgeBandwidth / tera, LatencyNs: toNano(c.Latency),
			PJPerBit: toPico(c.JoulesPerBit), StaticW: c.StaticWatts}
	}
	seenDie := map[Coord]bool{}
	for _, d := range s.DeadDies {
		if !seenDie[d] {
			seenDie[d] = true
			j.DeadDies = append(j.DeadDies, []int{d.R, d.C})
		}
	}
	seenLink := map[DeadLink]bool{}
	for _, l := range s.DeadLinks {
		if !seenLink[l] {
			seenLink[l], seenLink[DeadLink{l.B, l.A}] = true, true
			j.DeadLinks = append(j.DeadLinks, [][]int{{l.A.R, l.A.C}, {l.B.R, l.B.C}})
		}
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&j); err != nil {
		return err
	}
	return bw.Flush()
}
