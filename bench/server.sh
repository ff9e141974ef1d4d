#!/usr/bin/env bash
# Server benchmarks against the release binary (build/vkube), each bounded in time:
#   1. cold start (empty data dir, includes PKI generation) and warm start to the first
#      200 from /readyz, measured from exec by a small C probe (built here from the
#      source below), plus the server's own startup="Nms" log field;
#   2. RSS: idle after start, after 1000 requests, after the load runs;
#   3. stripped binary size and the shared libraries it links;
#   4. h2load over TLS: GET /version with 100 streams per connection (-c 1, -c 4) and an
#      HTTP/1.1 run (-c 50); req/s, mean and p50/p99/max latency from h2load's log file.
# Prints one line per figure. With VK_BENCH_SUMMARY=FILE it also appends one
# tab-separated row per figure: name, value, target, verdict (OK, MISS or INFO).
#
# Knobs: START_RUNS (20), H2_N (200000), H1_N (100000), H2_REPEAT (3 runs of each),
# H2LOAD_TIMEOUT (60 s per run),
# VKUBE (build/vkube).
set -u
cd "$(dirname "$0")/.."

VKUBE=${VKUBE:-build/vkube}
START_RUNS=${START_RUNS:-20}
H2_N=${H2_N:-200000}
H1_N=${H1_N:-100000}
H2LOAD_TIMEOUT=${H2LOAD_TIMEOUT:-60}
H2_REPEAT=${H2_REPEAT:-3}
SUMMARY=${VK_BENCH_SUMMARY:-/dev/null}

WORK=$(mktemp -d /tmp/vkube-bench.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "server.sh: $*" >&2; exit 1; }
[ -x "$VKUBE" ] || die "$VKUBE not built (make build/vkube)"

# figure NAME VALUE TARGET VERDICT: one summary row.
figure() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"; }
# verdict VALUE LIMIT: OK when VALUE < LIMIT (floats), MISS otherwise, INFO if no value.
below() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "") print "INFO"; else print (v + 0 < l + 0) ? "OK" : "MISS" }'; }
atleast() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "") print "INFO"; else print (v + 0 >= l + 0) ? "OK" : "MISS" }'; }

