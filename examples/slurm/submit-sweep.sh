#!/bin/bash
# Submits a sweep's array and its report, which starts when every task has ended. SWEEP (and
# EVAL_FLAGS, REPORT, PLOT_FLAGS) pass to the jobs through sbatch's default --export=ALL.
set -euo pipefail
: "${SWEEP:?set SWEEP to the sweep file}"
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable "$here/sweep.sbatch")
report=$(sbatch --parsable --dependency="afterany:${array%%;*}" "$here/sweep-report.sbatch")
echo "sweep array $array, report $report: the table will be ${REPORT:-${SWEEP%.*}-report}.md"
