#!/usr/bin/env bash
# gpt3-175b on 2 × temp32 and on 2 × temp48 (TEMP against the canonical
# Megatron baselines), each pipeline lowered into one plan and replayed by
# the simulator (`tempc pipeline --simulate`). The micro-batch counts are
# those the predicted sweep chose (scripts/pipeline-sweep.sh), fixed here
# so that each point plans once. One JSON report per point in OUT (default
# docs/pipeline), named sim-*.json.
#
#   scripts/pipeline-sim.sh [OUT]
#
# Needs bin/tempc (make build). Points run one at a time: a replay of
# gpt3-175b's 96 layers over 4 and 6 micro-batches holds some 11 GB.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/pipeline}
mkdir -p "$out"
point() { # name args...
	local name=$1
	shift
	bin/tempc pipeline --model gpt3-175b --seq 2048 --simulate --json "$@" >"$out/sim-$name.json" 2>"$out/sim-$name.err"
	[ -s "$out/sim-$name.err" ] || rm -f "$out/sim-$name.err"
}
point temp-temp32x2 --wafer temp32 --wafers 2 --pipeline-micro-batches 16
point temp-temp48x2 --wafer temp48 --wafers 2 --pipeline-micro-batches 16
point megatron3-temp48x2 --wafer temp48 --wafers 2 --pipeline-micro-batches 32 --baseline megatron3 --mapper smap
point megatron1-temp48x2 --wafer temp48 --wafers 2 --pipeline-micro-batches 64 --baseline megatron1 --mapper smap