# ---------------------------------------------------------------------------------
# The start probe: fork/exec vkube server on 127.0.0.1:0 with DATADIR, read the URL from
# its stdout, then connect + TLS + GET /readyz (HTTP/1.1) in a tight loop until a 200.
# All times are CLOCK_MONOTONIC from just before fork. Then SIGTERM and time the stop.
# Output: url_us=N ready_us=N polls=N stop_us=N exit=N
PROBE=$WORK/vkready
cat >"$WORK/vkready.c" <<'EOF'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* One GET /readyz over a fresh TLS connection; 1 on HTTP 200. */
static int readyz(SSL_CTX *ctx, int port)
{
    int ok = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return 0;
    }
    SSL *s = SSL_new(ctx);
    SSL_set_fd(s, fd);
    SSL_set_tlsext_host_name(s, "localhost");
    if (SSL_connect(s) == 1) {
        char req[128], buf[256];
        int n = snprintf(req, sizeof req,
                         "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", port);
        if (SSL_write(s, req, n) == n) {
            int got = 0, r;
            while (got < 12 && (r = SSL_read(s, buf + got, (int)sizeof buf - 1 - got)) > 0)
                got += r;
            buf[got] = 0;
            ok = got >= 12 && !strncmp(buf, "HTTP/1.1 200", 12);
        }
    }
    SSL_free(s);
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: vkready VKUBE DATADIR LOGFILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9);
    int p[2];
    if (pipe(p))
        return 1;
    long long t0 = now_us();
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        dup2(p[1], 1);
        int lf = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf >= 0)
            dup2(lf, 2);
        close(p[0]);
        close(p[1]);
        execl(argv[1], argv[1], "server", "--data-dir", argv[2], "--listen", "127.0.0.1:0",
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *out = fdopen(p[0], "r");
    char line[1024];
    int port = 0;
    while (!port && fgets(line, sizeof line, out)) {
        char *u = strstr(line, "is serving at https://127.0.0.1:");
        if (u)
            port = atoi(u + strlen("is serving at https://127.0.0.1:"));
    }
    long long t_url = now_us(), t_ready = 0;
    int polls = 0;
    while (port && now_us() - t0 < 10000000LL) {
        polls++;
        if (readyz(ctx, port)) {
            t_ready = now_us();
            break;
        }
    }
    long long t_kill = now_us();
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    long long t_stop = now_us();
    if (!port || !t_ready) {
        fprintf(stderr, "vkready: %s\n", port ? "no 200 from /readyz in 10 s" : "no URL on stdout");
        return 1;
    }
    printf("url_us=%lld ready_us=%lld polls=%d stop_us=%lld exit=%d\n", t_url - t0,
           t_ready - t0, polls, t_stop - t_kill, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}
EOF
${CC:-cc} -O2 -std=c11 -Wall -o "$PROBE" "$WORK/vkready.c" -lssl -lcrypto || die "cannot build the start probe"

# stats FILE: "median max min" of the numbers in FILE (one per line).
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (!NR) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f %.1f\n", m, v[NR], v[1] }'; }

# start_runs KIND: START_RUNS probe runs; KIND cold wipes the data dir before each.
start_runs() {
    local kind=$1 d=$WORK/start-$1 i r
    : >"$WORK/$kind.ready" ; : >"$WORK/$kind.url" ; : >"$WORK/$kind.self" ; : >"$WORK/$kind.stop"
    rm -rf "$d"
    [ "$kind" = warm ] && { "$PROBE" "$VKUBE" "$d" "$WORK/$kind.log" >/dev/null || return 1; }
    for i in $(seq "$START_RUNS"); do
        [ "$kind" = cold ] && rm -rf "$d"
        : >"$WORK/$kind.log"
        r=$(timeout 15 "$PROBE" "$VKUBE" "$d" "$WORK/$kind.log") || { echo "  $kind start run $i failed"; cat "$WORK/$kind.log"; return 1; }
        awk -v r="$r" 'BEGIN { n = split(r, f, /[ =]/); for (i = 1; i < n; i += 2) v[f[i]] = f[i + 1];
            printf "%.3f\n", v["ready_us"] / 1000 >> "'"$WORK/$kind.ready"'";
            printf "%.3f\n", v["url_us"] / 1000 >> "'"$WORK/$kind.url"'";
            printf "%.3f\n", v["stop_us"] / 1000 >> "'"$WORK/$kind.stop"'" }'
        sed -n 's/.*startup="\([0-9]*\)ms".*/\1/p' "$WORK/$kind.log" | tail -1 >>"$WORK/$kind.self"
    done
    local rs us ss ps
    rs=$(stats "$WORK/$kind.ready"); us=$(stats "$WORK/$kind.url")
    ss=$(stats "$WORK/$kind.self"); ps=$(stats "$WORK/$kind.stop")
    set -- $rs
    local med=$1 max=$2 min=$3
    local label="cold start to first /readyz 200 (empty data dir, PKI generated)"
    [ "$kind" = warm ] && label="warm start to first /readyz 200 (existing data dir)"
    printf '%-66s median %6.1f ms  max %6.1f ms  min %6.1f ms  (%d runs)  target < 50 ms  %s\n' \
        "$label" "$med" "$max" "$min" "$START_RUNS" "$(below "$max" 50)"
    set -- $us
    printf '  %-64s median %6.1f ms  max %6.1f ms\n' "exec to URL on stdout" "$1" "$2"
    set -- $ss
    printf '  %-64s median %6.1f ms  max %6.1f ms\n' "server's own startup= log field" "$1" "$2"
    set -- $ps
    printf '  %-64s median %6.1f ms  max %6.1f ms\n' "SIGTERM to exit (idle)" "$1" "$2"
    figure "$kind start to /readyz, median (max) ms" "$med ($max)" "< 50 ms" "$(below "$max" 50)"
}

echo "== start time (probe: fork/exec -> stdout URL -> TLS GET /readyz loop; $START_RUNS runs each)"
start_runs cold || figure "cold start" "failed" "< 50 ms" "MISS"
start_runs warm || figure "warm start" "failed" "< 50 ms" "MISS"

# ---------------------------------------------------------------------------------
echo "== binary"
if command -v strip >/dev/null; then
    strip -o "$WORK/vkube.stripped" "$VKUBE"
    sz=$(stat -c %s "$WORK/vkube.stripped")
    mb=$(awk -v b="$sz" 'BEGIN { printf "%.2f", b / 1048576 }')
    printf '%-66s %s bytes = %s MiB (unstripped %s bytes)  target < 5 MB  %s\n' \
        "stripped binary size" "$sz" "$mb" "$(stat -c %s "$VKUBE")" "$(below "$sz" 5000000)"
    figure "stripped binary size" "$mb MiB ($sz B)" "< 5 MB" "$(below "$sz" 5000000)"
