#!/bin/sh
# make conformance-smoke: the fixed list of fast API conformance specs in
# conformance/smoke.txt (one full spec name a line, # comments), run in parallel
# against a fresh standalone vkube through run.sh. The report goes to
# build/conformance/smoke/SMOKE.md (docs/CONFORMANCE.md is for full runs); the
# last line is "N passed, N failed".
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
list=$ROOT/conformance/smoke.txt
# Each name, regexp-quoted and anchored at both ends, joined with |. Ginkgo matches
# the focus against "<suite description> <spec text>", hence the leading space.
focus=$(grep -v '^[[:space:]]*\(#\|$\)' "$list" |
	sed -e 's/[][\\.*^$+?(){}|]/\\&/g' -e 's/^/ /' -e 's/$/$/' | paste -sd'|' -)
n=$(grep -vc '^[[:space:]]*\(#\|$\)' "$list")
RESULTS=${RESULTS:-$ROOT/build/conformance/smoke/$(date -u +%Y%m%dT%H%M%SZ)}
export RESULTS
echo "conformance-smoke: $n specs from conformance/smoke.txt, ${PROCS:-2} processes"
rc=0
FOCUS="$focus" PHASES=parallel TIMEOUT=${TIMEOUT:-20m} "$ROOT/conformance/run.sh" || rc=$?
# run.sh's command line would carry the whole regexp: say what it was instead.
sed -i "s|^command=.*|command=make conformance-smoke (conformance/smoke.txt, $n specs)|; s|^focus=.*|focus=the $n specs of conformance/smoke.txt|" "$RESULTS/run.env"
mkdir -p "$ROOT/build/conformance"
(cd "$ROOT/conformance" && go build -o "$ROOT/build/conformance/report" ./report)
"$ROOT/build/conformance/report" -results "$RESULTS" -out "$ROOT/build/conformance/smoke/SMOKE.md" \
	-note "The smoke subset: the $n specs of conformance/smoke.txt; the other specs are listed as not run."
exit $rc
