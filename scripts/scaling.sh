#!/usr/bin/env bash
# scaling.sh (`make scaling`): how the DDPM's training step grows with the work, in gentri and in
# the PyTorch reference: step time and peak RSS against batch size and U-Net width, then the
# largest U-Net width that trains within a memory limit (4 GiB by default). Prints a markdown table
# (also written to .scaling/scaling.md; the raw logs go to .scaling/raw/).
#
# A point is one DDPM training step (forward, backward, Adam, EMA) on random images at batch B and
# base width C (the U-Net's channels are C, 2C, 4C; the default model is C = 16, B = 64): gentri's
# BenchmarkScalingDDPMStep (internal/models/scaling_bench_test.go) and bench/torch_scaling.py, each
# the median of SCALING_STEPS timed steps after SCALING_WARMUP untimed ones. Every point runs in its
# own process under /usr/bin/time -v, so its peak RSS is that point's alone; both sides get the same
# thread count, as in `make bench` (scripts/bench.sh).
#
# The width search runs at batch SCALING_SEARCH_BATCH: widths 8, 16, 32, ... double until one does
# not fit (its peak RSS is over the limit: a watchdog stops a process as soon as its RSS passes the
# limit, so a width that does not fit costs little), then halve the gap down to a multiple of 8.
# Peak RSS grows with the width, so the largest width that fits is where the search ends. A probe is
# one training step and no warm-up: the first step allocates everything a step holds (the op outputs'
# buffers, Adam's moments), so its peak is every later step's, and the widest probes take minutes a step.
#
# Environment:
#   SCALING_BATCHES       batch sizes of the table        (default: 16 64 256)
#   SCALING_WIDTHS        U-Net widths C of the table      (default: 16 32 64; multiples of 8)
#   SCALING_STEPS         timed steps a point              (default: 3)
#   SCALING_WARMUP        untimed steps before them        (default: 1)
#   SCALING_THREADS       threads for both sides           (default: 2)
#   SCALING_SIDES         which sides to run               (default: gentri torch)
#   SCALING_MAX_MB        a table point whose RSS passes this is stopped and shown as "> N"
#                         (default: 12288, so that the largest points cannot exhaust a small machine)
#   SCALING_SEARCH        1/0: run the width search        (default: 1)
#   SCALING_LIMIT_MB      the search's memory limit, MiB   (default: 4096)
#   SCALING_SEARCH_BATCH  the search's batch size          (default: 64)
#   SCALING_MAX_WIDTH     the widest U-Net searched        (default: 512)
#   OPENBLAS              1/0: build with -tags openblas; unset = when libopenblas is installed
#   PEER_PYTHON           PyTorch's Python                 (default: /usr/bin/python3)
#   PEER_OMP_WAIT_POLICY  OMP_WAIT_POLICY for PyTorch      (default: PASSIVE, as make bench)
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/openblas_core.sh
. scripts/openblas_core.sh

BATCHES=${SCALING_BATCHES:-16 64 256}
WIDTHS=${SCALING_WIDTHS:-16 32 64}
STEPS=${SCALING_STEPS:-3}
WARMUP=${SCALING_WARMUP:-1}
THREADS=${SCALING_THREADS:-2}
SIDES=${SCALING_SIDES:-gentri torch}
MAX_MB=${SCALING_MAX_MB:-12288}
SEARCH=${SCALING_SEARCH:-1}
LIMIT_MB=${SCALING_LIMIT_MB:-4096}
SEARCH_BATCH=${SCALING_SEARCH_BATCH:-64}
MAX_WIDTH=${SCALING_MAX_WIDTH:-512}
PEER_PY=${PEER_PYTHON:-/usr/bin/python3}
PEER_WAIT=${PEER_OMP_WAIT_POLICY-PASSIVE}
OUT=.scaling
RAW=$OUT/raw

die() { echo "scaling: $*" >&2; exit 2; }
whole() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2)); }
for b in $BATCHES $SEARCH_BATCH; do whole "$b" 1 || die "batch size $b: want a whole number of at least 1"; done
for w in $WIDTHS $MAX_WIDTH; do
	whole "$w" 8 && ((w % 8 == 0)) || die "U-Net width $w: want a multiple of 8 (its GroupNorm groups), at least 8"
