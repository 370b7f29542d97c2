#!/usr/bin/env bash
# sweep_local.sh runs the sweep examples on this machine: examples/k8s/sweep-train.yaml's command
# as N processes with JOB_COMPLETION_INDEX and GENTRI_SHARD_COUNT set as in its pods, then
# sweep-report.yaml's; examples/slurm/sweep.sbatch as N processes with the SLURM_ARRAY_* variables
# of `sbatch --array=MIN-...`, then sweep-report.sbatch. The sweep is a tiny one (a 2-D VAE, a few
# dozen steps a point, a 2x2 grid by default). It checks that
#   - `gentri report --sweep --json` sees every point, with no record missing;
#   - each engine's points are the same bytes as one process training the whole sweep
#     (a point's checkpoint depends on its config and seed alone);
#   - running a task again trains nothing (every point is finished, every record there).
# Exit 0 when all holds.
#
# Environment (defaults in brackets):
#   GENTRI   the gentri binary [built from this checkout into the work folder]
#   N        tasks [3: fewer than the points, so that one task runs two]
#   SLURM_MIN  the array's first task id [1]      ENGINES  which examples to run [k8s slurm]
#   STEPS    training steps a point [40]          SWEEP_FILE  the sweep to run [a tiny one written here]
#   WORK     where everything goes [a new temporary folder, removed on success]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3}
SLURM_MIN=${SLURM_MIN:-1}
ENGINES=${ENGINES:-k8s slurm}
STEPS=${STEPS:-40}
keep=${WORK:+1}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gentri-sweep.XXXXXX")}
mkdir -p "$WORK/bin"

