package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/tempc/tempc/internal/fileio"
)

// BytesPerTask is the memory a replay takes per task of its expanded
// program: the expansion, the simulator's state and its per-task results,
// with the garbage collector's headroom. Measured with runtime.MemStats
// (HeapSys before and after plan.Expand and Run, the plan read first): 802
// B a task on gpt2 on mesh4x4 (46,993 tasks, batch 16, sequence 512), 917
// on its three-stage pipeline on three mesh4x4 wafers (109,685 tasks);
// mt-nlg-530b's replay on six temp48 wafers held 21.4 GB. The figure
// rounds the larger up.
const BytesPerTask = 1000

// Memory is how much more memory the process may take: Bytes, and the
// bound that sets it (Source, e.g. "cgroup memory.max 2.00 GB less 1.20
// GB in use"). Bytes < 0: no bound is known.
type Memory struct {
	Bytes  int64
	Source string
}

// AvailableMemory is the smallest of what the process may still take
// under its cgroup (v2 memory.max less memory.current), what the system
// has (/proc/meminfo MemAvailable) and its address-space limit
// (RLIMIT_AS less the address space it uses: /proc/self/status VmSize
// but the Go heap's idle spans).
// A bound it cannot read counts as none.
func AvailableMemory() Memory {
	m := Memory{Bytes: -1}
	take := func(b int64, source string) {
		if b >= 0 && (m.Bytes < 0 || b < m.Bytes) {
			m = Memory{Bytes: b, Source: source}
		}
	}
	if max, ok := readInt("/sys/fs/cgroup/memory.max"); ok {
		if cur, ok := readInt("/sys/fs/cgroup/memory.current"); ok {
			take(max-cur, fmt.Sprintf("cgroup memory.max %s less %s in use", fileio.Bytes(max), fileio.Bytes(cur)))
		}
	}
	if kb, ok := procField("/proc/meminfo", "MemAvailable:"); ok {
		take(kb*1024, "MemAvailable in /proc/meminfo")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err == nil && rl.Cur < math.MaxInt64 {
		if kb, ok := procField("/proc/self/status", "VmSize:"); ok {
			// The Go heap's idle spans are mapped, so counted in VmSize,
			// but free for the replay to take.
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			used := kb*1024 - int64(ms.HeapIdle)
			take(int64(rl.Cur)-used, fmt.Sprintf("the address-space limit (ulimit -v) %s less %s in use", fileio.Bytes(int64(rl.Cur)), fileio.Bytes(used)))
		}
	}
	return m
}

// readInt reads a file holding one integer ("max" is none).
func readInt(path string) (int64, bool) {
	data, err := fileio.Read(path, 64, fileio.RegularOnly, "memory figure")
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return v, err == nil
}

// procField reads the kB figure of a "Name:   123 kB" line.
func procField(path, name string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte(name)); ok {
			fs := strings.Fields(string(rest))
			if len(fs) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(fs[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// MemoryError is a replay refused because it would not fit in memory.
type MemoryError struct {
	// What names the replays ("the step's 3 replays"), Tasks their
	// expanded tasks, Need the estimate (Tasks·BytesPerTask + Headroom).
	What  string
	Tasks int64
	Need  int64
	Have  Memory
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("sim: %s would hold %d tasks and need about %s (%d B a task and %s besides), more than the %s this process may still take (%s); "+
		"replay a shortened step rather than the full one, fewer micro-batches, or with more memory",
		e.What, e.Tasks, fileio.Bytes(e.Need), BytesPerTask, fileio.Bytes(Headroom), fileio.Bytes(e.Have.Bytes), e.Have.Source)
}

// memory is the memory a replay may take, by cfg.Memory or
// AvailableMemory.
func (cfg StepConfig) memory() Memory {
	if cfg.Memory != nil {
		return cfg.Memory()
	}
	return AvailableMemory()
}

// Headroom is the memory a replay needs besides its tasks': the threads
// that run it (a cgo binary's each reserve an 8 MB stack) and the
// runtime's own growth. Under ulimit -v a gpt2 pipeline replay of 110 MB
// estimated, with 125 MB left, failed to start a thread.
const Headroom = 128 << 20

// fitMemory refuses replays of tasks tasks that would not fit, with
// Headroom, in have.
func fitMemory(what string, tasks int64, have Memory) error {
	need := float64(tasks)*BytesPerTask + Headroom
	if have.Bytes >= 0 && need > float64(have.Bytes) {
		return &MemoryError{What: what, Tasks: tasks, Need: int64(min(need, math.MaxInt64)), Have: have}
	}
	return nil
}
