#!/bin/bash
# End to end: the real binary, kubectl and curl over TLS, HTTP/2 and HTTP/1.1.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "help exits 0" "$VKUBE" --help
check "version names v1.37" bash -c "'$VKUBE' version | grep -q '\"gitVersion\": \"v1.37'"
check "unknown flag exits 2" bash -c "'$VKUBE' server --bogus; [ \$? -eq 2 ]"

check "server starts" start_server "$D" -v 4
check "data dir is 0700" bash -c "[ \$(stat -c %a '$D') = 700 ]"
check "keys are 0600" bash -c "for k in '$D'/pki/*.key; do [ \$(stat -c %a \"\$k\") = 600 ] || exit 1; done"
check "kubectl version reports the server" bash -c "kubectl version 2>/dev/null | grep -q 'Server Version: v1.37'"
check "kubectl get --raw /readyz?verbose" bash -c "kubectl get --raw '/readyz?verbose' | grep -q 'readyz check passed'"
check "kubectl get --raw /livez" bash -c "[ \"\$(kubectl get --raw /livez)\" = ok ]"
check "per-check path /readyz/ping" bash -c "[ \"\$(kubectl get --raw /readyz/ping)\" = ok ]"
check "kubectl speaks HTTP/2" bash -c "kubectl get --raw /version >/dev/null && grep 'userAgent=\"kubectl' '$WORK/server.log' | grep -q 'proto=\"HTTP/2.0\"'"

check "curl --http2 gets HTTP/2" bash -c "[ \"\$(admin_curl '$D' --http2 -o /dev/null -w '%{http_version}' $VK_URL/version)\" = 2 ]"
check "curl --http1.1 gets HTTP/1.1" bash -c "[ \"\$(admin_curl '$D' --http1.1 -o /dev/null -w '%{http_version}' $VK_URL/version)\" = 1.1 ]"
check "HTTP/1.1 keep-alive reuses the connection" bash -c "admin_curl '$D' --http1.1 -v $VK_URL/livez $VK_URL/healthz 2>&1 | grep -q 'Re-using existing connection'"
check "anonymous /version is allowed" bash -c "[ \$(curl -sk -o /dev/null -w '%{http_code}' $VK_URL/version) = 200 ]"
check "anonymous /api is 403 Forbidden Status" bash -c "curl -sk $VK_URL/api | grep -q '\"reason\": \"Forbidden\"' && [ \$(curl -sk -o /dev/null -w '%{http_code}' $VK_URL/api) = 403 ]"
check "anonymous /readyz/ping is 403" bash -c "[ \$(curl -sk -o /dev/null -w '%{http_code}' $VK_URL/readyz/ping) = 403 ]"
check "bad bearer token is 401 Unauthorized" bash -c "curl -sk -H 'Authorization: Bearer nope' $VK_URL/version | grep -q '\"reason\": \"Unauthorized\"'"
check "unknown path is Go's plain 404" bash -c "[ \"\$(admin_curl '$D' $VK_URL/nope)\" = '404 page not found' ]"
check "error replies carry nosniff and audit id" bash -c "admin_curl '$D' -D - -o /dev/null $VK_URL/nope | grep -qi '^x-content-type-options: nosniff' && admin_curl '$D' -D - -o /dev/null $VK_URL/nope | grep -qi '^audit-id: '"
check "audit id is echoed" bash -c "admin_curl '$D' -H 'Audit-ID: abc-123' -D - -o /dev/null $VK_URL/version | grep -qi '^audit-id: abc-123'"
head -c 4000000 /dev/zero >"$WORK/big"
check "body over 3 MiB is 413 (h2)" bash -c "admin_curl '$D' --http2 -X POST --data-binary @'$WORK/big' $VK_URL/healthz | grep -q RequestEntityTooLarge"
check "body over 3 MiB is 413 (h1)" bash -c "admin_curl '$D' --http1.1 -X POST --data-binary @'$WORK/big' $VK_URL/healthz | grep -q RequestEntityTooLarge"
check "TLS 1.1 is refused" bash -c "! echo | openssl s_client -connect ${VK_URL#https://} -tls1_1 -CAfile '$D/pki/ca.crt' 2>/dev/null | grep -q 'BEGIN CERTIFICATE'"
check "ALPN prefers h2" bash -c "echo | openssl s_client -connect ${VK_URL#https://} -alpn http/1.1,h2 2>/dev/null | grep -q 'ALPN protocol: h2'"
check "garbage after h2 handshake closes only that connection" bash -c "printf 'garbage garbage garbage garbage\r\n\r\n' | openssl s_client -quiet -connect ${VK_URL#https://} -alpn h2 >/dev/null 2>&1; [ \$(admin_curl '$D' -o /dev/null -w '%{http_code}' $VK_URL/livez) = 200 ]"
check "malformed HTTP/1.1 gets 400" bash -c "printf 'NOT HTTP\r\n\r\n' | openssl s_client -quiet -connect ${VK_URL#https://} -alpn http/1.1 2>/dev/null | grep -q '400 Bad Request'"
check "clients closing mid-response do not kill the server (SIGPIPE)" bash -c "h2load -n 2000 -c 5 -m 10 $VK_URL/version >/dev/null 2>&1; h2load --h1 -n 500 -c 10 $VK_URL/version >/dev/null 2>&1; [ \$(admin_curl '$D' -o /dev/null -w '%{http_code}' $VK_URL/livez) = 200 ]"
check "metrics count requests" bash -c "admin_curl '$D' $VK_URL/metrics | grep -q '^apiserver_request_total{code=\"200\".*verb=\"GET\"'"
check "metrics report storage objects per resource" bash -c "admin_curl '$D' $VK_URL/metrics | grep -q '^apiserver_storage_objects{resource=\"namespaces\"} 4\$'"
check "metrics report the commit latency histogram" bash -c "admin_curl '$D' $VK_URL/metrics | grep -q '^vkube_storage_commit_duration_seconds_count [1-9]'"
check "metrics report RSS" bash -c "admin_curl '$D' $VK_URL/metrics | grep -q '^process_resident_memory_bytes [1-9]'"

