#!/usr/bin/env bash
# The study through the real SLURM executor on a one-node SLURM on localhost.
#
#   bash tests/slurm/run_slurm_test.sh
#
# 1. starts SLURM (tests/slurm/local_slurm.sh; apt-installs it if needed),
# 2. runs the tiny study (config/test.yaml) locally and through
#    `snakemake --workflow-profile profiles/slurm` with snakemake-executor-plugin-slurm,
# 3. checks that every table of the SLURM run equals the local run's byte for byte,
# 4. checks that a failing rule makes a SLURM run fail (under `timeout -k`, so it cannot hang),
# 5. prints wall times and the number of SLURM submissions (as JSON; see SLURM_BENCH_OUT below),
# and stops exactly the daemons it started, also on failure.
# Exits 0 with "SKIPPED: …" where this machine cannot install SLURM (not root, no apt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${DLGEOM_VENV_BIN:-$ROOT/.venv/bin}
export PATH="$BIN:$PATH"
HARNESS="$ROOT/tests/slurm/local_slurm.sh"
WORK=$(mktemp -d /tmp/dlgeom-slurm.XXXXXX)
STARTED=0
say() { echo "[slurm-test] $*" >&2; }

cleanup() {
    local rc=$?
    if [ "$STARTED" = 1 ]; then bash "$HARNESS" stop || true; fi
    if [ "$rc" = 0 ]; then rm -rf "$WORK"; else say "kept $WORK for inspection (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap "exit 130" INT TERM

python -c "import snakemake" || { say "FAILED: no snakemake in $BIN (run make test first)"; exit 1; }
if ! python -c "import snakemake_executor_plugin_slurm" 2>/dev/null; then
    say "installing snakemake-executor-plugin-slurm"
    python -m pip install --quiet "snakemake-executor-plugin-slurm>=1.0" \
        || { echo "SKIPPED: cannot install snakemake-executor-plugin-slurm from PyPI"; exit 0; }
fi

set +e
PART=$(bash "$HARNESS" start | tail -1)
rc=${PIPESTATUS[0]}
set -e
STARTED=1
if [ "$rc" = 3 ]; then
    echo "SKIPPED: this machine cannot install or start SLURM (see the lines above)"
    exit 0
fi
[ "$rc" = 0 ] || { say "FAILED: SLURM did not start"; exit 1; }

sed "s|path: config/example_data/blobs.csv|path: $ROOT/config/example_data/blobs.csv|" \
    "$ROOT/config/test.yaml" > "$WORK/test.yaml"

say "local run"
t0=$(date +%s.%N)
snakemake -s "$ROOT/Snakefile" -d "$WORK/local" --configfile "$WORK/test.yaml" --cores 2 --quiet >"$WORK/local.log" 2>&1 \
    || { tail -30 "$WORK/local.log"; say "FAILED: local run"; exit 1; }
t1=$(date +%s.%N)

say "SLURM run (partition $PART)"
before=$(squeue -h --states=all -o %i | wc -l)
set +e
timeout -k 10 900 snakemake -s "$ROOT/Snakefile" -d "$WORK/slurm" --configfile "$WORK/test.yaml" \
    --workflow-profile "$ROOT/profiles/slurm" \
    --default-resources "slurm_partition=$PART" mem_mb=1000 runtime=30 cpus_per_task=1 \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 1 --jobs 4 \
    >"$WORK/slurm.log" 2>&1
rc=$?
set -e
t2=$(date +%s.%N)
after=$(squeue -h --states=all -o %i | wc -l)
if [ "$rc" != 0 ]; then
    tail -40 "$WORK/slurm.log"
    say "FAILED: SLURM run exited $rc$([ "$rc" = 124 ] && echo ' (timeout: it hung)')"
    exit 1
fi
jobs_total=$(grep -c "^rule \|^localrule \|^group job" "$WORK/slurm.log" || true)

say "comparing tables"
for t in claims.csv claims.md constructions.csv patterns.csv degeneracy.csv prop22.csv curation.csv phase.csv \
         landscape_endpoints.csv landscape_basins.csv landscape_shape.csv landscape_paths.csv landscape_slice.csv; do
    cmp "$WORK/local/results/tiny/tables/$t" "$WORK/slurm/results/tiny/tables/$t" \
        || { say "FAILED: results/tiny/tables/$t differs between the local and the SLURM run"; exit 1; }
done
n_grid=$(find "$WORK/slurm/results/tiny/cells" -name '*.json' | wc -l)
n_land=$(find "$WORK/slurm/results/tiny/landscape" -name '*.json' 2>/dev/null | wc -l)
n_stage=$(find "$WORK/slurm/results/tiny/robustness" "$WORK/slurm/results/tiny/beyond" -name '*.json' 2>/dev/null | wc -l)
n_jobs=$((n_grid + n_land + n_stage))   # one job per cell (data + analysis), landscape, robustness and beyond runs

say "a failing rule must fail the run"
set +e
timeout -k 10 300 snakemake -s "$ROOT/tests/slurm/failing.smk" -d "$WORK/fail" --executor slurm --jobs 1 \
    --default-resources "slurm_partition=$PART" mem_mb=100 runtime=5 \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 1 >"$WORK/fail.log" 2>&1
frc=$?
set -e
if [ "$frc" = 0 ] || [ "$frc" = 124 ] || [ "$frc" = 137 ]; then
    tail -20 "$WORK/fail.log"
    say "FAILED: the failing rule gave exit $frc (0 = not detected, 124/137 = hung)"
    exit 1
fi

submissions=$((after - before))   # counted before the failing-rule check
local_s=$(python -c "print(round($t1 - $t0, 1))")
slurm_s=$(python -c "print(round($t2 - $t1, 1))")
# the timing goes to $WORK (printed below); to record it in the repository's benchmarks, run with
# SLURM_BENCH_OUT=results/benchmarks/slurm.json
OUTJSON=${SLURM_BENCH_OUT:-$WORK/slurm.json}
mkdir -p "$(dirname "$OUTJSON")"
cat > "$OUTJSON" <<JSON
{
  "config": "config/test.yaml",
  "grid_cells": $n_grid,
  "grid_jobs": $n_jobs,
  "slurm_submissions": $submissions,
  "local_wall_seconds": $local_s,
  "slurm_wall_seconds": $slurm_s,
  "failing_rule_exit": $frc
}
JSON
cat "$OUTJSON"
echo "PASSED: SLURM run equals the local run; $n_jobs grid jobs in $submissions SLURM submission(s); local ${local_s}s, SLURM ${slurm_s}s"