done
for v in STEPS THREADS MAX_MB LIMIT_MB; do
	whole "${!v}" 1 || die "SCALING_$v=${!v}: want a whole number of at least 1"
done
whole "$WARMUP" 0 || die "SCALING_WARMUP=$WARMUP: want a whole number"
for s in $SIDES; do [[ $s == gentri || $s == torch ]] || die "SCALING_SIDES names $s; the sides are: gentri torch"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for the peak RSS: apt-get install -y time"
if [[ " $SIDES " == *" torch "* ]] && ! "$PEER_PY" -c 'import torch' 2>/dev/null; then
	die "$PEER_PY cannot import torch: install Debian's PyTorch (apt-get install -y python3-torch) or set SCALING_SIDES=gentri"
fi

export GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
export GOGC=${GOGC:-25} # the collector's setting the gentri command runs with (cmd/gentri/main.go)
if [[ -z ${OPENBLAS:-} ]] && ldconfig -p 2>/dev/null | grep 'libopenblas\.so ' >/dev/null; then OPENBLAS=1; fi
TAGS=()
[[ ${OPENBLAS:-} == 1 ]] && TAGS=(-tags openblas)

rm -rf "$RAW"
mkdir -p "$RAW"
if [[ " $SIDES " == *" gentri "* ]]; then
	echo "scaling: building the Go benchmark (${TAGS[*]:-no tags})"
	go test "${TAGS[@]}" -c -o "$RAW/models.test" ./internal/models
fi
# OpenBLAS's kernels, the same on both sides (scripts/openblas_core.sh).
share_openblas_core "$RAW/models.test" scaling

# run_point SIDE BATCH WIDTH STEPS WARMUP LIMIT_MB: runs one point in its own process, stopping it
# when its RSS passes LIMIT_MB, and sets ms, peak (MiB) and params; peak is ">LIMIT" for a stopped
# point and ms "failed" for one that failed otherwise.
run_point() {
	local side=$1 batch=$2 width=$3 steps=$4 warmup=$5 limit=$6
	local tag="$side-b$batch-w$width" cmd
	if [[ $side == gentri ]]; then
		cmd=(env GENTRI_SCALING_BATCH="$batch" GENTRI_SCALING_WIDTH="$width" GENTRI_SCALING_STEPS="$steps"
			GENTRI_SCALING_WARMUP="$warmup" "$RAW/models.test" -test.run '^$' -test.bench '^BenchmarkScalingDDPMStep$'
			-test.benchtime 1x)
	else
		cmd=(env OMP_WAIT_POLICY="$PEER_WAIT" "$PEER_PY" bench/torch_scaling.py --batch "$batch" --width "$width"
			--steps "$steps" --warmup "$warmup" --threads "$THREADS")
		[[ -n $PEER_WAIT ]] || cmd=("${cmd[@]:2}")
	fi
	/usr/bin/time -v -o "$RAW/time-$tag.txt" "${cmd[@]}" >"$RAW/$tag.txt" 2>&1 &
	local pid=$! child="" rss stopped=0
	while kill -0 "$pid" 2>/dev/null; do
		[[ -n $child ]] || child=$(pgrep -P "$pid" | head -1 || true)
		if [[ -n $child ]]; then
			rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
			if [[ -n $rss ]] && ((rss > limit * 1024)); then
				stopped=1
				kill "$child" 2>/dev/null || true
			fi
		fi
		sleep 0.2
	done
	wait "$pid" || true
	local kb
	kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$RAW/time-$tag.txt" 2>/dev/null || true)
	params=""
	if ((stopped)) || { [[ -n $kb ]] && ((kb > limit * 1024)); }; then
		ms="-" peak=">$limit"
		return
	fi
	peak=$(((kb + 512) / 1024))
	if [[ $side == gentri ]]; then
		ms=$(awk '/^BenchmarkScalingDDPMStep/ {for (i = 1; i < NF; i++) if ($(i + 1) == "ms/step") print $i}' "$RAW/$tag.txt")
		params=$(awk '/^BenchmarkScalingDDPMStep/ {for (i = 1; i < NF; i++) if ($(i + 1) == "params") print $i}' "$RAW/$tag.txt")
	else
		ms=$(sed -n 's/.*"ms": \([0-9.]*\).*/\1/p' "$RAW/$tag.txt")
		params=$(sed -n 's/.*"params": \([0-9]*\).*/\1/p' "$RAW/$tag.txt")
	fi
	if [[ -z $ms ]]; then
		echo "scaling: $side at batch $batch, width $width failed; see $RAW/$tag.txt" >&2
		ms="failed"
	else
		ms=$(printf '%.0f' "$ms")
	fi
}

