#!/bin/bash
# End to end: the OpenAPI documents through kubectl (validation on create and apply,
# explain from v3 and from v2 protobuf) and curl (root document, hashes, 301, 304, gzip).
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK
# kubectl's own disk cache lives under HOME; keep it per run.
export HOME=$WORK/home
mkdir -p "$HOME"

cat >"$WORK/ns-ok.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: openapi-ok
  labels:
    tier: one
EOF
cat >"$WORK/ns-bad.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: openapi-bad
spec:
  foo: bar
EOF

check "kubectl create -f validates (no --validate=false) and creates" bash -c '
    kubectl create -f "$WORK/ns-ok.yaml" -v=6 >"$WORK/c1" 2>&1 &&
    grep -q "namespace/openapi-ok created" "$WORK/c1" &&
    grep -q "GET https://[^ ]*/openapi/v3/api/v1?hash=[0-9A-F]\{128\}[& ].* 200 OK" "$WORK/c1"'
check "an unknown field fails validation as with kube: unknown field \"spec.foo\"" bash -c '
    ! kubectl create -f "$WORK/ns-bad.yaml" >"$WORK/c2" 2>&1 && grep -q "unknown field \"spec.foo\"" "$WORK/c2" &&
    ! kubectl get ns openapi-bad >/dev/null 2>&1'
check "kubectl apply -f twice (create, then patch)" bash -c '
    kubectl apply -f "$WORK/ns-ok.yaml" >/dev/null 2>&1 || true
    sed -i "s/tier: one/tier: two/" "$WORK/ns-ok.yaml" &&
    kubectl apply -f "$WORK/ns-ok.yaml" | grep -q "namespace/openapi-ok configured" &&
    [ "$(kubectl get ns openapi-ok -o jsonpath={.metadata.labels.tier})" = two ]'
check "kubectl explain namespaces prints the Namespace description" bash -c '
    kubectl explain namespaces >"$WORK/e1" 2>&1 && grep -q "^KIND: *Namespace" "$WORK/e1" &&
    grep -q "Namespace provides a scope for Names" "$WORK/e1" && grep -q "^  spec\s*<NamespaceSpec>" "$WORK/e1"'
check "kubectl explain a field path" bash -c '
    kubectl explain namespace.spec.finalizers | grep -q "FIELD: *finalizers <\[\]string>"'
check "kubectl explain from /openapi/v2 (gnostic protobuf)" bash -c '
    kubectl explain namespaces --output=plaintext-openapiv2 | grep -q "Namespace provides a scope for Names"'

check "GET /openapi/v3: JSON root, keys without a slash, hash = SHA-512 of each document" bash -c '
    raw -D "$WORK/h1" -o "$WORK/root.json" "$VK_URL/openapi/v3" &&
    grep -qi "^content-type: application/json" "$WORK/h1" && grep -qi "^etag: \"[0-9A-F]\{128\}\"" "$WORK/h1" &&
    python3 - "$WORK/root.json" <<PY
import hashlib, json, subprocess, sys, os
paths = json.load(open(sys.argv[1]))["paths"]
for k in ("api", "api/v1", "apis", "apis/apps/v1", "version"):
    assert k in paths, k
assert not any(k.startswith("/") for k in paths)
assert "logs" not in paths and "apis/resource.k8s.io/v1beta1" not in paths
for k in ("api/v1", "apis/apps/v1"):
    url = paths[k]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/" + k + "?hash="), url
    body = subprocess.run(["bash", "-c", "raw \"\$VK_URL" + url + "\""], capture_output=True, check=True).stdout
    assert hashlib.sha512(body).hexdigest().upper() == url.split("hash=")[1], k
    assert json.loads(body)["openapi"].startswith("3.")
PY'
check "the current ?hash= is immutable for a year; a stale one is a 301 to it" bash -c '
    url=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"paths\"][\"api/v1\"][\"serverRelativeURL\"])" "$WORK/root.json")
    raw -D "$WORK/h2" -o /dev/null "$VK_URL$url" &&
    grep -qi "^cache-control: public, immutable" "$WORK/h2" && grep -qi "^expires: .* $(( $(date -u +%Y) + 1 )) " "$WORK/h2" &&
    [ "$(raw -o /dev/null -w "%{http_code} %{redirect_url}" "$VK_URL/openapi/v3/api/v1?hash=0123")" = "301 $VK_URL$url" ] &&
    raw -L -o /dev/null -w "%{http_code}" "$VK_URL/openapi/v3/api/v1?hash=0123" | grep -qx 200'
check "If-None-Match with the ETag is a 304" bash -c '
    etag=$(sed -n "s/^etag: //Ip" "$WORK/h1" | tr -d "\r")
    [ "$(raw -o /dev/null -w "%{http_code}" -H "If-None-Match: $etag" "$VK_URL/openapi/v3")" = 304 ]'
check "unknown group-version is 404" bash -c '
    [ "$(raw -o /dev/null -w "%{http_code}" "$VK_URL/openapi/v3/apis/nope.example.com/v1")" = 404 ]'
check "gzip when asked (Content-Encoding: gzip), identity otherwise, same document" bash -c '
    raw -D "$WORK/h3" -o "$WORK/v2.gz" -H "Accept-Encoding: gzip" "$VK_URL/openapi/v2" &&
    grep -qi "^content-encoding: gzip" "$WORK/h3" &&
    raw -D "$WORK/h4" -o "$WORK/v2.json" "$VK_URL/openapi/v2" && ! grep -qi "^content-encoding" "$WORK/h4" &&
    gunzip -c "$WORK/v2.gz" | cmp - "$WORK/v2.json" &&
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"swagger\"]==\"2.0\" and \"/api/v1/namespaces\" in d[\"paths\"]" "$WORK/v2.json"'
check "/openapi/v2: protobuf as kube labels it; anything else 406" bash -c '
    [ "$(raw -o /dev/null -w "%{http_code} %{content_type}" -H "Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf" "$VK_URL/openapi/v2")" = "200 application/com.github.proto-openapi.spec.v2.v1.0+protobuf" ] &&
    [ "$(raw -o /dev/null -w "%{http_code}" -H "Accept: text/html" "$VK_URL/openapi/v2")" = 406 ]'
check "clean shutdown" stop_server
