#!/bin/sh
# Runs every test suite: the sanitized cmocka unit tests, then the end-to-end scripts
# against the real binary. Ends with the plain line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ASAN=build/asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
passed=0
failed=0
failures=""
log=$(mktemp -d /tmp/vkube-test.XXXXXX)

for t in $ASAN/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    timeout "$UNIT_TIMEOUT" "$t" >"$log/$name.out" 2>&1
    rc=$?
    p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed, timed out or failed outside a test
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures="$failures $name"
        echo "FAIL $name (exit $rc):"
        tail -40 "$log/$name.out"
    else
        echo "ok   $name: $p passed"
    fi
done

for e in tests/e2e/test_*.sh; do
    [ -f "$e" ] || continue
    name=$(basename "$e" .sh)
    VK_RESULTS="$log/$name.results" timeout 600 bash "$e" >"$log/$name.out" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log/$name.results" 2>/dev/null)
    f=$(grep -c '^FAIL ' "$log/$name.results" 2>/dev/null)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures="$failures $name"
        echo "FAIL $name (exit $rc):"
        tail -60 "$log/$name.out"
    else
        echo "ok   $name: $p passed"
    fi
done

# The fuzz targets, briefly: a crash, leak or sanitizer report on the corpus-free start
# fails (make fuzz runs them for long).
for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    timeout 120 "$f" -max_total_time="${FUZZ_SMOKE_SECONDS:-5}" >"$log/$name.out" 2>&1
    rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log/$name.out")
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        failures="$failures $name"
        echo "FAIL $name (exit $rc):"
        tail -40 "$log/$name.out"
    else
        passed=$((passed + 1))
        echo "ok   $name: ${runs:-?} runs clean"
    fi
done

[ -n "$failures" ] && echo "failed suites:$failures (logs in $log)" || rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
