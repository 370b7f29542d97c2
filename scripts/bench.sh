#!/usr/bin/env bash
# bench.sh (`make bench`): times gentri's default models against the same models in PyTorch on the
# CPU.
#
# Each round runs the Go benchmarks (internal/models/bench_test.go) once, then the PyTorch reference
# (bench/torch_reference.py; PEER_* below are its settings) once, so both see the same machine
# load; the table shows the medians over all rounds. Both sides measure alike: three untimed warm-up
# runs, then the median of the timed ones (BENCH_TIME on gentri's side, PEER_STEPS on PyTorch's).
# Both are pinned to the same thread count, and each model runs in its own process on each side, so
# the peak-RSS rows compare one model with one model. Results go to
# .bench/bench.json (with the raw logs under .bench/raw/).
#
# Environment:
#   BENCH_MODELS   models to time, lower case              (default: vae cgan ddpm)
#   BENCH_ROUNDS   alternating Go/peer rounds              (default: 3)
#   BENCH_COUNT    go test -count per round                (default: 1)
#   BENCH_TIME     go test -benchtime                      (default: 5x)
#   PEER_STEPS     PyTorch's timed steps per measurement   (default: 5)
#   BENCH_THREADS  threads for both sides                  (default: 2)
#   OPENBLAS       1/0: build with -tags openblas; unset = when libopenblas is installed (as make)
#   PEER_OMP_WAIT_POLICY  OMP_WAIT_POLICY for PyTorch       (default: PASSIVE; empty = libgomp's
#                  default, whose spinning threads make torch 3-10x slower and erratic on a busy CPU)
#   GENTRI_PEER    the PyTorch script   (default: bench/torch_reference.py; another script must take
#                  the same arguments, MODEL --threads N --steps N, and print the same JSON lines)
#   PEER_PYTHON    its Python           (default: /usr/bin/python3, i.e. Debian's python3-torch)
set -euo pipefail

cd "$(dirname "$0")/.."

MODELS=${BENCH_MODELS:-vae cgan ddpm}
ROUNDS=${BENCH_ROUNDS:-3}
COUNT=${BENCH_COUNT:-1}
BENCHTIME=${BENCH_TIME:-5x}
PEER_STEPS=${PEER_STEPS:-5}
THREADS=${BENCH_THREADS:-2}
PEER=${GENTRI_PEER:-bench/torch_reference.py}
PEER_PY=${PEER_PYTHON:-/usr/bin/python3}
PEER_WAIT=${PEER_OMP_WAIT_POLICY-PASSIVE}
PY=$(command -v python3 || echo /usr/bin/python3)   # any Python 3 formats the table
OUT=.bench
RAW=$OUT/raw

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

# Go benchmark names are Benchmark<MODEL>..., the PyTorch script's subcommands <model>.
bench_re="^Benchmark($(echo "$MODELS" | tr '[:lower:]' '[:upper:]' | tr ' ' '|'))"

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
		echo "bench: round $i/$ROUNDS: go $m (-benchtime $BENCHTIME -count $COUNT)"
		timed "$RAW/time-go-$i-$m.txt" "$RAW/models.test" -test.run '^$' \
			-test.bench "^Benchmark$(echo "$m" | tr '[:lower:]' '[:upper:]')" \
			-test.benchtime "$BENCHTIME" -test.count "$COUNT" >"$RAW/go-$i-$m.txt" ||
			{ cat "$RAW/go-$i-$m.txt"; echo "bench: the Go benchmarks failed" >&2; exit 1; }
		grep '^Benchmark' "$RAW/go-$i-$m.txt" | sed 's/^/  /' || true
	done
	if ((peer_ok)); then
		for m in $MODELS; do
			echo "bench: round $i/$ROUNDS: pytorch $m"
			timed "$RAW/time-peer-$i-$m.txt" env "${peer_env[@]}" "$PEER_PY" "$PEER" "$m" --threads "$THREADS" --steps "$PEER_STEPS" \
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
	go_version="$(go env GOVERSION)" rounds="$ROUNDS" go_count="$COUNT" go_benchtime="$BENCHTIME" \
	peer_steps="$PEER_STEPS" peer_script="$PEER" torch_version="${torch_version:-}" \
	peer_omp_wait_policy="$PEER_WAIT" peer_skipped="$peer_why" loadavg_before="$load_before" loadavg_after="$load_after" \
	models="$MODELS" gogc="$GOGC"
echo
peer_desc="skipped"
((peer_ok)) && peer_desc="torch $torch_version, $THREADS threads, OMP_WAIT_POLICY=${PEER_WAIT:-default}"
echo "gentri: kernels $kernels; blas $blas; GOMAXPROCS=$GOMAXPROCS; PyTorch: $peer_desc; medians of $ROUNDS rounds;" \
	"cpu: ${cpu:-unknown}; load avg before/after: $load_before / $load_after"
[[ -x /usr/bin/time ]] || echo "peak RSS: n/a (/usr/bin/time not installed: apt-get install -y time)"
((peer_ok)) || echo "PyTorch skipped: $peer_why"
echo "bench: wrote $OUT/bench.json"
