#!/bin/bash
# End to end: the built-in controllers: namespace lifecycle, the default
# ServiceAccount and the kube-root-ca.crt ConfigMap in every namespace.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
export D VK_URL WORK
wait_for() { for _ in $(seq 50); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
export -f wait_for

check "system namespaces have the default ServiceAccount" bash -c "[ \$(kubectl get sa -A --no-headers | grep -c ' default ') -eq 4 ]"
check "a new namespace gets the default ServiceAccount" bash -c "kubectl create ns c1 >/dev/null && wait_for kubectl get sa default -n c1"
check "a new namespace gets kube-root-ca.crt with the cluster CA" bash -c "wait_for kubectl get cm kube-root-ca.crt -n c1 && [ \"\$(kubectl get cm kube-root-ca.crt -n c1 -o jsonpath='{.data.ca\\.crt}')\" = \"\$(cat '$D/pki/ca.crt')\" ]"
check "a deleted default ServiceAccount comes back" bash -c "kubectl delete sa default -n c1 >/dev/null && wait_for kubectl get sa default -n c1"
check "a changed kube-root-ca.crt is restored" bash -c "kubectl patch cm kube-root-ca.crt -n c1 -p '{\"data\":{\"ca.crt\":\"x\"}}' >/dev/null; wait_for bash -c \"kubectl get cm kube-root-ca.crt -n c1 -o jsonpath='{.data.ca\\\\.crt}' | grep -q BEGIN\""
check "namespace deletion removes its contents and the namespace" bash -c "timeout 20 kubectl delete ns c1 >/dev/null && ! kubectl get ns c1 2>/dev/null && [ -z \"\$(kubectl get sa,cm -n c1 --no-headers 2>/dev/null)\" ]"
check "a namespace terminating at restart is finished after it" bash -c '
    kubectl create ns c2 >/dev/null
    echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"hold\",\"namespace\":\"c2\",\"finalizers\":[\"example.com/hold\"]}}" | kubectl create -f - >/dev/null
    kubectl delete ns c2 --wait=false >/dev/null; sleep 0.5
    [ "$(kubectl get ns c2 -o jsonpath={.status.phase})" = Terminating ]'
check "restart" bash -c "kill -TERM $VK_PID; while kill -0 $VK_PID 2>/dev/null; do sleep 0.05; done"
VK_PID=""
check "server restarts" start_server "$D"
check "releasing the held content lets the namespace go" bash -c "kubectl patch cm hold -n c2 --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]' >/dev/null && wait_for bash -c '! kubectl get ns c2'"
check "SIGTERM exits 0" stop_server
