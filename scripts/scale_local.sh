#!/usr/bin/env bash
# scale_local.sh runs the job-engine examples on this machine: examples/k8s/'s
# Indexed Jobs (the shell command of each manifest's container, as N processes
# with JOB_COMPLETION_INDEX and GENTRI_SHARD_COUNT set as in its pods) and
# examples/slurm/'s array scripts (N processes with the SLURM_ARRAY_* variables
# of `sbatch --array=MIN-...`), then their merges, and checks that
#   - the union of the sharded sample folders is the unsharded folder, byte for byte;
#   - each merged eval record is the unsharded run's record, every figure to the
#     last digit (speed and hardware aside: timings are not reproducible).
# It prints each shard's wall time. Exit 0 when everything is identical.
#
# Environment (defaults in brackets):
#   GENTRI     the gentri binary [built from this checkout into the work folder]
#   CKPT       the checkpoint [a tiny VAE trained here for a few steps]
#   FEATURE_NET  the feature network [a tiny classifier trained here; "cache" = gentri's cached one]
#   N          shards [4]      SEEDS      eval seeds [0-199]     SAMPLE_SEEDS  sample seeds [0-249]
#   SLURM_MIN  the array's first task id [1]   PARALLEL  run the shards at once (1) or one by one (0) [1]
#   ENGINES    which examples to run [k8s slurm]
#   EVAL_FLAGS extra flags for the eval shards and the unsharded run [--iwae-k 0]
#   SAMPLE_FLAGS extra flags for the sample shards and the unsharded run []
#   WORK       where everything goes [a new temporary folder, removed on success]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
N=${N:-4}
SEEDS=${SEEDS:-0-199}
SAMPLE_SEEDS=${SAMPLE_SEEDS:-0-249}
SLURM_MIN=${SLURM_MIN:-1}
PARALLEL=${PARALLEL:-1}
EVAL_FLAGS=${EVAL_FLAGS:---iwae-k 0}
ENGINES=${ENGINES:-k8s slurm}
SAMPLE_FLAGS=${SAMPLE_FLAGS:-}
keep=${WORK:+1}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gentri-scale.XXXXXX")}
mkdir -p "$WORK/bin"
export GOFLAGS=${GOFLAGS:-}

