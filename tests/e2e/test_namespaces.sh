#!/bin/bash
# End to end: the first resource (namespaces) through kubectl and raw requests.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK

check "system namespaces exist" bash -c "kubectl get namespaces --no-headers | awk '{print \$1}' | tr '\n' ' ' | grep -qx 'default kube-node-lease kube-public kube-system '"
check "namespaces print as a Table with STATUS and AGE" bash -c "kubectl get namespaces | head -1 | grep -q '^NAME *STATUS *AGE'"
check "namespace phase is Active" bash -c "[ \$(kubectl get ns default -o jsonpath='{.status.phase}') = Active ]"
check "namespace has the kubernetes finalizer and name label" bash -c "[ \"\$(kubectl get ns kube-system -o jsonpath='{.spec.finalizers[0]} {.metadata.labels.kubernetes\.io/metadata\.name}')\" = 'kubernetes kube-system' ]"
check "kubectl create -f makes a namespace" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team-a\",\"labels\":{\"x\":\"y\"}}}' | kubectl create --validate=false -f - | grep -q 'namespace/team-a created'"
check "created object has system fields" bash -c "kubectl get ns team-a -o jsonpath='{.metadata.uid} {.metadata.resourceVersion} {.metadata.creationTimestamp}' | grep -Eq '^[0-9a-f-]{36} [0-9]+ 20[0-9-]+T[0-9:]+Z\$'"
check "duplicate create is AlreadyExists" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team-a\"}}' | kubectl create --validate=false -f - 2>&1 | grep -q 'AlreadyExists.*namespaces \"team-a\" already exists'"
check "invalid name is 422 Invalid with a cause" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"Bad_Name\"}}' \$VK_URL/api/v1/namespaces | grep -q '\"reason\":\"Invalid\".*\"field\":\"metadata.name\"'"
check "generateName makes a 5-character suffix" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"generateName\":\"gen-\"}}' \$VK_URL/api/v1/namespaces | grep -Eq '\"name\":\"gen-[bcdfghjklmnpqrstvwxz2456789]{5}\"'"
check "dryRun=All stores nothing" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"dry\"}}' \"\$VK_URL/api/v1/namespaces?dryRun=All\" | grep -q '\"name\":\"dry\"' && [ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/api/v1/namespaces/dry) = 404 ]"
check "create with resourceVersion is refused" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"rv\",\"resourceVersion\":\"5\"}}' \$VK_URL/api/v1/namespaces | grep -q 'resourceVersion should not be set'"
check "missing namespace is a NotFound Status" bash -c "raw \$VK_URL/api/v1/namespaces/nope | grep -qx '{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"namespaces \\\\\"nope\\\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nope\",\"kind\":\"namespaces\"},\"code\":404}'"
check "GET splices kind and apiVersion first" bash -c "raw \$VK_URL/api/v1/namespaces/default | grep -q '^{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"default\",\"uid\"'"
check "list items carry no kind" bash -c "raw \$VK_URL/api/v1/namespaces | grep -q '^{\"kind\":\"NamespaceList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"[0-9]*\"},\"items\":\[{\"metadata\"'"
check "paged list: continue, remainingItemCount, same RV" bash -c '
    p1=$(raw "$VK_URL/api/v1/namespaces?limit=2")
    rv1=$(echo "$p1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"resourceVersion\"])")
    rem=$(echo "$p1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"remainingItemCount\"])")
    tok=$(echo "$p1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"][\"continue\"])")
    total=$(raw "$VK_URL/api/v1/namespaces" | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"items\"]))")
    [ "$rem" -eq $((total - 2)) ] || exit 1
    echo "{\"metadata\":{\"name\":\"after-page-one\"}}" | raw -X POST -H "Content-Type: application/json" -d @- "$VK_URL/api/v1/namespaces" >/dev/null
    p2=$(raw "$VK_URL/api/v1/namespaces?limit=100&continue=$tok")
    echo "$p2" | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d[\"metadata\"][\"resourceVersion\"]==\"$rv1\", d[\"metadata\"]
names=[i[\"metadata\"][\"name\"] for i in d[\"items\"]]
assert \"after-page-one\" not in names, names
assert len(names)==$total-2, names
assert \"continue\" not in d[\"metadata\"] and \"remainingItemCount\" not in d[\"metadata\"]
"'
check "kubectl --chunk-size pages through everything" bash -c "[ \$(kubectl get ns --chunk-size=1 --no-headers | wc -l) -eq \$(kubectl get ns --no-headers | wc -l) ]"
check "bad continue token is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \"\$VK_URL/api/v1/namespaces?continue=garbage\") = 400 ]"
check "Table: Name column first, cells match columns" bash -c "raw -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' \$VK_URL/api/v1/namespaces/default | python3 -c '
import json,sys
t=json.load(sys.stdin)
assert t[\"kind\"]==\"Table\" and t[\"columnDefinitions\"][0][\"name\"]==\"Name\"
r=t[\"rows\"][0]
assert len(r[\"cells\"])==len(t[\"columnDefinitions\"]) and r[\"cells\"][0]==\"default\"
assert r[\"object\"][\"kind\"]==\"PartialObjectMetadata\"'"
check "PartialObjectMetadataList" bash -c "raw -H 'Accept: application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' \$VK_URL/api/v1/namespaces | grep -q '\"kind\":\"PartialObjectMetadataList\"'"
check "unacceptable Accept is 406" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -H 'Accept: text/html' \$VK_URL/api/v1/namespaces) = 406 ]"
check "unknown body type is 415" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -d x \$VK_URL/api/v1/namespaces) = 415 ]"
check "malformed JSON is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":' \$VK_URL/api/v1/namespaces) = 400 ]"
check "discovery: /api lists v1" bash -c "raw \$VK_URL/api | grep -q '\"versions\":\[\"v1\"\]'"
check "discovery: namespaces with kube's storageVersionHash" bash -c "raw \$VK_URL/api/v1 | grep -q '\"name\":\"namespaces\",\"singularName\":\"namespace\",\"namespaced\":false,\"kind\":\"Namespace\".*\"shortNames\":\[\"ns\"\],\"storageVersionHash\":\"Q3oi5N2YM8M=\"'"
check "discovery: trailing slashes answer alike" bash -c "[ \"\$(raw \$VK_URL/api/)\" = \"\$(raw \$VK_URL/api)\" ] && [ \"\$(raw \$VK_URL/apis/)\" = \"\$(raw \$VK_URL/apis)\" ]"
AGG='Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'
export AGG
check "aggregated discovery: /api is the core group as APIGroupDiscoveryList" bash -c "raw -D \$WORK/agg.h -H \"\$AGG\" \$VK_URL/api | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert d[\"kind\"]==\"APIGroupDiscoveryList\" and d[\"apiVersion\"]==\"apidiscovery.k8s.io/v2\", d
g=d[\"items\"]
assert len(g)==1 and g[0][\"metadata\"]=={} and g[0][\"versions\"][0][\"version\"]==\"v1\"
r={x[\"resource\"]:x for x in g[0][\"versions\"][0][\"resources\"]}
assert r[\"namespaces\"][\"scope\"]==\"Cluster\" and r[\"namespaces\"][\"responseKind\"]=={\"group\":\"\",\"version\":\"\",\"kind\":\"Namespace\"}
assert [s[\"subresource\"] for s in r[\"namespaces\"][\"subresources\"]]==[\"finalize\",\"status\"]' && grep -qi '^content-type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' \$WORK/agg.h && grep -qi '^cache-control: public' \$WORK/agg.h"
check "aggregated discovery: a matching If-None-Match is 304" bash -c "etag=\$(raw -D - -o /dev/null -H \"\$AGG\" \$VK_URL/apis | sed -n 's/^etag: //Ip' | tr -d '\r'); [ \$(raw -o /dev/null -w '%{http_code}' -H \"\$AGG\" -H \"If-None-Match: \$etag\" \$VK_URL/apis) = 304 ]"
check "kubectl api-resources lists namespaces" bash -c "kubectl api-resources --no-headers | grep -Eq '^namespaces +ns +v1 +false +Namespace'"

for n in sel-a sel-b sel-c; do
    raw -X POST -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"$n\",\"labels\":{\"team\":\"$n\",\"env\":\"prod\"}}}" "$VK_URL/api/v1/namespaces" >/dev/null
done
check "kubectl -l with a set and an equality" bash -c "[ \"\$(kubectl get ns -l 'team in (sel-a,sel-b),env=prod' --no-headers -o name | tr '\n' ' ')\" = 'namespace/sel-a namespace/sel-b ' ]"
check "kubectl -l !key" bash -c "! kubectl get ns -l '!team' --no-headers -o name | grep -q sel-"
check "field selector on a resource field" bash -c "[ \$(kubectl get ns --field-selector status.phase=Active,metadata.name!=default --no-headers | grep -c default) -eq 0 ]"
check "unsupported field label is 400" bash -c "kubectl get ns --field-selector spec.foo=x 2>&1 | grep -q 'field label not supported: spec.foo'"
check "malformed label selector is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \"\$VK_URL/api/v1/namespaces?labelSelector=a%20b\") = 400 ]"
check "selected pages omit remainingItemCount" bash -c "raw \"\$VK_URL/api/v1/namespaces?labelSelector=env%3Dprod&limit=1\" | python3 -c 'import json,sys; m=json.load(sys.stdin)[\"metadata\"]; assert \"continue\" in m and \"remainingItemCount\" not in m, m'"
check "watch with a label selector sees only matches" bash -c "raw -N \"\$VK_URL/api/v1/namespaces?watch=1&labelSelector=team%3Dsel-b&timeoutSeconds=1\" | grep -c '\"type\":\"ADDED\"' | grep -qx 1"

check "kubectl create namespace (protobuf body and reply)" bash -c "kubectl create namespace pb-one | grep -q 'namespace/pb-one created'"
check "kubectl describe namespace (protobuf)" bash -c "kubectl describe namespace pb-one | grep -q '^Status: *Active'"
check "a protobuf client gets the 422 as a decodable Status" bash -c "kubectl create namespace Bad_Name 2>&1 | grep -q 'The Namespace \"Bad_Name\" is invalid: metadata.name'"
check "protobuf GET is kube's envelope" bash -c "raw -H 'Accept: application/vnd.kubernetes.protobuf' \$VK_URL/api/v1/namespaces/default | head -c 16 | od -An -c | tr -s ' ' | grep -q 'k 8 s \\\\0'"
check "protobuf watch is length-framed WatchEvents" bash -c "raw -N -H 'Accept: application/vnd.kubernetes.protobuf' \"\$VK_URL/api/v1/namespaces?watch=1&timeoutSeconds=1\" | python3 -c '
import sys
b=sys.stdin.buffer.read(); n=0
while b:
    l=int.from_bytes(b[:4],\"big\"); ev=b[4:4+l]; b=b[4+l:]
    assert ev[0]==0x0a and ev[2:2+ev[1]]==b\"ADDED\", ev[:20]
    assert b\"k8s\\x00\" in ev; n+=1
assert n>=5, n'"

cat >"$WORK/pbbomb.py" <<'PY'
# Sends protobuf bodies whose envelope names another kind, or nests 20000 levels deep.
import ssl, sys, http.client
d, hp = sys.argv[1], sys.argv[2]
def varint(n):
    out = b''
    while True:
        b = n & 0x7f; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def field(num, data): return varint((num << 3) | 2) + varint(len(data)) + data
raw = b''
for i in range(20000): raw = field(1, raw)
ctx = ssl.create_default_context(cafile=d + '/pki/ca.crt'); ctx.load_cert_chain(d + '/pki/admin.crt', d + '/pki/admin.key')
host, port = hp.rsplit(':', 1)
c = http.client.HTTPSConnection(host, int(port), context=ctx)
for av, kind in ((b'apiextensions.k8s.io/v1', b'CustomResourceDefinition'), (b'v1', b'Namespace')):
    body = b'k8s\x00' + field(1, field(1, av) + field(2, kind)) + field(2, raw)
    c.request('POST', '/api/v1/namespaces', body=body, headers={'Content-Type': 'application/vnd.kubernetes.protobuf'})
    r = c.getresponse(); text = r.read()
    assert r.status == 400, (r.status, text)
    print(kind.decode(), r.status, text[:120])
PY
check "protobuf envelopes of another kind or deep nesting are 400, not a crash" bash -c "python3 '$WORK/pbbomb.py' '$D' \"\${VK_URL#https://}\" && [ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/livez) = 200 ]"

check "kill -9 then restart" bash -c "kill -9 $VK_PID"
VK_PID=""
check "server restarts on the same data" start_server "$D"
check "acknowledged create survived kill -9" bash -c "kubectl get ns team-a -o jsonpath='{.metadata.labels.x}' | grep -qx y"
check "revisions keep growing after restart" bash -c '
    before=$(kubectl get ns team-a -o jsonpath="{.metadata.resourceVersion}")
    raw -X POST -H "Content-Type: application/json" -d "{\"metadata\":{\"name\":\"after-restart\"}}" "$VK_URL/api/v1/namespaces" >/dev/null
    after=$(kubectl get ns after-restart -o jsonpath="{.metadata.resourceVersion}")
    [ "$after" -gt "$before" ]'
check "SIGTERM exits 0" stop_server
