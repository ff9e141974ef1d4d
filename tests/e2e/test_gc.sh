#!/bin/bash
# End to end: deletion propagation and the garbage collector: background, orphan and
# foreground deletion, dangling owners, kube's DeleteOptions checks, after a restart too.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
uid() { kubectl get "$1" "$2" -o jsonpath='{.metadata.uid}'; }
# dependent KIND NAME OWNER_KIND OWNER_NAME [BLOCK]: a ConfigMap or Secret owned by another object
dependent() {
    local ouid av=v1
    ouid=$(uid "$3" "$4")
    [ "$3" = replicaset ] && av=apps/v1
    local okind
    case $3 in cm) okind=ConfigMap ;; secret) okind=Secret ;; replicaset) okind=ReplicaSet ;; esac
    echo "{\"apiVersion\":\"v1\",\"kind\":\"$1\",\"metadata\":{\"name\":\"$2\",\"ownerReferences\":[{\"apiVersion\":\"$av\",\"kind\":\"$okind\",\"name\":\"$4\",\"uid\":\"$ouid\",\"blockOwnerDeletion\":${5:-false}}]}}" | kubectl create -f - >/dev/null
}
gone() { for _ in $(seq 1 50); do kubectl get "$1" "$2" >/dev/null 2>&1 || return 0; sleep 0.1; done; return 1; }
export -f raw uid dependent gone
export D VK_URL WORK

check "background: deleting the owner deletes its dependents" bash -c "kubectl create cm o1 >/dev/null && dependent ConfigMap d1 cm o1 && dependent Secret d2 cm o1 && kubectl delete cm o1 >/dev/null && gone cm d1 && gone secret d2"
check "orphan: the dependents stay, without the reference" bash -c "kubectl create cm o2 >/dev/null && dependent ConfigMap d3 cm o2 && kubectl delete cm o2 --cascade=orphan >/dev/null && gone cm o2 && sleep 0.3 && kubectl get cm d3 >/dev/null && [ -z \"\$(kubectl get cm d3 -o jsonpath='{.metadata.ownerReferences}')\" ]"
check "foreground: the owner waits for a blocking dependent" bash -c "kubectl create cm o3 >/dev/null && dependent ConfigMap d4 cm o3 true && kubectl patch cm d4 -p '{\"metadata\":{\"finalizers\":[\"example.com/hold\"]}}' >/dev/null && kubectl delete cm o3 --cascade=foreground --wait=false >/dev/null && sleep 0.5 && [ \"\$(kubectl get cm o3 -o jsonpath='{.metadata.finalizers}')\" = '[\"foregroundDeletion\"]' ] && [ -n \"\$(kubectl get cm d4 -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
check "foreground: the owner goes once its dependent is gone" bash -c "kubectl patch cm d4 --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]' >/dev/null && gone cm d4 && gone cm o3"
check "foreground: a dependent with another live owner only loses the reference" bash -c "kubectl create cm fa >/dev/null && kubectl create cm fb >/dev/null && a=\$(uid cm fa) && b=\$(uid cm fb) && echo '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fd\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"fa\",\"uid\":\"'\$a'\",\"blockOwnerDeletion\":true},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"fb\",\"uid\":\"'\$b'\"}]}}' | kubectl create -f - >/dev/null && kubectl delete cm fa --cascade=foreground >/dev/null && gone cm fa && [ \"\$(kubectl get cm fd -o jsonpath='{.metadata.ownerReferences[*].name}')\" = fb ]"
check "a dependent created for an owner that does not exist is deleted" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"d5\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"nobody\",\"uid\":\"6a2b4ad2-0000-4000-8000-000000000000\"}]}}' | kubectl create -f - >/dev/null && gone cm d5"
check "a dangling reference next to a live owner is removed, the dependent kept" bash -c "kubectl create cm o4 >/dev/null && u=\$(uid cm o4) && echo '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"d6\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"o4\",\"uid\":\"'\$u'\"},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"nobody\",\"uid\":\"6a2b4ad2-0000-4000-8000-000000000001\"}]}}' | kubectl create -f - >/dev/null && for _ in \$(seq 1 30); do [ \"\$(kubectl get cm d6 -o jsonpath='{.metadata.ownerReferences[*].name}')\" = o4 ] && break; sleep 0.1; done; [ \"\$(kubectl get cm d6 -o jsonpath='{.metadata.ownerReferences[*].name}')\" = o4 ]"
check "a ReplicaSet's pods go with it" bash -c "echo '{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"rs\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && u=\$(uid replicaset rs) && echo '{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"rsp\",\"labels\":{\"a\":\"b\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"'\$u'\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}' | kubectl create -f - >/dev/null && kubectl delete rs rs >/dev/null && gone pod rsp"
check "propagationPolicy as a query parameter" bash -c "kubectl create cm o5 >/dev/null && dependent ConfigMap d7 cm o5 && raw -X DELETE \"\$VK_URL/api/v1/namespaces/default/configmaps/o5?propagationPolicy=Orphan\" >/dev/null && gone cm o5 && sleep 0.3 && kubectl get cm d7 >/dev/null"
check "an unknown propagationPolicy is kube's 422 on DeleteOptions" bash -c "kubectl create cm o6 >/dev/null && raw -X DELETE -H 'Content-Type: application/json' -d '{\"propagationPolicy\":\"Sideways\"}' \$VK_URL/api/v1/namespaces/default/configmaps/o6 | grep -q 'DeleteOptions.meta.k8s.io \\\\\"\\\\\" is invalid: propagationPolicy: Unsupported value: \\\\\"Sideways\\\\\"'"
check "orphanDependents with propagationPolicy is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X DELETE -H 'Content-Type: application/json' -d '{\"propagationPolicy\":\"Background\",\"orphanDependents\":true}' \$VK_URL/api/v1/namespaces/default/configmaps/o6) = 422 ]"
check "an owner and its dependent before a restart" bash -c "kubectl create cm o7 >/dev/null && dependent ConfigMap d8 cm o7 && kubectl get cm d8 >/dev/null"
check "SIGTERM exits 0" stop_server
# The index of owners is rebuilt from the store at start.
check "restarts" start_server "$D"
check "after the restart, deleting the owner still collects the dependent" bash -c "kubectl delete cm o7 >/dev/null && gone cm d8"
check "SIGTERM exits 0 again" stop_server