ratio() { # ratio A B: A/B to two decimals, or "-" when either is not a number
	if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]] && (($2 > 0)); then
		awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
	else
		echo "-"
	fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)
declare -A MS PEAK PARAMS
for b in $BATCHES; do
	for w in $WIDTHS; do
		for s in $SIDES; do
			run_point "$s" "$b" "$w" "$STEPS" "$WARMUP" "$MAX_MB"
			MS[$s,$b,$w]=$ms PEAK[$s,$b,$w]=$peak
			[[ -z $params ]] || PARAMS[$b,$w]=$params
			echo "scaling: $s batch $b width $w: $ms ms/step, peak $peak MiB"
		done
	done
done

# fits SIDE WIDTH: whether a training step at the search batch stays within the limit (a table
# point of the same batch and width counts when it was measured).
declare -A FIT_PEAK
fits() {
	local side=$1 width=$2 p=${PEAK[$1,$SEARCH_BATCH,$2]:-}
	if [[ -z $p ]]; then
		run_point "$side" "$SEARCH_BATCH" "$width" 1 0 "$LIMIT_MB"
		p=$peak
		echo "scaling: search, $side width $width: peak $p MiB" >&2
	fi
	FIT_PEAK[$side,$width]=$p
	[[ $p =~ ^[0-9]+$ ]] && ((p <= LIMIT_MB))
}

declare -A LARGEST
if ((SEARCH)); then
	for s in $SIDES; do
		lo=0 hi=0 w=8
		while ((w <= MAX_WIDTH)); do
			if fits "$s" "$w"; then lo=$w; else hi=$w; break; fi
			w=$((w * 2))
		done
		while ((hi > 0 && hi - lo > 8)); do
			mid=$(((lo + hi) / 16 * 8))
			if fits "$s" "$mid"; then lo=$mid; else hi=$mid; fi
		done
		if ((lo == 0)); then
			LARGEST[$s]="none: width 8 needs ${FIT_PEAK[$s,8]} MiB"
		elif ((hi == 0)); then
			LARGEST[$s]="at least $lo (peak ${FIT_PEAK[$s,$lo]} MiB; the search stops at SCALING_MAX_WIDTH=$MAX_WIDTH)"
		else
			LARGEST[$s]="$lo (peak ${FIT_PEAK[$s,$lo]} MiB; width $hi: ${FIT_PEAK[$s,$hi]} MiB)"
		fi
	done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)

{
	echo "| batch | width C | parameters | gentri ms/step | PyTorch ms/step | time ratio | gentri peak MiB | PyTorch peak MiB | memory ratio |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for b in $BATCHES; do
		for w in $WIDTHS; do
			gm=${MS[gentri,$b,$w]:-n/a} tm=${MS[torch,$b,$w]:-n/a} gp=${PEAK[gentri,$b,$w]:-n/a} tp=${PEAK[torch,$b,$w]:-n/a}
			echo "| $b | $w | ${PARAMS[$b,$w]:-} | $gm | $tm | $(ratio "$gm" "$tm") | $gp | $tp | $(ratio "$gp" "$tp") |"
		done
	done
	echo
	if ((SEARCH)); then
		for s in $SIDES; do
			echo "Largest U-Net width C (a multiple of 8) whose training step at batch $SEARCH_BATCH stays within $LIMIT_MB MiB, $s: ${LARGEST[$s]}."
		done
		echo
	fi
	echo "DDPM training step, median of $STEPS timed steps after $WARMUP untimed; $THREADS threads a side" \
		"(GOMAXPROCS, OMP/OpenBLAS threads), GOGC=$GOGC, build: ${TAGS[*]:-no tags}; cpu: $(nproc) cores;" \
		"load avg before/after: $load_before / $load_after."
} | tee "$OUT/scaling.md"
echo "scaling: took $((SECONDS / 60)) min $((SECONDS % 60)) s; wrote $OUT/scaling.md"
