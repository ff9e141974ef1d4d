#!/bin/bash
# End to end through client-go (conformance/clientgo): the typed clientset with its
# default protobuf and with JSON, the dynamic client and an informer against the real
# binary. One check per Go test (leaf subtests when a test has them), parsed from -test.v.
. "$(dirname "$0")/lib.sh"

CONF=$ROOT/conformance
BIN=$ROOT/build/conformance/clientgo.test
D=$WORK/data
mkdir -p "$(dirname "$BIN")"

# Build once; module and build caches are Go's defaults, so warm builds are quick.
t0=$(date +%s%N)
if (cd "$CONF" && GOFLAGS=-mod=readonly go test -c -o "$BIN" ./clientgo) >"$WORK/build.out" 2>&1; then
    echo "ok   go test -c in $((($(date +%s%N) - t0) / 1000000)) ms"
else
    echo "FAIL clientgo: go test -c" >>"$VK_RESULTS"
    echo "FAIL clientgo: go test -c"
    sed 's/^/     | /' "$WORK/build.out" | tail -30
    exit 1
fi

check "server starts" start_server "$D"
# The informer test runs client-go's watch-list; the stream is what is checked.
(cd "$CONF/clientgo" && KUBECONFIG=$KUBECONFIG "$BIN" -test.v -test.timeout=110s) >"$WORK/go.out" 2>&1
rc=$?
cat "$WORK/go.out"

# One result per leaf test: a test whose name is a prefix (NAME/) of another is a parent.
python3 - "$WORK/go.out" "$VK_RESULTS" "$rc" <<'PY'
import re, sys
out, results, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {}
for line in open(out, errors="replace"):
    m = re.match(r"^\s*--- (PASS|FAIL|SKIP): (\S+) \(", line)
    if m:
        res[m.group(2)] = m.group(1)
leaves = [n for n in res if not any(o.startswith(n + "/") for o in res)]
with open(results, "a") as f:
    for n in leaves:
        if res[n] == "PASS":
            f.write(f"ok clientgo {n}\n")
        elif res[n] == "FAIL":
            f.write(f"FAIL clientgo {n}\n")
        else:
            print(f"skip {n}")
    if rc != 0 and "FAIL" not in res.values():
        # a panic, a timeout or a failure in TestMain: no test reported it
        f.write(f"FAIL clientgo test binary (exit {rc}, no test reported a failure)\n")
    if not res:
        f.write("FAIL clientgo: no test results\n")
PY
check "server exits 0" stop_server