fi
echo "  linked shared libraries: $(ldd "$VKUBE" | awk '$1 !~ /linux-vdso|ld-linux/ { sub(/\.so.*/, "", $1); printf "%s ", $1 }')"
libsz=$(ldd "$VKUBE" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | xargs -r stat -L -c %s | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
echo "  (dynamically linked; those libraries' files total $libsz MiB on disk, libc included)"

# ---------------------------------------------------------------------------------
# A long-running server for RSS and load. start_server [nopipe]: nopipe starts it with
# SIGPIPE ignored (an inherited disposition), used only after the server was seen to die
# from SIGPIPE, so the remaining figures can still be taken; that is reported.
D=$WORK/server
SERVER_NOTE=""
start_server() {
    if [ "${1:-}" = nopipe ]; then
        (trap '' PIPE; exec "$VKUBE" server --data-dir "$D" --listen 127.0.0.1:0 >"$WORK/server.out" 2>>"$WORK/server.log") &
    else
        "$VKUBE" server --data-dir "$D" --listen 127.0.0.1:0 >"$WORK/server.out" 2>>"$WORK/server.log" &
    fi
    SERVER_PID=$!
    URL=""
    for _ in $(seq 200); do
        URL=$(sed -n 's/.*is serving at \(https:[^ ]*\).*/\1/p' "$WORK/server.out")
        [ -n "$URL" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$URL" ] || { cat "$WORK/server.log"; die "server did not start"; }
    for _ in $(seq 100); do
        [ "$(curl -sk -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && break
        sleep 0.05
    done
    # Bit 13 of SigIgn is SIGPIPE (signal 13).
    local ign
    ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null)
    if [ -n "$ign" ] && (( 0x$ign & 4096 )); then
        echo "  (server pid $SERVER_PID ignores SIGPIPE${1:+: restarted that way by this script})"
    fi
}
# check_server PHASE: 0 if the server is alive; otherwise reports how it died, restarts
# it with SIGPIPE ignored and returns 1.
check_server() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    wait "$SERVER_PID" 2>/dev/null
    local rc=$? how
    how="exit $rc"
    [ "$rc" -gt 128 ] && how="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
    printf '%-66s %s  MISS\n' "SERVER DIED during $1" "$how"
    tail -3 "$WORK/server.log" | sed 's/^/    log: /'
    figure "server survives $1" "no: $how" "no crash" "MISS"
    SERVER_NOTE="server died ($how) during $1; later figures are from a server restarted with SIGPIPE ignored"
    start_server nopipe
    return 1
}
start_server
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
# cpu_ticks: utime + stime of the server, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "== memory (server at $URL, pid $SERVER_PID)"
sleep 1
r=$(rss_kb)
printf '%-66s %6s MiB (%s kB)  target < 15 MB  %s\n' "idle RSS after start (+1 s idle)" "$(mib "$r")" "$r" "$(below "$r" 14648)"
figure "idle RSS after start" "$(mib "$r") MiB" "< 15 MB" "$(below "$r" 14648)"

# 1000 requests: 500 anonymous GET /version over h2 (5 connections) and 500 admin
# (client-cert) GETs of /version over HTTP/1.1 keep-alive with curl.
h2load -n 500 -c 5 -m 10 "$URL/version" >/dev/null 2>&1
pki=$D/pki
# curl pairs each URL with its own -o, so every body goes to /dev/null.
urls=()
for _ in $(seq 500); do urls+=("$URL/version" -o /dev/null); done
h1_ok() {
    curl -s --http1.1 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        -w '%{http_code}\n' "${urls[@]}" 2>/dev/null | grep -c '^200$'
}
n200=$(h1_ok)
sleep 1
if ! check_server "the 1000 requests"; then
    h2load -n 500 -c 5 -m 10 "$URL/version" >/dev/null 2>&1
    n200=$(h1_ok)
    sleep 1
    check_server "the 1000 requests (again)"
fi
r=$(rss_kb)
printf '%-66s %6s MiB (%s kB)  target < 15 MB  %s  (%s of the 500 client-cert requests got 200)\n' "RSS after 1000 requests (h2 anon + h1.1 client-cert, +1 s)" "$(mib "$r")" "$r" "$(below "$r" 14648)" "$n200"
figure "RSS after 1000 requests" "$(mib "$r") MiB" "< 15 MB" "$(below "$r" 14648)"

# ---------------------------------------------------------------------------------
# h2load_once N ARGS...: one h2load run against $URL/version. Prints
# "rps mean p50 p99 max ok failed proto cpu%" (latencies in ms, from the per-request
# log file: start us, status, duration us), or "FAIL <reason>" and h2load's last lines.
HZ=$(getconf CLK_TCK)
h2load_once() {
    local n=$1
    shift
    local log=$WORK/h2load.log out=$WORK/h2load.out c0 c1 t0 t1 rc
    rm -f "$log"
    c0=$(cpu_ticks); t0=$(date +%s%N)
    timeout "$H2LOAD_TIMEOUT" h2load -n "$n" "$@" --log-file="$log" "$URL/version" >"$out" 2>&1
    rc=$?
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "DIED"; return; }
    c1=$(cpu_ticks); t1=$(date +%s%N)
    local rps ok failed proto lat cpu
    rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$out")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")
    failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' "$out")
    proto=$(sed -n 's/^Application protocol: //p' "$out")
    if [ "$rc" -ne 0 ] || [ -z "$rps" ]; then
        echo "FAIL exit $rc$([ "$rc" = 124 ] && echo ", timed out after ${H2LOAD_TIMEOUT}s")"
        tail -5 "$out" | sed 's/^/    /'
        return
    fi
    lat=$(awk '$2 == 200 { print $3 }' "$log" | sort -n | awk '{ v[NR] = $1; s += $1 }
        END { if (!NR) { print "- - - -"; exit } i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
              printf "%.2f %.2f %.2f %.2f", s / NR / 1000, v[i50] / 1000, v[i99] / 1000, v[NR] / 1000 }')
    cpu=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) / hz / ((t1 - t0) / 1e9) * 100 }')
    echo "$(printf '%.0f' "$rps") $lat ${ok:-0} ${failed:-0} ${proto:-?} $cpu"
}

