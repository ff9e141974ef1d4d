#!/bin/bash
# End to end: update, patch (JSON, merge, strategic) and delete through kubectl and raw.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
rv() { kubectl get ns "$1" -o jsonpath='{.metadata.resourceVersion}'; }
export -f raw rv
export D VK_URL WORK
echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"m1"}}' | kubectl create --validate=false -f - >/dev/null

check "kubectl label (merge patch)" bash -c "kubectl label ns m1 a=b >/dev/null && [ \$(kubectl get ns m1 -o jsonpath='{.metadata.labels.a}') = b ]"
check "kubectl annotate" bash -c "kubectl annotate ns m1 note=hi >/dev/null && [ \$(kubectl get ns m1 -o jsonpath='{.metadata.annotations.note}') = hi ]"
check "a no-op patch writes nothing (same resourceVersion)" bash -c 'before=$(rv m1); kubectl label ns m1 a=b --overwrite >/dev/null; [ "$(rv m1)" = "$before" ]'
check "kubectl patch --type=json remove" bash -c "kubectl patch ns m1 --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/labels/a\"}]' >/dev/null && [ -z \"\$(kubectl get ns m1 -o jsonpath='{.metadata.labels.a}')\" ]"
check "JSON patch test failure is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"x\"}]' \$VK_URL/api/v1/namespaces/m1) = 422 ]"
check "kubectl patch (strategic) adds a label" bash -c "kubectl patch ns m1 -p '{\"metadata\":{\"labels\":{\"c\":\"d\"}}}' >/dev/null && [ \$(kubectl get ns m1 -o jsonpath='{.metadata.labels.c}') = d ]"
check "strategic \$patch: replace on labels" bash -c "raw -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d '{\"metadata\":{\"labels\":{\"\$patch\":\"replace\",\"only\":\"me\"}}}' \$VK_URL/api/v1/namespaces/m1 >/dev/null && [ \"\$(kubectl get ns m1 -o jsonpath='{.metadata.labels}')\" = '{\"kubernetes.io/metadata.name\":\"m1\",\"only\":\"me\"}' ]"
check "PATCH with an unknown type is 415" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' -d '{}' \$VK_URL/api/v1/namespaces/m1) = 415 ]"
check "patch cannot change uid or creationTimestamp" bash -c 'uid=$(kubectl get ns m1 -o jsonpath="{.metadata.uid}"); raw -X PATCH -H "Content-Type: application/merge-patch+json" -d "{\"metadata\":{\"creationTimestamp\":\"2000-01-01T00:00:00Z\"}}" $VK_URL/api/v1/namespaces/m1 >/dev/null; [ "$(kubectl get ns m1 -o jsonpath="{.metadata.uid}")" = "$uid" ] && ! kubectl get ns m1 -o jsonpath="{.metadata.creationTimestamp}" | grep -q 2000'
check "namespace status cannot be changed by update" bash -c "raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"status\":{\"phase\":\"Terminating\"}}' \$VK_URL/api/v1/namespaces/m1 >/dev/null; [ \$(kubectl get ns m1 -o jsonpath='{.status.phase}') = Active ]"
check "kubectl replace" bash -c "kubectl get ns m1 -o json | sed 's/\"only\": \"me\"/\"only\": \"you\"/' | kubectl replace --validate=false -f - >/dev/null && [ \$(kubectl get ns m1 -o jsonpath='{.metadata.labels.only}') = you ]"
check "replace with a stale resourceVersion is 409 Conflict" bash -c "kubectl get ns m1 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); d[\"metadata\"][\"resourceVersion\"]=\"1\"; print(json.dumps(d))' | kubectl replace --validate=false -f - 2>&1 | grep -q 'Conflict.*the object has been modified'"
check "update with another name is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"other\"}}' \$VK_URL/api/v1/namespaces/m1) = 400 ]"
check "update of a missing object is 404" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"nope\"}}' \$VK_URL/api/v1/namespaces/nope) = 404 ]"
check "watch sees MODIFIED for a patch" bash -c '
    r0=$(rv m1)
    raw -N "$VK_URL/api/v1/namespaces?watch=1&resourceVersion=$r0&timeoutSeconds=2" >"$WORK/w" &
    sleep 0.5; kubectl label ns m1 w=1 >/dev/null; wait
    grep -q "^{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Namespace\".*\"w\":\"1\"" "$WORK/w"'
check "label-selected watch: leaving the selector is DELETED, entering is ADDED" bash -c '
    r0=$(rv m1)
    raw -N "$VK_URL/api/v1/namespaces?watch=1&labelSelector=w%3D1&resourceVersion=$r0&timeoutSeconds=2" >"$WORK/w2" &
    sleep 0.5; kubectl label ns m1 w=2 --overwrite >/dev/null; kubectl label ns m1 w=1 --overwrite >/dev/null; wait
    [ "$(cut -c1-20 "$WORK/w2" | tr "\n" " ")" = "{\"type\":\"DELETED\",\"o {\"type\":\"ADDED\",\"obj " ]'
