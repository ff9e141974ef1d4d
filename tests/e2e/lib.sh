# Shared helpers for end-to-end tests: start the real (sanitized) binary on a free port
# with a temp data dir, record checks, stop it. Each check writes "ok NAME" or
# "FAIL NAME" to $VK_RESULTS, which tests/run.sh counts.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VKUBE=${VKUBE:-$ROOT/build/asan/vkube}
VK_RESULTS=${VK_RESULTS:-/dev/stdout}
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
WORK=$(mktemp -d /tmp/vkube-e2e.XXXXXX)
VK_PID=""

check() { # check NAME COMMAND...: passes when the command exits 0
    local name=$1
    shift
    if "$@" >"$WORK/check.out" 2>&1; then
        echo "ok $name" >>"$VK_RESULTS"
        echo "ok   $name"
    else
        echo "FAIL $name" >>"$VK_RESULTS"
        echo "FAIL $name"
        sed 's/^/     | /' "$WORK/check.out" | tail -20
    fi
}

# start_server DATA_DIR [FLAGS...]: starts vkube, waits for /readyz, sets VK_URL,
# KUBECONFIG and VK_PID. The server's stdout/stderr go to $WORK/server.log.
start_server() {
    local dir=$1
    shift
    : >"$WORK/server.out"
    "$VKUBE" server --data-dir "$dir" --listen 127.0.0.1:0 "$@" >"$WORK/server.out" 2>>"$WORK/server.log" &
    VK_PID=$!
    for _ in $(seq 1 200); do
        VK_URL=$(sed -n 's/^vkube .* is serving at \(https:[^ ]*\)$/\1/p' "$WORK/server.out")
        [ -n "$VK_URL" ] && break
        kill -0 "$VK_PID" 2>/dev/null || break
        sleep 0.05
    done
    export KUBECONFIG=$dir/kubeconfig
    export VK_URL
    [ -n "$VK_URL" ]
}

# stop_server [SIGNAL]: SIGTERM (or SIGNAL), then the exit code must be 0.
stop_server() {
    [ -n "$VK_PID" ] || return 0
    kill -"${1:-TERM}" "$VK_PID" 2>/dev/null
    local rc=0
    wait "$VK_PID" || rc=$?
    VK_PID=""
    return $rc
}

# Curl with the admin identity from the data dir.
admin_curl() {
    local dir=$1
    shift
    curl -sS --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$@"
}

export -f admin_curl

cleanup() {
    [ -n "$VK_PID" ] && kill -KILL "$VK_PID" 2>/dev/null
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$WORK/server.log" 2>/dev/null; then
        echo "FAIL sanitizers-clean" >>"$VK_RESULTS"
        echo "FAIL sanitizers-clean"
        grep -A30 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$WORK/server.log" | head -60
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
