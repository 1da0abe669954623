#!/usr/bin/env bash
# Throughput of gpt3-175b against the number of temp48 wafers (1 to 6), for
# TEMP (the temp mapper) and the canonical baselines as their users run them
# (megatron1, megatron3, fsdp with the sequential mapper), every point planned
# by `tempc pipeline` (predicted, not simulated). One JSON report per point in
# OUT (default docs/pipeline), the figure OUT/wafers.svg
# (scripts/pipeline-figure), then a Markdown table on stdout.
#
#   scripts/pipeline-sweep.sh [OUT]
#
# Needs bin/tempc (make build). Two points run at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/pipeline}
mkdir -p "$out"
point() { # name wafers args...
	local name=$1 n=$2
	shift 2
	bin/tempc pipeline --model gpt3-175b --wafer temp48 --wafers "$n" --seq 2048 --json "$@" >"$out/$name-$n.json" 2>"$out/$name-$n.err"
	[ -s "$out/$name-$n.err" ] || rm -f "$out/$name-$n.err"
}
for n in 1 2 3 4 5 6; do
	point temp "$n" &
	point megatron1 "$n" --baseline megatron1 --mapper smap
	wait
	point megatron3 "$n" --baseline megatron3 --mapper smap &
	point fsdp "$n" --baseline fsdp --mapper smap
	wait
done
go run ./scripts/pipeline-figure "$out"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
names = ["temp", "megatron1", "megatron3", "fsdp"]
print("| wafers | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for n in range(1, 7):
    row = []
    for name in names:
        f = os.path.join(out, f"{name}-{n}.json")
        try:
            d = json.load(open(f))
            row.append(f"{d['tokens_per_second']:.0f} tok/s ({d['step_seconds']:.3f} s, m={d['micro_batches']}, bubble {100*d['bubble']:.1f}%)")
        except (OSError, ValueError):
            row.append("does not fit" if os.path.exists(f.replace(".json", ".err")) else "not run")
    print(f"| {n} | " + " | ".join(row) + " |")
PY