say() { printf 'scale_local: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; say "work folder kept: $WORK"; exit 1; }

if [[ -z "${GENTRI:-}" ]]; then
	say "building gentri into $WORK/bin"
	go build -o "$WORK/bin/gentri" ./cmd/gentri
else
	ln -sf "$(cd "$(dirname "$GENTRI")" && pwd)/$(basename "$GENTRI")" "$WORK/bin/gentri"
fi
export PATH="$WORK/bin:$PATH" # the examples call plain `gentri`, as in their images

small=(--set data.subset=640 --set train.batch_size=32 --set train.checkpoint_every=1000 --set train.sample_every=1000 --quiet)
if [[ -z "${FEATURE_NET:-}" ]]; then
	say "training a tiny feature network"
	gentri train --model classifier --set model.channels=4 --set model.hidden=16 --set train.steps=20 "${small[@]}" --out "$WORK/cls"
	FEATURE_NET=$WORK/cls/ckpt-00000020.safetensors
fi
[[ "$FEATURE_NET" == cache ]] && FEATURE_NET=""
if [[ -z "${CKPT:-}" ]]; then
	say "training a tiny VAE"
	gentri train --model vae --set model.hidden=32 --set model.latent=4 --set train.steps=10 "${small[@]}" --out "$WORK/vae"
	CKPT=$WORK/vae/ckpt-00000010.safetensors
fi
export CKPT FEATURE_NET EVAL_FLAGS SAMPLE_FLAGS
ext=(${FEATURE_NET:+--extractor "$FEATURE_NET"})

# timed WHAT COMMAND... runs a command and prints its wall time.
timed() {
	local what=$1 t0=$EPOCHREALTIME
	shift
	"$@"
	awk -v a="$t0" -v b="$EPOCHREALTIME" -v w="$what" 'BEGIN {printf "scale_local: %s: %.1f s\n", w, b - a}' >&2
}

say "unsharded: sample --seeds $SAMPLE_SEEDS, eval --seeds $SEEDS"
# shellcheck disable=SC2086 # SAMPLE_FLAGS is a list of flags
timed "unsharded sample" gentri sample --checkpoint "$CKPT" --seeds "$SAMPLE_SEEDS" $SAMPLE_FLAGS --each "$WORK/whole/samples" --quiet
# shellcheck disable=SC2086 # EVAL_FLAGS is a list of flags
timed "unsharded eval" gentri eval --checkpoint "$CKPT" --seeds "$SEEDS" $EVAL_FLAGS "${ext[@]}" --json --quiet >"$WORK/whole/record.json"

# k8s_command prints the shell command of a manifest's container: the block
# scalar under `args:` (`- |`).
k8s_command() {
	awk '/^ *args:/ {a = 1; next}
		a && /^ *- \|/ {b = 1; match($0, /^ */); ind = RLENGTH; next}
		b {match($0, /^ */); if (NF && RLENGTH <= ind) exit; print}' "$1"
}

# shards ENGINE WHAT RUNNER... runs shard 0..N-1 of one job, RUNNER getting the
# shard's index as its last argument, at once or one by one, and prints each
# shard's wall time.
shards() {
	local engine=$1 what=$2
	shift 2
	local pids=() i
	for ((i = 0; i < N; i++)); do
		(
			t0=$EPOCHREALTIME
			"$@" "$i" >"$WORK/$engine/$what-$i.log" 2>&1 || { cat "$WORK/$engine/$what-$i.log" >&2; exit 1; }
			awk -v a="$t0" -v b="$EPOCHREALTIME" -v e="$engine" -v w="$what" -v i="$i" -v n="$N" \
				'BEGIN {printf "scale_local: %s %s shard %d/%d: %.1f s\n", e, w, i, n, b - a}' >&2
		) &
		pids+=($!)
		[[ "$PARALLEL" == 1 ]] || wait "${pids[-1]}" || fail "$engine $what shard $i"
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "$engine $what shard $i"
	done
}

k8s_pod() { # manifest seeds index: one pod of an Indexed Job
	env JOB_COMPLETION_INDEX="$3" GENTRI_SHARD_COUNT="$N" OUT="$WORK/k8s/eval" SEEDS="$2" SAMPLES="$WORK/k8s/samples" \
		sh -c "$(k8s_command "$1")"
}
slurm_task() { # script seeds index: one task of a job array submitted as --array=$SLURM_MIN-...
	env SLURM_ARRAY_JOB_ID=1 SLURM_ARRAY_TASK_ID=$((SLURM_MIN + $3)) SLURM_ARRAY_TASK_MIN="$SLURM_MIN" \
		SLURM_ARRAY_TASK_MAX=$((SLURM_MIN + N - 1)) SLURM_ARRAY_TASK_COUNT="$N" SLURM_ARRAY_TASK_STEP=1 \
		OUT="$WORK/slurm/eval" SEEDS="$2" SAMPLES="$WORK/slurm/samples" bash "$1"
}

# Each Indexed Job must tell its pods the number of completions.
for m in examples/k8s/sample-shards.yaml examples/k8s/eval-shards.yaml; do
	c=$(sed -n 's/^ *completions: *\([0-9]*\).*/\1/p' "$m")
	n=$(sed -n 's/.*name: GENTRI_SHARD_COUNT, value: "\([0-9]*\)".*/\1/p' "$m")
	[[ -n "$c" && "$c" == "$n" ]] || fail "$m: completions $c but GENTRI_SHARD_COUNT ${n:-unset}"
done

mkdir -p "$WORK/k8s" "$WORK/slurm"
if [[ " $ENGINES " == *" k8s "* ]]; then
	say "Kubernetes: $N pods of examples/k8s/sample-shards.yaml, then of eval-shards.yaml, then merge.yaml"
	shards k8s sample k8s_pod examples/k8s/sample-shards.yaml "$SAMPLE_SEEDS"
	shards k8s eval k8s_pod examples/k8s/eval-shards.yaml "$SEEDS"
	timed "k8s merge" env OUT="$WORK/k8s/eval" sh -c "$(k8s_command examples/k8s/merge.yaml)"
fi
if [[ " $ENGINES " == *" slurm "* ]]; then
	say "Slurm: $N tasks of examples/slurm/sample-shards.sbatch, then of eval-shards.sbatch, then merge.sbatch"
	shards slurm sample slurm_task examples/slurm/sample-shards.sbatch "$SAMPLE_SEEDS"
	shards slurm eval slurm_task examples/slurm/eval-shards.sbatch "$SEEDS"
	timed "slurm merge" env OUT="$WORK/slurm/eval" bash examples/slurm/merge.sbatch
fi

# without_timings prints a record's JSON, sorted, without speed and hardware.
without_timings() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
r.pop("speed", None); r.pop("hardware", None)
print(json.dumps(r, sort_keys=True, indent=1))' "$1"
}
without_timings "$WORK/whole/record.json" >"$WORK/whole/figures.json"
for engine in $ENGINES; do
	diff -r "$WORK/whole/samples" "$WORK/$engine/samples" >/dev/null ||
		fail "$engine: the union of the shards' samples differs from the unsharded folder (diff -r $WORK/whole/samples $WORK/$engine/samples)"
	without_timings "$WORK/$engine/eval/record.json" >"$WORK/$engine/figures.json"
	diff -u "$WORK/whole/figures.json" "$WORK/$engine/figures.json" >&2 ||
		fail "$engine: the merged record differs from the unsharded one"
	say "$engine: $(ls "$WORK/$engine/samples" | wc -l) samples identical; merged record = unsharded record ($(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("N=%d, FID %.6f, KID %.6f, precision %.4f, recall %.4f" % (r["n"], r["fid"], r["kid"], r["precision"], r["recall"]))' "$WORK/$engine/eval/record.json"))"
done
say "OK"
[[ -n "$keep" ]] || rm -rf "$WORK"