# h2load_run LABEL N ARGS...: H2_REPEAT runs; prints the run with the median req/s and
# the req/s of every run. TARGET_RPS in the environment sets a req/s target.
h2load_run() {
    local label=$1 n=$2 i r runs="" all=$WORK/h2load.runs
    shift 2
    : >"$all"
    for i in $(seq "$H2_REPEAT"); do
        r=$(h2load_once "$n" "$@")
        case $r in
        DIED)
            check_server "$label"
            r=$(h2load_once "$n" "$@")
            [ "$r" = DIED ] && { check_server "$label (again)"; return; } ;;
        esac
        case $r in
        FAIL*)
            printf '%-66s FAILED (%s)\n' "$label" "${r#FAIL }"
            figure "$label" "failed: $(echo "$r" | head -1)" "${TARGET_RPS:+>= $TARGET_RPS req/s}" "MISS"
            return ;;
        esac
        echo "$r" >>"$all"
        runs="$runs ${r%% *}"
    done
    # The median run by req/s.
    set -- $(sort -n -k1,1 "$all" | awk -v m=$(((H2_REPEAT + 1) / 2)) 'NR == m')
    local verdict=INFO
    [ -n "${TARGET_RPS:-}" ] && verdict=$(atleast "$1" "$TARGET_RPS")
    printf '%-58s %7s req/s  p50 %s p99 %s max %s ms (mean %s)  [%s ok, %s failed, %s, server CPU %s%%; runs:%s]  %s\n' \
        "$label" "$1" "$3" "$4" "$5" "$2" "$6" "$7" "$8" "$9" "$runs" \
        "$([ -n "${TARGET_RPS:-}" ] && echo "target >= $TARGET_RPS  $verdict")"
    figure "$label: req/s (median of $H2_REPEAT runs:$runs)" "$1" "${TARGET_RPS:+>= $TARGET_RPS}" "$verdict"
    figure "$label: latency p50 / p99 / max ms" "$3 / $4 / $5" "" "INFO"
}

if command -v h2load >/dev/null; then
    echo "== h2load GET /version over TLS (-n: h2 $H2_N, h1 $H1_N; median of $H2_REPEAT runs; ${H2LOAD_TIMEOUT}s limit per run)"
    TARGET_RPS=50000 h2load_run "h2load h2 -c 1 -m 100 (1 conn x 100 streams)" "$H2_N" -c 1 -m 100
    TARGET_RPS=50000 h2load_run "h2load h2 -c 4 -m 100 (4 conns x 100 streams)" "$H2_N" -c 4 -m 100
    h2load_run "h2load HTTP/1.1 --h1 -c 50 (no pipelining)" "$H1_N" --h1 -c 50 -m 1
    r=$(rss_kb); h=$(hwm_kb)
    printf '%-66s %6s MiB (peak VmHWM %s MiB)\n' "RSS after the load runs" "$(mib "$r")" "$(mib "$h")"
    figure "RSS after load runs (peak)" "$(mib "$r") MiB ($(mib "$h") MiB)" "" "INFO"
else
    echo "h2load not installed (apt-get install nghttp2-client); load runs skipped"
    figure "h2load" "not run" ">= 50000 req/s" "MISS"
fi

check_server "the load runs"
kill -TERM "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
echo "  server stopped on SIGTERM with exit code $?"
SERVER_PID=""
[ -n "$SERVER_NOTE" ] && { echo "NOTE: $SERVER_NOTE"; figure "note" "$SERVER_NOTE" "" "INFO"; }
exit 0
