#!/usr/bin/env bash
# Every test, the way `make test` (and CI) runs them on a 2-core machine.
#
# Most of the 3D tests' time is Numba compiling kernels (one process, one core), so the
# suite runs as two pytest processes at once, each on one Numba thread so that they do
# not fight over the cores: the 3D engine tests, and everything else (2D engine, the
# application, browsers, notebooks). Then the one test that needs a pool of two threads
# (1 against 2 threads must agree) runs alone. Any failure fails the whole run.
#
# Usage: bash tests/run_all.sh [python]   (default .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
LOGS=$(mktemp -d)
THREADS_TEST="tests/engine/test_kernels3d.py::test_threads"
ENGINE_3D=$(ls tests/engine/test_*.py | grep -E '3d|test_(absorbing_chunk|anisotropy|cutouts|faces_operator|mesh3d|sampling)\.py')
OTHERS=$(ls tests/engine/test_*.py | grep -v -F -x -f <(printf '%s\n' $ENGINE_3D))

start=$(date +%s)
NUMBA_NUM_THREADS=1 "$PY" -m pytest -q -p no:cacheprovider $ENGINE_3D --deselect "$THREADS_TEST" \
    > "$LOGS/engine3d.log" 2>&1 &
pid_3d=$!
NUMBA_NUM_THREADS=1 "$PY" -m pytest -q -p no:cacheprovider $OTHERS tests/fwi_widgets tests/browser tests/test_*.py \
    > "$LOGS/others.log" 2>&1 &
pid_others=$!
wait $pid_3d; rc_3d=$?
wait $pid_others; rc_others=$?
"$PY" -m pytest -q -p no:cacheprovider "$THREADS_TEST" > "$LOGS/threads.log" 2>&1; rc_threads=$?

for part in engine3d others threads; do
    echo "===== $part ====="
    cat "$LOGS/$part.log"
done
echo "===== exit codes: engine3d $rc_3d, others $rc_others, threads $rc_threads; $(( $(date +%s) - start )) s ====="
rm -rf "$LOGS"
[ $rc_3d -eq 0 ] && [ $rc_others -eq 0 ] && [ $rc_threads -eq 0 ]
