package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// edit decodes a plan's JSON into generic values, sets the value at path
// (keys and list indexes separated by dots) and encodes it again.
func edit(t *testing.T, data []byte, path string, v any) []byte {
	t.Helper()
	var root any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(path, ".")
	cur := root
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k] = v
			} else {
				cur = c[k]
			}
		case []any:
			j, err := strconv.Atoi(k)
			if err != nil || j >= len(c) {
				t.Fatalf("%s: no index %s", path, k)
			}
			if last {
				c[j] = v
			} else {
				cur = c[j]
			}
		default:
			t.Fatalf("%s: %s is not in a map or list", path, k)
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// task is the path of task i of the valid plan's loop block.
func task(i int, field string) string {
	return fmt.Sprintf("steps.0.body.0.program.tasks.%d.%s", i, field)
}

// TestReadVerifyAdversarial feeds malformed and adversarial plan files
// through ReadJSON and Verify: each ends in an error from the one or the
// other naming what is wrong — none panics, hangs or is accepted. The
// valid plan's loop block holds compute a (die 0, allocates 1000 bytes),
// send x to die 1 and its receive, compute b on die 1, compute c on die 0
// (frees the 1000 bytes); it runs 2×3 times.
func TestReadVerifyAdversarial(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, validPlan()); err != nil {
		t.Fatal(err)
	}
	valid := b.Bytes()
	set := func(path string, v any) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return edit(t, valid, path, v) }
	}
	raw := func(s string) func(t *testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	replace := func(old, new string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			if !bytes.Contains(valid, []byte(old)) {
				t.Fatalf("%q not in the plan", old)
			}
			return bytes.Replace(valid, []byte(old), []byte(new), 1)
		}
	}
	// nest puts a block in depth loops of count runs each, as the plan's
	// only step.
	nest := func(depth, count int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			i := bytes.LastIndex(valid, []byte(`"steps":`))
			var b bytes.Buffer
			b.Write(valid[:i])
			b.WriteString(`"steps":[`)
			for d := range depth {
				fmt.Fprintf(&b, `{"name":"l%d","count":%d,"body":[`, d, count)
			}
			b.WriteString(`{"name":"b","count":1,"program":{"tasks":[{"id":0,"kind":"compute","die":0,"flops":1,"op":"x"}]}}`)
			b.WriteString(strings.Repeat("]}", depth))
			b.WriteString("]}")
			return b.Bytes()
		}
	}
	many := func(n int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			var tasks []Task
			for i := range n {
				tasks = append(tasks, Task{ID: TaskID(i), Kind: Compute, Die: 0, FLOPs: 1, Op: "many", Block: n - 1 - i})
			}
			tasks[n-1].Block = n // block 0 missing
			js, _ := json.Marshal(tasks)
			return edit(t, valid, "steps.0.body.0.program.tasks", json.RawMessage(js))
		}
	}
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want string // in the error of ReadJSON or, if it reads, Verify; "": valid
	}{
		{"empty file", raw(""), "plan: "},
		{"truncated", func(t *testing.T) []byte { return valid[:len(valid)/2] }, "plan: "},
		{"a list", raw(`[]`), "adversarial.json:1:1: want a JSON object, got ["},
		{"NaN literal", replace(`"flops":1000000000`, `"flops":NaN`), "invalid character 'N'"},
		{"unknown field", replace(`"wafer":`, `"bogus":1,"wafer":`), `unknown field "bogus"`},
		{"data after the plan", func(t *testing.T) []byte { return append(append([]byte{}, valid...), valid...) }, "data after the plan"},
		{"count a string", set("steps.0.count", "2"), "steps.count: want int, got JSON string"},
		{"kind a number", set(task(0, "kind"), 0), "steps.body.program.tasks.kind: want plan.Kind, got JSON number"},
		{"unknown kind", set(task(0, "kind"), "teleport"), `unknown task kind "teleport"`},
		{"schema version 1", set("schema_version", 1), "schema_version 1 does not say which graph the plan was compiled from; recompile it"},
		{"schema version 2", set("schema_version", 2), "schema_version 2 does not say where data lives (SRAM or HBM); recompile it"},
		{"schema version 7", set("schema_version", 7), "schema_version 7, this tempc reads 4 to 6"},
		{"schema version 5 still read", set("schema_version", 5), ""},
		{"schema version 4 without records", set("schema_version", 4), ""},
		{"groups", set("groups", []any{[]any{0}, []any{1}}), ""},
		{"groups in another order", set("groups", []any{[]any{1}, []any{0}}), "groups list die 1 at position 0 (groups[0][0]) where dies lists 0"},
		{"groups of two sizes", set("groups", []any{[]any{0, 1}, []any{}}), "group 1 has 0 dies; every group must have group 0's 2"},
		{"groups missing a die", set("groups", []any{[]any{0}}), "the groups hold 1 dies, dies lists 2"},
		{"strategy without scheme", set("strategies", []any{map[string]any{"group": "g", "layers": 1}}), `strategies[0].scheme = "", want a scheme`},
		{"solver gap negative", set("solver", map[string]any{"name": "HiGHS", "status": "optimal", "objective": "time", "mip_gap": -1}), "plan: solver.mip_gap = -1, want ≥ 0"},
		{"schema version 3", set("schema_version", 3), "schema_version 3 puts a barrier between all blocks"},
		{"efficiency above 1", set("steps.0.body.0.program.tasks.0.efficiency", 1.5), "has efficiency 1.5"},
		{"sram bytes negative", set("steps.0.body.0.program.tasks.0.sram_bytes", -1), "has size -1"},
		{"count 1e30", set("steps.0.count", json.Number("1e30")), "steps.count: want int, got JSON number 1e30"},
		{"flops 1e999", set(task(0, "flops"), json.Number("1e999")), "tasks.flops: want float64, got JSON number 1e999"},
		{"alloc above int64", set(task(0, "alloc"), json.Number("10000000000000000000")), "tasks.alloc: want int64, got JSON number 10000000000000000000"},
		{"dep above int32", set(task(1, "deps"), []any{json.Number("4294967296")}), "tasks.deps: want plan.TaskID, got JSON number 4294967296"},
		{"nesting past the decoder's depth", nest(20000, 1), "exceeded max depth"},
		// Legal: a thousand loops of one run around one block (lower.CheckWork
		// rejects it against any graph).
		{"deep nesting", nest(1000, 1), ""},
		{"count 0", set("steps.0.count", 0), `plan: node "loop" runs 0 times`},
		{"count 1e18", set("steps.0.count", json.Number("1000000000000000000")), `plan: node "loop" runs 1000000000000000000 times`},
		{"counts overflowing with their loops", nest(4, 1<<16), `runs 4294967296 times per step with its loops`},
		{"forward dep", set(task(0, "deps"), []any{3}), `task 0 "a": depends on task 3; dependencies must be earlier tasks`},
		{"self dep", set(task(3, "deps"), []any{3}), `task 3 "b": depends on task 3`},
		{"negative dep", set(task(3, "deps"), []any{-1}), `depends on task -1`},
		{"ID not its index", set(task(0, "id"), 5), `task 0 "a": has ID 5`},
		{"negative bytes", set(task(1, "bytes"), -8), `task 1 "x": has negative bytes or memory -8`},
		{"negative alloc", set(task(0, "alloc"), -1), "has negative bytes or memory 0, -1/0/0"},
		{"negative seconds", set(task(0, "seconds"), -1), "has size -1; sizes must be finite and not negative"},
		{"flops on a send", set(task(1, "flops"), 1e15), `task 1 "x": is a send with FLOPs`},
		{"free of nothing, then 100 TB", func(t *testing.T) []byte {
			d := edit(t, valid, task(0, "alloc"), 0)
			d = edit(t, d, task(0, "free"), 1e14)
			return edit(t, d, task(4, "alloc"), 1e14)
		}, `task 0 "a": a buffer of 100000000000000 bytes (alloc/free/scratch 0/100000000000000/0), more than a die's`},
		{"free of nothing, then most of the memory", func(t *testing.T) []byte {
			d := edit(t, valid, task(0, "alloc"), 0)
			d = edit(t, d, task(0, "free"), 6e8)
			return edit(t, d, task(4, "alloc"), 9e8)
		}, `task 0 "a", run 1 of 2 of "loop", run 1 of 3 of "b": frees 600000000 bytes, more than the 0`},
		{"alloc of int64 max", set(task(0, "alloc"), json.Number("9223372036854775807")), `task 0 "a": a buffer of 9223372036854775807 bytes`},
		{"allocs summing past capacity", set(task(0, "alloc"), 4e8), "plan: die (0,0) holds 2.40 GB"}, // 6 runs
		{"message above memory", func(t *testing.T) []byte {
			return edit(t, edit(t, valid, task(1, "bytes"), 1e18), task(2, "bytes"), 1e18)
		}, `task 1 "x": moves 1000000000000000000 bytes, more than a die's`},
		{"die off the mesh", set(task(0, "die"), 99), `task 0 "a": runs on dead or missing die 99`},
		{"negative die", set(task(0, "die"), -1), "runs on dead or missing die -1"},
		{"listed die off the mesh", set("dies", []any{0, 16}), "plan: uses dead or missing die 16"},
		{"route off the mesh", set(task(1, "route"), []any{0, -1, 1}), "route passes dead or missing die"},
		{"route jumps", func(t *testing.T) []byte {
			d := edit(t, valid, task(1, "dst"), 5)
			d = edit(t, d, task(2, "die"), 5)
			d = edit(t, d, task(3, "die"), 5)
			return edit(t, d, task(1, "route"), []any{0, 5})
		}, "route hop 1 (0,0)→(1,1) is not between neighbours"},
		{"route from elsewhere", set(task(1, "route"), []any{4, 5, 1}), "does not join die 0 to die 1"},
		{"route in a loop", set(task(1, "route"), []any{0, 1, 0, 1}), "visits die (0,0) twice; a route is a path"},
		{"send to itself", func(t *testing.T) []byte {
			return edit(t, edit(t, valid, task(1, "dst"), 0), task(2, "die"), 0)
		}, "sends to itself"},
		{"tags mismatched", set(task(2, "tag"), 7), "receive of tag 7 from (0,0) has no matching send"},
		{"receive of another size", set(task(2, "bytes"), 5), "receive of 5 bytes from (0,0) does not match send task 1"},
		{"receive from another die", set(task(2, "peer"), 4), "does not match send task 1"},
		{"two sends, one tag", set(task(2, "kind"), "send"), "tag 1 already used by task 1"},
		{"a block computed twice", set(task(3, "block"), 0), "block 0 of op is already computed by task 0"},
		{"a block far out", set(task(3, "block"), 1<<30), "block 1 of op is never computed (2 blocks computed)"},
		{"100000 blocks, block 0 missing", many(100000), "block 0 of many is never computed (100000 blocks computed)"},
		{"program and body", set("steps.0.program", map[string]any{"tasks": []any{}}), `node "loop" must hold either a program or a body`},
		{"neither program nor body", set("steps.0.body", []any{}), `node "loop" must hold either a program or a body`},
		{"no steps", set("steps", []any{}), "plan: steps is empty"},
		{"steps null", set("steps", nil), "plan: steps is empty"},
		{"negative predicted step", set("predicted_step_seconds", -1), "predicted_step_seconds = -1, want ≥ 0"},
		{"capacity 0", set("capacity_bytes_per_die", 0), "capacity_bytes_per_die = 0, want a finite number > 0"},
		{"digest of another form", set("graph_sha256", strings.Repeat("A", 64)), "is not 64 lower-case hex digits"},
		{"seq negative", set("seq", -4), "plan: batch 8 and seq -4 must be positive"},
	}
	s := mesh(t)
	read, verified := 0, 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadJSON("adversarial.json", tc.data(t))
			if err == nil {
				read++
				if err = p.Verify(s); err == nil {
					verified++
				}
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid plan rejected: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatal("adversarial plan accepted")
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
	t.Logf("%d adversarial plans: %d refused by ReadJSON, %d by Verify, %d accepted", len(tests), len(tests)-read, read-verified, verified)
}
