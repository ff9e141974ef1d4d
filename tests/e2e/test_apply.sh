#!/bin/bash
# End to end: kubectl apply (client-side: strategic merge patches with the
# last-applied annotation) and the first non-core group, coordination.k8s.io.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK

cat >"$WORK/lease.yaml" <<'Y'
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: l1
  namespace: kube-node-lease
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 40
  renewTime: "2026-11-25T13:00:00.123456Z"
Y
check "/apis lists coordination.k8s.io" bash -c "raw \$VK_URL/apis | grep -q '\"name\":\"coordination.k8s.io\",\"versions\":\\[{\"groupVersion\":\"coordination.k8s.io/v1\",\"version\":\"v1\"}\\]'"
check "group discovery document" bash -c "raw \$VK_URL/apis/coordination.k8s.io | grep -q '^{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"coordination.k8s.io\"'"
check "kubectl api-resources shows leases" bash -c "kubectl api-resources --no-headers | grep -Eq '^leases +coordination.k8s.io/v1 +true +Lease'"
check "kubectl apply creates (validated against OpenAPI)" bash -c "kubectl apply -f '$WORK/lease.yaml' | grep -q 'lease.coordination.k8s.io/l1 created'"
check "MicroTime keeps its microseconds" bash -c "[ \$(kubectl get lease l1 -n kube-node-lease -o jsonpath='{.spec.renewTime}') = 2026-11-25T13:00:00.123456Z ]"
check "leases print NAME HOLDER AGE" bash -c "kubectl get leases -n kube-node-lease | head -1 | grep -Eq '^NAME +HOLDER +AGE'"
sed -i 's/node-a/node-b/; s/leaseDurationSeconds: 40/leaseDurationSeconds: 15/' "$WORK/lease.yaml"
check "kubectl apply again patches" bash -c "kubectl apply -f '$WORK/lease.yaml' | grep -q 'configured' && [ \"\$(kubectl get lease l1 -n kube-node-lease -o jsonpath='{.spec.holderIdentity} {.spec.leaseDurationSeconds}')\" = 'node-b 15' ]"
check "kubectl apply unchanged" bash -c "kubectl apply -f '$WORK/lease.yaml' | grep -q unchanged"
check "invalid lease duration is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"leaseDurationSeconds\":0}}' \$VK_URL/apis/coordination.k8s.io/v1/namespaces/default/leases) = 422 ]"
check "a group resource's NotFound names resource.group" bash -c "raw \$VK_URL/apis/coordination.k8s.io/v1/namespaces/default/leases/nope | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"message\"]==\"leases.coordination.k8s.io \\\"nope\\\" not found\" and d[\"details\"]=={\"name\":\"nope\",\"group\":\"coordination.k8s.io\",\"kind\":\"leases\"}, d'"
cat >"$WORK/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
  labels: {a: "1"}
data: {k1: v1, k2: v2}
Y
check "kubectl apply a ConfigMap" bash -c "kubectl apply -f '$WORK/cm.yaml' | grep -q created"
sed -i 's/k2: v2/k3: v3/' "$WORK/cm.yaml"
check "apply removes what left the manifest" bash -c "kubectl apply -f '$WORK/cm.yaml' >/dev/null && [ \"\$(kubectl get cm applied -o jsonpath='{.data}')\" = '{\"k1\":\"v1\",\"k3\":\"v3\"}' ]"
check "kubectl delete -f" bash -c "kubectl delete -f '$WORK/cm.yaml' | grep -q deleted"
uid=$(kubectl get cm kube-root-ca.crt -o jsonpath='{.metadata.uid}')
cat >"$WORK/ev.yaml" <<Y
apiVersion: v1
kind: Event
metadata: {name: ev1, namespace: default}
involvedObject: {kind: ConfigMap, name: kube-root-ca.crt, namespace: default, uid: $uid}
reason: Tested
message: hello from an event
type: Warning
source: {component: e2e}
firstTimestamp: "2026-11-25T13:00:00Z"
lastTimestamp: "2026-11-25T13:00:00Z"
count: 1
Y
check "events: create and print kube's columns" bash -c "kubectl create -f '$WORK/ev.yaml' >/dev/null && kubectl get events | head -1 | grep -Eq '^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE'"
check "kubectl describe finds an object's events (involvedObject field selectors)" bash -c "kubectl describe cm kube-root-ca.crt | grep -Eq 'Warning +Tested .* e2e +hello from an event'"
check "event field selectors on type and reason" bash -c "[ \"\$(kubectl get ev --field-selector type=Warning,reason=Tested -o name)\" = event/ev1 ]"
check "an event about another namespace's object is 422" bash -c "sed 's/namespace: default, uid/namespace: other, uid/' '$WORK/ev.yaml' | sed 's/name: ev1/name: ev2/' | kubectl create -f - 2>&1 | grep -q 'does not match event.namespace'"
check "SIGTERM exits 0" stop_server
