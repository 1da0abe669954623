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

	"tempc/internal/jsonpos"
)

// SchemaVersion is the version of the wafer file format written by
// WriteJSON and read by ReadJSON (wafer.schema.json).
const SchemaVersion = 1

type jsonSpec struct {
	SchemaVersion int         `json:"schema_version"`
	Name          string      `json:"name"`
	Rows          int         `json:"rows"`
	Cols          int         `json:"cols"`
	Die           jsonDie     `json:"die"`
	Link          jsonLink    `json:"link"`
	HBMPJPerBit   float64     `json:"hbm_pj_per_bit"`
	TFLOPSPerWatt float64     `json:"tflops_per_watt"`
	DeadDies      [][2]int    `json:"dead_dies"`
	DeadLinks     [][2][2]int `json:"dead_links"`
}

type jsonDie struct {
	PeakTFLOPS float64 `json:"peak_tflops"`
	HBMGB      float64 `json:"hbm_gb"`
	HBMTBps    float64 `json:"hbm_tbps"`
	SRAMMB     float64 `json:"sram_mb"`
	DMAEngines int     `json:"dma_engines"`
}

type jsonLink struct {
	BandwidthTBps float64 `json:"bandwidth_tbps"`
	LatencyNs     float64 `json:"latency_ns"`
	PJPerBit      float64 `json:"pj_per_bit"`
}

// ReadJSON parses a wafer file and validates it. Malformed JSON, unknown
// fields and wrong types are reported with their file position; invalid
// values with the field, die or link at fault.
func ReadJSON(file string, data []byte) (*Spec, error) {
	o, perr := jsonpos.Parse(file, data)
	if perr != nil {
		return nil, fmt.Errorf("wafer: %w", jsonpos.ErrorList{perr})
	}
	var j jsonSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("wafer: %w", jsonpos.ErrorList{o.Src.SyntaxError(err, 0)})
	}
	e := &jsonpos.Errs{File: file, Prefix: "wafer"}
	if j.SchemaVersion != SchemaVersion {
		e.Add(o.FieldPos("schema_version"), "schema_version", "unsupported version %d (this tempc reads %d)", j.SchemaVersion, SchemaVersion)
		return nil, e.Err()
	}
	s := &Spec{Name: j.Name, Rows: j.Rows, Cols: j.Cols,
		Die: Die{PeakFLOPS: j.Die.PeakTFLOPS * tera, HBMBytes: j.Die.HBMGB * giga, HBMBandwidth: j.Die.HBMTBps * tera,
			SRAMBytes: j.Die.SRAMMB * mega, DMAEngines: j.Die.DMAEngines},
		Link:            Link{Bandwidth: j.Link.BandwidthTBps * tera, Latency: fromNano(j.Link.LatencyNs), JoulesPerBit: fromPico(j.Link.PJPerBit)},
		HBMJoulesPerBit: fromPico(j.HBMPJPerBit), FLOPSPerWatt: j.TFLOPSPerWatt * tera}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(file, ".json")
	}
	for _, d := range j.DeadDies {
		s.DeadDies = append(s.DeadDies, Coord{d[0], d[1]})
	}
	for _, l := range j.DeadLinks {
		s.DeadLinks = append(s.DeadLinks, DeadLink{Coord{l[0][0], l[0][1]}, Coord{l[1][0], l[1][1]}})
	}
	if err := s.Validate(); err != nil {
		// Validation errors name the field or die; place them at the file.
		for _, one := range unjoin(err) {
			e.Add(jsonpos.Pos{File: file}, "", "%s", strings.TrimPrefix(one.Error(), "wafer "+s.Name+": "))
		}
		return nil, e.Err()
	}
	return s, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Load returns the preset called name, or reads the wafer file at that path.
func Load(name string) (*Spec, error) {
	if s, ok := Preset(name); ok {
		return s, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(name, `/\.`) {
			return nil, fmt.Errorf("wafer: unknown wafer %q: not a preset (%s) nor a file", name, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("wafer: %w", err)
	}
	return ReadJSON(name, data)
}

// WriteJSON writes s in the wafer file format.
func WriteJSON(w io.Writer, s *Spec) error {
	j := jsonSpec{SchemaVersion: SchemaVersion, Name: s.Name, Rows: s.Rows, Cols: s.Cols,
		Die: jsonDie{PeakTFLOPS: s.Die.PeakFLOPS / tera, HBMGB: s.Die.HBMBytes / giga, HBMTBps: s.Die.HBMBandwidth / tera,
			SRAMMB: s.Die.SRAMBytes / mega, DMAEngines: s.Die.DMAEngines},
		Link:        jsonLink{BandwidthTBps: s.Link.Bandwidth / tera, LatencyNs: toNano(s.Link.Latency), PJPerBit: toPico(s.Link.JoulesPerBit)},
		HBMPJPerBit: toPico(s.HBMJoulesPerBit), TFLOPSPerWatt: s.FLOPSPerWatt / tera,
		DeadDies: [][2]int{}, DeadLinks: [][2][2]int{}}
	for _, d := range s.DeadDies {
		j.DeadDies = append(j.DeadDies, [2]int{d.R, d.C})
	}
	for _, l := range s.DeadLinks {
		j.DeadLinks = append(j.DeadLinks, [2][2]int{{l.A.R, l.A.C}, {l.B.R, l.B.C}})
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&j); err != nil {
		return err
	}
	return bw.Flush()
}
