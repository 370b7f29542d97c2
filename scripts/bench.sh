#!/usr/bin/env bash
# bench.sh (`make bench`): times gentri's default models against the same models in PyTorch on the
# CPU.
#
# Each round runs the Go benchmarks (internal/models/*bench_test.go) once, then the PyTorch reference
# (bench/torch_reference.py; PEER_* below are its settings) once, so both see the same machine
# load; the table shows the medians over all rounds. Both sides measure alike: three untimed warm-up
# runs, then the median of the timed ones (BENCH_TIME on gentri's side, PEER_STEPS on PyTorch's).
# Both are pinned to the same thread count, and each model runs in its own process on each side, so
# the peak-RSS rows compare one model with one model. Results go to
# .bench/bench.json (with the raw logs under .bench/raw/).
#
# The ddgan is the slow one: about 2.7 s a training step and 13 s for 1000 samples in Go on an idle
# 2-core machine, PyTorch alike. So that `make bench` stays a matter of minutes, it gets one timed run
# a round on each side (BENCH_TIME 1x, PEER_STEPS 1), after a shorter warm-up on both sides (one
# training step; one sampling batch of 100 images), and its medians are over the rounds; that adds
# about 20 s a round on each side (two steps and 1100 samples; at the other models' settings it would
# be 12 of each, 3 minutes a round in Go alone). BENCH_MODELS="vae cgan ddpm" leaves it out. The
# run's duration is printed at the end and stored in bench.json (elapsed_s).
#
# Environment:
#   BENCH_MODELS   models to time, lower case              (default: vae cgan ddpm ddgan)
#   BENCH_ROUNDS   alternating Go/peer rounds              (default: 3)
#   BENCH_COUNT    go test -count per round                (default: 1)
#   BENCH_TIME     go test -benchtime, for every model     (default: 5x; the ddgan 1x)
#   PEER_STEPS     PyTorch's timed steps per measurement,  (default: 5; the ddgan 1)
#                  for every model
#   BENCH_THREADS  threads for both sides                  (default: 2)
#   OPENBLAS       1/0: build with -tags openblas; unset = when libopenblas is installed (as make)
#   PEER_OMP_WAIT_POLICY  OMP_WAIT_POLICY for PyTorch       (default: PASSIVE; empty = libgomp's
#                  default, whose spinning threads make torch 3-10x slower and erratic on a busy CPU)
#   GENTRI_PEER    the PyTorch script   (default: bench/torch_reference.py; another script must take
#                  the same arguments, MODEL --threads N --steps N, and print the same JSON lines)
#   PEER_PYTHON    its Python           (default: /usr/bin/python3, i.e. Debian's python3-torch)
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/openblas_core.sh
. scripts/openblas_core.sh

KNOWN="vae cgan ddpm ddgan" # the models with Go benchmarks, torch_reference.py subcommands and table rows
MODELS=${BENCH_MODELS:-$KNOWN}
ROUNDS=${BENCH_ROUNDS:-3}
COUNT=${BENCH_COUNT:-1}
THREADS=${BENCH_THREADS:-2}
PEER=${GENTRI_PEER:-bench/torch_reference.py}
PEER_PY=${PEER_PYTHON:-/usr/bin/python3}
PEER_WAIT=${PEER_OMP_WAIT_POLICY-PASSIVE}
PY=$(command -v python3 || echo /usr/bin/python3)   # any Python 3 formats the table
OUT=.bench
RAW=$OUT/raw

for m in $MODELS; do
	[[ " $KNOWN " == *" $m "* ]] || { echo "bench: BENCH_MODELS names $m; the models are: $KNOWN" >&2; exit 2; }
