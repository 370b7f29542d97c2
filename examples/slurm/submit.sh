#!/bin/bash
# Submits the sharded evaluation and its merge, which waits for every task of
# the array to succeed. The variables (CKPT, SEEDS, OUT, EVAL_FLAGS,
# FEATURE_NET) pass to the jobs through sbatch's default --export=ALL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable "$here/eval-shards.sbatch")
merge=$(sbatch --parsable --dependency="afterok:${array%%;*}" "$here/merge.sbatch")
echo "eval array $array, merge $merge: the record will be ${OUT:-$PWD/eval}/record.json"
