#!/bin/bash
# End to end: ConfigMaps and Secrets: keys, immutability, Secret types and stringData.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK

check "kubectl create configmap (protobuf)" bash -c "kubectl create configmap c1 --from-literal=a=1 --from-literal=b=2 | grep -q 'configmap/c1 created'"
check "configmaps print NAME DATA AGE" bash -c "kubectl get cm c1 | tail -1 | grep -Eq '^c1 +2 +'"
check "stored ConfigMap has no spec or status" bash -c "raw \$VK_URL/api/v1/namespaces/default/configmaps/c1 | grep -q '^{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{.*},\"data\":{\"a\":\"1\",\"b\":\"2\"}}\$'"
check "invalid config key is 422 on data[key]" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bk\"},\"data\":{\"a/b\":\"v\"}}' | kubectl create -f - 2>&1 | grep -q 'data\\[a/b\\]: Invalid value'"
check "a key in both data and binaryData is a duplicate" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"dk\"},\"data\":{\"k\":\"v\"},\"binaryData\":{\"k\":\"dg==\"}}' \$VK_URL/api/v1/namespaces/default/configmaps | grep -q 'FieldValueDuplicate'"
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"imm"},"data":{"k":"v"},"immutable":true}' | kubectl create -f - >/dev/null
check "immutable ConfigMap data is frozen (422)" bash -c "kubectl patch cm imm -p '{\"data\":{\"k\":\"w\"}}' 2>&1 | grep -q 'field is immutable when .immutable. is set'"
check "immutable ConfigMap labels may change" bash -c "kubectl label cm imm x=y | grep -q labeled"
check "immutable cannot be turned off" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"immutable\":false}' \$VK_URL/api/v1/namespaces/default/configmaps/imm) = 422 ]"
check "kubectl create secret generic defaults type Opaque" bash -c "kubectl create secret generic s1 --from-literal=user=admin >/dev/null && [ \"\$(kubectl get secret s1 -o jsonpath='{.type} {.data.user}')\" = 'Opaque YWRtaW4=' ]"
check "stringData is folded into data and not stored" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"sd\"},\"stringData\":{\"k\":\"hello\"}}' | kubectl create -f - >/dev/null && [ \$(kubectl get secret sd -o jsonpath='{.data.k}') = aGVsbG8= ] && ! raw \$VK_URL/api/v1/namespaces/default/secrets/sd | grep -q stringData"
check "bad base64 in data is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"b64\"},\"data\":{\"k\":\"!!!\"}}' \$VK_URL/api/v1/namespaces/default/secrets) = 400 ]"
check "kubernetes.io/tls requires tls.crt and tls.key" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"t0\"},\"type\":\"kubernetes.io/tls\",\"data\":{}}' \$VK_URL/api/v1/namespaces/default/secrets | grep -q 'data\\[tls.crt\\]: Required value'"
check "kubectl create secret tls" bash -c "kubectl create secret tls t1 --cert='$D/pki/ca.crt' --key='$D/pki/ca.key' >/dev/null && kubectl get secret t1 | tail -1 | grep -Eq '^t1 +kubernetes.io/tls +2 '"
check "Secret type cannot change" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"type\":\"Other\"}' \$VK_URL/api/v1/namespaces/default/secrets/s1) = 422 ]"
check "field selector type= on secrets" bash -c "[ \"\$(kubectl get secrets --field-selector type=kubernetes.io/tls -o name)\" = secret/t1 ]"
check "kubectl delete configmap" bash -c "kubectl delete cm c1 | grep -q deleted && ! kubectl get cm c1 2>/dev/null"
for i in 1 2 3; do kubectl create cm dc$i --from-literal=a=$i >/dev/null; kubectl label cm dc$i dc=$i >/dev/null; done
check "deletecollection dryRun deletes nothing" bash -c "raw -X DELETE \"\$VK_URL/api/v1/namespaces/default/configmaps?labelSelector=dc&dryRun=All\" | grep -q '^{\"kind\":\"ConfigMapList\"' && [ \$(kubectl get cm -l dc --no-headers | wc -l) = 3 ]"
check "deletecollection with a selector answers the deleted list" bash -c "raw -X DELETE \"\$VK_URL/api/v1/namespaces/default/configmaps?labelSelector=dc%20in%20(1,2)\" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"kind\"]==\"ConfigMapList\" and sorted(i[\"metadata\"][\"name\"] for i in d[\"items\"])==[\"dc1\",\"dc2\"], d' && [ \"\$(kubectl get cm -l dc -o name)\" = configmap/dc3 ]"
check "deletecollection of namespaces is 405" bash -c "raw -X DELETE \$VK_URL/api/v1/namespaces | grep -q '\"message\":\"deletecollection is not supported on resources of kind \\\\\"namespaces\\\\\"\",\"reason\":\"MethodNotAllowed\"'"
check "SIGTERM exits 0" stop_server