done
[[ -n ${MODELS// /} ]] || { echo "bench: BENCH_MODELS is empty; the models are: $KNOWN" >&2; exit 2; }

# Timed runs a round, per model: BENCH_TIME and PEER_STEPS when set, else 5 (the ddgan 1: see above).
benchtime_of() { if [[ $1 == ddgan ]]; then echo "${BENCH_TIME:-1x}"; else echo "${BENCH_TIME:-5x}"; fi; }
peer_steps_of() { if [[ $1 == ddgan ]]; then echo "${PEER_STEPS:-1}"; else echo "${PEER_STEPS:-5}"; fi; }
per_model() { # per_model FUNC: "model:value ..." for the table's JSON
	local m out=()
	for m in $MODELS; do out+=("$m:$("$1" "$m")"); done
	echo "${out[*]}"
}

# Same thread count on both sides: GOMAXPROCS for gentri (whose kernels split work over goroutines
# and pin OpenBLAS to one thread), OpenMP/OpenBLAS threads for PyTorch.
export GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
# The collector's setting the gentri command runs with (cmd/gentri/main.go), unless GOGC is set.
export GOGC=${GOGC:-25}

# Build like the Makefile does: OpenBLAS when it is installed.
# (grep reads all of ldconfig's output: with grep -q under pipefail, ldconfig could die of SIGPIPE
# and the test fail, so that one run in a few silently timed the pure-Go build.)
if [[ -z ${OPENBLAS:-} ]] && ldconfig -p 2>/dev/null | grep 'libopenblas\.so ' >/dev/null; then OPENBLAS=1; fi
TAGS=()
if [[ ${OPENBLAS:-} == 1 ]]; then
	TAGS=(-tags openblas)
	export CGO_LDFLAGS=${CGO_LDFLAGS:--lopenblas} # harmless if internal/nn links it itself
fi

# Go benchmark names are Benchmark<MODEL><Measurement> (BenchmarkDDGANTrainStep), the PyTorch
# script's subcommands <model>; the capital after the model's name keeps a model's regexp from
# taking another's benchmarks (BenchmarkDDGAN2D... is not the ddgan's).
bench_re() { echo "^Benchmark$(echo "$1" | tr '[:lower:]' '[:upper:]')[A-Z]"; }

# /usr/bin/time -v gives the peak RSS; without it the figure is n/a.
timed() { # timed LOGFILE CMD...
	local log=$1
	shift
	if [[ -x /usr/bin/time ]]; then /usr/bin/time -v -o "$log" "$@"; else "$@"; fi
}

peer_ok=0
peer_why=""
if [[ ! -f $PEER ]]; then
	peer_why="peer script $PEER not found (set GENTRI_PEER)"
elif ! "$PEER_PY" -c 'import torch' 2>/dev/null; then
	peer_why="$PEER_PY cannot import torch; install Debian's PyTorch with: apt-get install -y python3-torch"
else
	peer_ok=1
	peer_env=()
	[[ -z $PEER_WAIT ]] || peer_env=(OMP_WAIT_POLICY="$PEER_WAIT")
	torch_version=$("$PEER_PY" -c 'import torch; print(torch.__version__)')
fi

rm -rf "$RAW"
mkdir -p "$RAW"

echo "bench: building the Go benchmarks (${TAGS[*]:-no tags})"
go test "${TAGS[@]}" -c -o "$RAW/models.test" ./internal/models
# OpenBLAS's kernels, the same on both sides (scripts/openblas_core.sh).
share_openblas_core "$RAW/models.test" bench
# The build timed, as gentri env names it: which kernels (C with cgo, pure Go without) and which BLAS.
env_json=$(go run "${TAGS[@]}" ./cmd/gentri env --json 2>/dev/null) || env_json='{}'
env_field() { "$PY" -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]) or sys.argv[2])' "$1" "$2" <<<"$env_json"; }
blas=$(env_field blas "unknown (gentri env failed)")
kernels=$(env_field kernels "unknown (gentri env failed)")
echo "bench: timing the build with kernels $kernels; blas $blas"

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)
for ((i = 1; i <= ROUNDS; i++)); do
	# One process per model on each side, so each peak RSS is that model's alone.
	for m in $MODELS; do
		echo "bench: round $i/$ROUNDS: go $m (-benchtime $(benchtime_of "$m") -count $COUNT)"
		timed "$RAW/time-go-$i-$m.txt" "$RAW/models.test" -test.run '^$' -test.bench "$(bench_re "$m")" \
			-test.benchtime "$(benchtime_of "$m")" -test.count "$COUNT" >"$RAW/go-$i-$m.txt" ||
			{ cat "$RAW/go-$i-$m.txt"; echo "bench: the Go benchmarks failed" >&2; exit 1; }
		grep '^Benchmark' "$RAW/go-$i-$m.txt" | sed 's/^/  /' || true
	done
	if ((peer_ok)); then
		for m in $MODELS; do
			echo "bench: round $i/$ROUNDS: pytorch $m (--steps $(peer_steps_of "$m"))"
			timed "$RAW/time-peer-$i-$m.txt" env "${peer_env[@]}" "$PEER_PY" "$PEER" "$m" --threads "$THREADS" --steps "$(peer_steps_of "$m")" \
				>>"$RAW/peer-$i.jsonl" 2>>"$RAW/peer-$i.err" || echo "bench: pytorch $m failed, see $RAW/peer-$i.err" >&2
		done
		sed 's/^/  /' "$RAW/peer-$i.jsonl"
	fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)

cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') || true
echo
"$PY" scripts/bench_table.py "$RAW" "$OUT/bench.json" \
	date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" cpu="${cpu:-unknown}" num_cpu="$(nproc)" \
	gomaxprocs="$GOMAXPROCS" peer_threads="$THREADS" blas="$blas" kernels="$kernels" build_tags="${TAGS[*]:-}" \
	go_version="$(go env GOVERSION)" rounds="$ROUNDS" go_count="$COUNT" go_benchtime="$(per_model benchtime_of)" \
	peer_steps="$(per_model peer_steps_of)" peer_script="$PEER" torch_version="${torch_version:-}" \
	peer_omp_wait_policy="$PEER_WAIT" peer_skipped="$peer_why" loadavg_before="$load_before" loadavg_after="$load_after" \
	models="$MODELS" gogc="$GOGC" elapsed_s="$SECONDS"
echo
peer_desc="skipped"
((peer_ok)) && peer_desc="torch $torch_version, $THREADS threads, OMP_WAIT_POLICY=${PEER_WAIT:-default}"
echo "gentri: kernels $kernels; blas $blas; GOMAXPROCS=$GOMAXPROCS; PyTorch: $peer_desc; medians of $ROUNDS rounds;" \
	"cpu: ${cpu:-unknown}; load avg before/after: $load_before / $load_after"
[[ -x /usr/bin/time ]] || echo "peak RSS: n/a (/usr/bin/time not installed: apt-get install -y time)"
((peer_ok)) || echo "PyTorch skipped: $peer_why"
echo "bench: took $((SECONDS / 60)) min $((SECONDS % 60)) s; wrote $OUT/bench.json"