fp1=$(openssl x509 -in "$D/pki/ca.crt" -noout -fingerprint -sha256)
check "SIGTERM exits 0" stop_server
check "shutdown is logged" grep -q '"Stopped"' "$WORK/server.log"
check "restart succeeds" start_server "$D"
check "restart reuses the CA" bash -c "[ \"\$(openssl x509 -in '$D/pki/ca.crt' -noout -fingerprint -sha256)\" = '$fp1' ]"
check "kubectl works after restart" bash -c "[ \"\$(kubectl get --raw /healthz)\" = ok ]"

printf 'tok123,alice,uid-1,"dev,ops"\n' >"$WORK/tokens.csv"
check "SIGINT exits 0" stop_server INT
check "starts with a token file" start_server "$D" --token-auth-file "$WORK/tokens.csv"
check "token user may read discovery (system:discovery)" bash -c "[ \$(curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tok123' $VK_URL/api) = 200 ]"
check "token user is authenticated (403 names alice)" bash -c "curl -sk -H 'Authorization: Bearer tok123' $VK_URL/api/v1/namespaces | grep -q 'namespaces is forbidden: User \\\\\"alice\\\\\" cannot list resource \\\\\"namespaces\\\\\" in API group \\\\\"\\\\\" at the cluster scope'"
check "final SIGTERM exits 0" stop_server

# Slow clients cannot hold a connection: short timeouts make it observable.
check "starts with short timeouts" start_server "$D" --read-header-timeout 1 --idle-timeout 1
HP=${VK_URL#https://}
# cut_after SECONDS_OF_TRICKLE: connects over TLS, sends request headers one line every
# 0.5 s (none with 0), and prints how long until the server closed the connection.
cut_after() {
    python3 - "$HP" "$1" <<'PY'
import socket, ssl, sys, time
host, port = sys.argv[1].rsplit(":", 1)
lines = int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
t = time.time(); s.settimeout(0.5)
if lines:
    s.sendall(b"GET /version HTTP/1.1\r\n")
for i in range(40):
    if lines and i < lines * 2:
        try: s.sendall(b"X-A: b\r\n")
        except OSError: break
    try:
        if s.recv(1) == b"": break
    except socket.timeout: pass
    except (OSError, ssl.SSLError): break
print(round(time.time() - t, 1))
PY
}
export -f cut_after
export HP
check "an idle connection is closed" bash -c "t=\$(cut_after 0); echo \$t; python3 -c \"import sys; sys.exit(0 if \$t < 4.5 else 1)\""
check "slowloris: trickled headers are cut at the header timeout" bash -c "t=\$(cut_after 20); echo \$t; python3 -c \"import sys; sys.exit(0 if \$t < 4.5 else 1)\""
check "the server still serves after cutting slow clients" bash -c "[ \$(admin_curl '$D' -o /dev/null -w '%{http_code}' $VK_URL/livez) = 200 ]"
check "SIGTERM exits 0 (short timeouts)" stop_server