check "delete precondition on uid is 409" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X DELETE -H 'Content-Type: application/json' -d '{\"preconditions\":{\"uid\":\"nope\"}}' \$VK_URL/api/v1/namespaces/m1) = 409 ]"
check "dryRun delete keeps the object" bash -c "raw -X DELETE \"\$VK_URL/api/v1/namespaces/m1?dryRun=All\" >/dev/null && kubectl get ns m1 >/dev/null"
check "delete of a namespace answers it Terminating, then the controller removes it" bash -c "raw -X DELETE \$VK_URL/api/v1/namespaces/m1 | grep -q '\"deletionTimestamp\":.*\"phase\":\"Terminating\"' && for i in \$(seq 40); do kubectl get ns m1 >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1"
check "delete of a missing object is 404" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X DELETE \$VK_URL/api/v1/namespaces/nope) = 404 ]"
check "unknown fields are Warning headers by default" bash -c "raw -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"fv1\"},\"spec\":{\"foo\":1}}' \$VK_URL/api/v1/namespaces | grep -qi '^warning: 299 - \"unknown field \\\\\"spec.foo\\\\\"\"'"
check "unknown fields are dropped from the stored object" bash -c "! raw \$VK_URL/api/v1/namespaces/fv1 | grep -q foo"
check "fieldValidation=Strict: 400 strict decoding error" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"fv2\"},\"spec\":{\"foo\":1},\"bar\":2}' \"\$VK_URL/api/v1/namespaces?fieldValidation=Strict\" | grep -q 'strict decoding error: unknown field \\\\\"spec.foo\\\\\", unknown field \\\\\"bar\\\\\"'"
check "Strict applies to patches too" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"spec\":{\"zzz\":1}}' \"\$VK_URL/api/v1/namespaces/fv1?fieldValidation=Strict\") = 400 ]"
check "duplicate keys: Strict 400, Warn warning" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"fv3\",\"name\":\"fv4\"}}' \"\$VK_URL/api/v1/namespaces?fieldValidation=Strict\") = 400 ] && raw -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"fv3\",\"name\":\"fv4\"}}' \$VK_URL/api/v1/namespaces | grep -qi 'warning: 299 - \"duplicate field'"
check "bad fieldValidation value is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"fv5\"}}' \"\$VK_URL/api/v1/namespaces?fieldValidation=Bogus\") = 400 ]"
check "kubectl prints the server's warning" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fv6\"},\"spec\":{\"foo\":1}}' | kubectl create --validate=false -f - 2>&1 | grep -q 'namespace/fv6 created'"
check "kubectl delete namespace waits and the namespace is gone (controller)" bash -c "kubectl create ns gone >/dev/null && kubectl -n gone create cm c --from-literal=a=b >/dev/null && kubectl -n gone create service clusterip s --tcp=80 >/dev/null && timeout 20 kubectl delete ns gone >/dev/null && ! kubectl get ns gone 2>/dev/null && [ \$(raw \$VK_URL/api/v1/namespaces/gone/configmaps | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"items\"]))') = 0 ]"
check "content with a finalizer holds its namespace until the finalizer goes" bash -c '
    kubectl create ns held >/dev/null; kubectl -n held create cm keep --from-literal=a=b >/dev/null
    kubectl -n held patch cm keep -p "{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}" >/dev/null
    kubectl delete ns held --wait=false >/dev/null; sleep 1.5
    [ "$(kubectl get ns held -o jsonpath={.status.phase})" = Terminating ] && [ -n "$(kubectl -n held get cm keep -o jsonpath={.metadata.deletionTimestamp})" ] || exit 1
    kubectl -n held patch cm keep --type=json -p "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]" | grep -q "configmap/keep patched" || exit 1
    for i in $(seq 40); do kubectl get ns held >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1'
kubectl create ns st1 >/dev/null
check "namespaces/status: status and metadata change, spec does not" bash -c "raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"metadata\":{\"annotations\":{\"a\":\"b\"}},\"spec\":{\"finalizers\":[]},\"status\":{\"conditions\":[{\"type\":\"T\",\"status\":\"True\"}]}}' \$VK_URL/api/v1/namespaces/st1/status >/dev/null && [ \"\$(kubectl get ns st1 -o jsonpath='{.spec.finalizers[0]} {.status.conditions[0].type} {.metadata.annotations.a}')\" = 'kubernetes T b' ]"
check "GET of a status subresource is the object" bash -c "raw \$VK_URL/api/v1/namespaces/st1/status | grep -q '^{\"kind\":\"Namespace\"'"
check "namespaces/finalize writes spec.finalizers only" bash -c "raw \$VK_URL/api/v1/namespaces/st1 | python3 -c 'import json,sys; d=json.load(sys.stdin); d[\"spec\"][\"finalizers\"]=[]; d[\"status\"]={\"phase\":\"Terminating\"}; print(json.dumps(d))' | raw -X PUT -H 'Content-Type: application/json' -d @- \$VK_URL/api/v1/namespaces/st1/finalize >/dev/null && [ \"\$(kubectl get ns st1 -o jsonpath='{.spec.finalizers} {.status.phase}')\" = ' Active' ]"
check "finalize is update-only (405 for GET)" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/api/v1/namespaces/st1/finalize) = 405 ]"
check "kubectl patch --subresource=status on a Service" bash -c "kubectl patch svc kubernetes --subresource=status -p '{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.2.3.4\"}]}}}' >/dev/null && [ \$(kubectl get svc kubernetes -o jsonpath='{.status.loadBalancer.ingress[0].ip}') = 1.2.3.4 ]"
check "an unknown subresource is 404" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/api/v1/namespaces/st1/bogus) = 404 ]"
check "discovery lists the subresources" bash -c "raw \$VK_URL/api/v1 | grep -q '{\"name\":\"namespaces/status\",\"singularName\":\"\",\"namespaced\":false,\"kind\":\"Namespace\",\"verbs\":\[\"get\",\"patch\",\"update\"\]}'"
check "SIGTERM exits 0" stop_server
