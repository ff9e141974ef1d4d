#!/bin/bash
# End to end: watch streams over HTTP/2 and HTTP/1.1, kubectl get -w, shutdown.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
mk() { raw -X POST -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"$1\"}}" "$VK_URL/api/v1/namespaces" >/dev/null; }
export -f raw mk
export D VK_URL WORK

check "watch from a list RV sees only later changes (h2)" bash -c '
    rv=$(raw "$VK_URL/api/v1/namespaces" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])")
    raw --http2 -N "$VK_URL/api/v1/namespaces?watch=true&resourceVersion=$rv&timeoutSeconds=2" >"$WORK/w1" &
    sleep 0.5; mk watched-1; wait
    [ $(wc -l <"$WORK/w1") -eq 1 ] && grep -q "^{\"type\":\"ADDED\",\"object\":{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"watched-1\"" "$WORK/w1"'
check "watch over HTTP/1.1 is chunked and ends cleanly at timeoutSeconds" bash -c '
    raw --http1.1 -N -D "$WORK/h" "$VK_URL/api/v1/namespaces?watch=1&timeoutSeconds=1" >"$WORK/w2" &&
    grep -qi "^transfer-encoding: chunked" "$WORK/h" && grep -qi "^content-type: application/json" "$WORK/h" &&
    [ $(grep -c "\"type\":\"ADDED\"" "$WORK/w2") -ge 5 ]'
check "legacy /watch/ path works" bash -c "raw -N \"\$VK_URL/api/v1/watch/namespaces?timeoutSeconds=1\" | grep -q '\"type\":\"ADDED\"'"
check "watch of one name" bash -c '
    raw -N "$VK_URL/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Dwatched-1&timeoutSeconds=1" >/dev/null;
    out=$(raw -N "$VK_URL/api/v1/watch/namespaces/default?timeoutSeconds=1"); [ $(echo "$out" | wc -l) -eq 1 ] && echo "$out" | grep -q "\"name\":\"default\""'
check "sendInitialEvents: ADDED then the initial-events-end bookmark" bash -c '
    raw -N "$VK_URL/api/v1/namespaces?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" >"$WORK/w3"
    python3 - "$WORK/w3" <<PY
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
bm=[i for i,e in enumerate(ev) if e["type"]=="BOOKMARK"]
assert bm, ev
b=ev[bm[0]]["object"]
assert b["metadata"]["annotations"]=={"k8s.io/initial-events-end":"true"}, b
assert all(e["type"]=="ADDED" for e in ev[:bm[0]]) and bm[0]>=5
assert int(b["metadata"]["resourceVersion"]) >= max(int(e["object"]["metadata"]["resourceVersion"]) for e in ev[:bm[0]])
PY'
check "sendInitialEvents without NotOlderThan is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \"\$VK_URL/api/v1/namespaces?watch=1&sendInitialEvents=true\") = 422 ]"
check "resourceVersionMatch on a plain watch is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \"\$VK_URL/api/v1/namespaces?watch=1&resourceVersion=1&resourceVersionMatch=NotOlderThan\") = 422 ]"
check "a future resourceVersion: the watch waits for it" bash -c '
    rv=$(raw "$VK_URL/api/v1/namespaces" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])")
    raw -N "$VK_URL/api/v1/namespaces?watch=1&resourceVersion=$((rv + 1))&timeoutSeconds=2" >"$WORK/wf" &
    sleep 0.5; mk future-1; mk future-2; wait
    [ $(wc -l <"$WORK/wf") -eq 1 ] && grep -q "\"name\":\"future-2\"" "$WORK/wf"'
check "sendInitialEvents at a future resourceVersion: ERROR 504 after 3 s" bash -c "raw -N \"\$VK_URL/api/v1/namespaces?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=999999\" | grep -q '^{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\".*\"reason\":\"Timeout\".*\"code\":504}}'"
check "kubectl get -w prints a new namespace" bash -c '
    (timeout 3 kubectl get ns -w >"$WORK/w4" 2>&1 &); sleep 1; mk watched-2; sleep 2.5; grep -q "^watched-2 *Active" "$WORK/w4"'
check "many concurrent watches on one HTTP/2 connection" bash -c '
    urls=(); for i in $(seq 1 40); do urls+=("$VK_URL/api/v1/namespaces?watch=1&resourceVersion=1&timeoutSeconds=2"); done
    raw --http2 -N --parallel --parallel-max 50 "${urls[@]}" >"$WORK/w5" &
    sleep 0.7; mk watched-3; wait
    [ $(grep -c "\"name\":\"watched-3\"" "$WORK/w5") -eq 40 ]'
check "SIGTERM ends open watches and exits 0" bash -c '
    raw -N "$VK_URL/api/v1/namespaces?watch=1&resourceVersion=1" >/dev/null & c=$!
    sleep 0.5; kill -TERM '"$VK_PID"'; wait $c'
check "server exited 0" bash -c "wait $VK_PID 2>/dev/null; for i in \$(seq 50); do kill -0 $VK_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
VK_PID=""
check "clean shutdown logged" grep -q '"Stopped" clean=true' "$WORK/server.log"