say() { printf 'sweep_local: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; say "work folder kept: $WORK"; exit 1; }

if [[ -z "${GENTRI:-}" ]]; then
	say "building gentri into $WORK/bin"
	go build -o "$WORK/bin/gentri" ./cmd/gentri
else
	ln -sf "$(cd "$(dirname "$GENTRI")" && pwd)/$(basename "$GENTRI")" "$WORK/bin/gentri"
fi
export PATH="$WORK/bin:$PATH" # the examples call plain `gentri`, as in their images

# Each engine gets its own copy of the sweep file: the points go beside it.
if [[ -z "${SWEEP_FILE:-}" ]]; then
	SWEEP_FILE=$WORK/tiny.yaml
	cat >"$SWEEP_FILE" <<YAML
model: vae2d
set:
  train.steps: $STEPS
  train.checkpoint_every: $STEPS
  train.sample_every: $STEPS
grid:
  train.lr: [0.001, 0.002]
  model.hidden: [16, 32]
seeds: [1]
YAML
fi
grep -q '^out:' "$SWEEP_FILE" && fail "$SWEEP_FILE has an out: of its own; the engines' copies must put their points beside them"
for dir in whole $ENGINES; do
	mkdir -p "$WORK/$dir"
	cp "$SWEEP_FILE" "$WORK/$dir/sweep.yaml"
done
points=$(gentri train --sweep "$WORK/whole/sweep.yaml" --list | wc -l)

# k8s_command prints the shell command of a manifest's container: the block
# scalar under `args:` (`- |`).
k8s_command() {
	awk '/^ *args:/ {a = 1; next}
		a && /^ *- \|/ {b = 1; match($0, /^ */); ind = RLENGTH; next}
		b {match($0, /^ */); if (NF && RLENGTH <= ind) exit; print}' "$1"
}
# tasks ENGINE RUNNER... runs tasks 0..N-1 at once, RUNNER getting the task's index last.
tasks() {
	local engine=$1 pids=() i
	shift
	for ((i = 0; i < N; i++)); do
		("$@" "$i" >"$WORK/$engine/task-$i.log" 2>&1 || { cat "$WORK/$engine/task-$i.log" >&2; exit 1; }) &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "$engine task $i"
	done
}
k8s_pod() { # manifest index
	env JOB_COMPLETION_INDEX="$2" GENTRI_SHARD_COUNT="$N" SWEEP="$WORK/k8s/sweep.yaml" EVAL_FLAGS= \
		sh -c "$(k8s_command "$1")"
}
slurm_task() { # script index: one task of an array submitted as --array=$SLURM_MIN-...
	env SLURM_ARRAY_JOB_ID=1 SLURM_ARRAY_TASK_ID=$((SLURM_MIN + $2)) SLURM_ARRAY_TASK_MIN="$SLURM_MIN" \
		SLURM_ARRAY_TASK_MAX=$((SLURM_MIN + N - 1)) SLURM_ARRAY_TASK_COUNT="$N" SLURM_ARRAY_TASK_STEP=1 \
		SWEEP="$WORK/slurm/sweep.yaml" bash "$1"
}

c=$(sed -n 's/^ *completions: *\([0-9]*\).*/\1/p' examples/k8s/sweep-train.yaml)
n=$(sed -n 's/.*name: GENTRI_SHARD_COUNT, value: "\([0-9]*\)".*/\1/p' examples/k8s/sweep-train.yaml)
[[ -n "$c" && "$c" == "$n" ]] || fail "examples/k8s/sweep-train.yaml: completions $c but GENTRI_SHARD_COUNT ${n:-unset}"

say "one process: gentri train --sweep (all $points points)"
gentri train --sweep "$WORK/whole/sweep.yaml" --quiet
for engine in $ENGINES; do
	case $engine in
	k8s)
		say "Kubernetes: $N pods of examples/k8s/sweep-train.yaml, then sweep-report.yaml"
		tasks k8s k8s_pod examples/k8s/sweep-train.yaml
		env SWEEP="$WORK/k8s/sweep.yaml" REPORT="$WORK/k8s/sweep-report" PLOT_FLAGS="--x train.lr" \
			sh -c "$(k8s_command examples/k8s/sweep-report.yaml)" >"$WORK/k8s/report.log" || fail "k8s report"
		[[ -s "$WORK/k8s/sweep-report.png" ]] || fail "k8s: no plot"
		;;
	slurm)
		say "Slurm: $N tasks of examples/slurm/sweep.sbatch, then sweep-report.sbatch"
		tasks slurm slurm_task examples/slurm/sweep.sbatch
		env SWEEP="$WORK/slurm/sweep.yaml" bash examples/slurm/sweep-report.sbatch >"$WORK/slurm/report.log" || fail "slurm report"
		;;
	*) fail "unknown engine $engine" ;;
	esac
	python3 - "$WORK/$engine/sweep-report.json" "$points" "$engine" <<'PY' || fail "$engine: the report does not see every point"
import json, sys
r = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
seen = sorted(p for row in r["rows"] for p in row["points"] if row["figures"])
if r["missing"] or r["points"] != want or seen != list(range(want)):
    sys.exit("%s: %d points, rows over %s, missing %s" % (sys.argv[3], r["points"], seen, r["missing"]))
PY
	for f in "$WORK"/whole/sweep/*/ckpt-*.safetensors; do
		rel=${f#"$WORK/whole/sweep/"}
		cmp -s "$f" "$WORK/$engine/sweep/$rel" || fail "$engine: $rel differs from the one-process run's"
	done
	# A retried task finds its points finished and evaluated: it writes nothing.
	touch "$WORK/$engine/marker"
	sleep 0.01
	case $engine in
	k8s) k8s_pod examples/k8s/sweep-train.yaml 0 >"$WORK/k8s/again.log" 2>&1 ;;
	slurm) slurm_task examples/slurm/sweep.sbatch 0 >"$WORK/slurm/again.log" 2>&1 ;;
	esac
	changed=$(find "$WORK/$engine/sweep" -type f -newer "$WORK/$engine/marker")
	[[ -z "$changed" ]] || fail "$engine: a rerun task wrote $changed"
	say "$engine: report sees all $points points; checkpoints = the one-process run's"
done
say "OK"
[[ -n "$keep" ]] || rm -rf "$WORK"
