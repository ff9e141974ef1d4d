#!/bin/bash
# The conformance report tool (conformance/report): its unit tests read sample JUnit
# files in the shape e2e.test writes and check the report and the totals. One check
# per Go test. No server; the upstream suite itself runs under `make conformance`.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VK_RESULTS=${VK_RESULTS:-/dev/stdout}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
(cd "$ROOT/conformance" && GOFLAGS=-mod=readonly go test -v -count=1 ./report) >"$out" 2>&1
rc=$?
cat "$out"
n=0
while read -r verdict name; do
    n=$((n + 1))
    if [ "$verdict" = PASS ]; then echo "ok conformance-report $name" >>"$VK_RESULTS"; else echo "FAIL conformance-report $name" >>"$VK_RESULTS"; fi
done < <(sed -n 's/^--- \(PASS\|FAIL\): \([^ ]*\) .*/\1 \2/p' "$out")
if [ "$n" -eq 0 ] || { [ "$rc" -ne 0 ] && ! grep -q '^--- FAIL' "$out"; }; then
    echo "FAIL conformance-report: go test (exit $rc)" >>"$VK_RESULTS"
fi
