#!/bin/bash
# End to end: ResourceQuota as kube enforces it: the controller's status (hard, used),
# admission with kube's refusals, usage released when objects go, scopes, updates that
# change usage, dry run, and the ReplicationController's ReplicaFailure condition.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
kubectl create ns q >/dev/null
export KUBECONFIG D WORK
# used NAME RESOURCE VALUE: waits (3 s) until the quota's status.used[RESOURCE] is VALUE.
used() {
    local v
    for _ in $(seq 1 60); do
        v=$(kubectl get quota "$1" -n q -o json | jq -r --arg r "$2" '.status.used[$r] // "none"')
        [ "$v" = "$3" ] && return 0
        sleep 0.05
    done
    echo "status.used[$2] is $v, want $3"
    return 1
}
pod() { # pod NAME REQUESTS-JSON LIMITS-JSON [EXTRA-SPEC-JSON]
    echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\"},\"spec\":{${4:+$4,}\"containers\":[{\"name\":\"pause\",\"image\":\"registry.k8s.io/pause:3.10\",\"resources\":{\"requests\":$2,\"limits\":$3}}]}}"
}
export -f used pod

kubectl create -n q -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ResourceQuota
metadata: {name: test-quota}
spec:
  hard: {pods: "5", services: "10", services.nodeports: "1", services.loadbalancers: "1", replicationcontrollers: "10", resourcequotas: "1", cpu: "1", memory: 500Mi, configmaps: "10", secrets: "10", persistentvolumeclaims: "10", requests.storage: 10Gi, ephemeral-storage: 50Gi, count/replicasets.apps: "5", requests.example.com/dongle: "3", gold.storageclass.storage.k8s.io/requests.storage: 10Gi, example.com/unknown: "4"}
EOF
check "the controller fills status: hard from spec, used for every name it counts" bash -c "used test-quota resourcequotas 1 && used test-quota configmaps 1 && used test-quota pods 0 && used test-quota count/replicasets.apps 0 && used test-quota gold.storageclass.storage.k8s.io/requests.storage 0 && [ \"\$(kubectl get quota test-quota -n q -o json | jq -c '.status.hard == .spec.hard')\" = true ]"
check "a name no evaluator counts has no usage" bash -c "used test-quota example.com/unknown none"
check "a pod that fits is charged at once (requests, extended resources)" bash -c "pod test-pod '{\"cpu\":\"500m\",\"memory\":\"252Mi\",\"ephemeral-storage\":\"30Gi\",\"example.com/dongle\":\"2\"}' '{\"example.com/dongle\":\"2\"}' | kubectl create -n q -f - >/dev/null && used test-quota pods 1 && used test-quota cpu 500m && used test-quota memory 252Mi && used test-quota ephemeral-storage 30Gi && used test-quota requests.example.com/dongle 2"
check "a pod over the quota is kube's 403 with requested, used and limited" bash -c "! pod fail-pod '{\"cpu\":\"600m\",\"memory\":\"100Mi\"}' '{}' | kubectl create -n q -f - 2>\$WORK/err && grep -q 'pods \"fail-pod\" is forbidden: exceeded quota: test-quota, requested: cpu=600m, used: cpu=500m, limited: cpu=1' \$WORK/err"
check "every exceeded name is listed, sorted" bash -c "! pod fail2 '{\"cpu\":\"500m\",\"memory\":\"100Mi\",\"ephemeral-storage\":\"30Gi\",\"example.com/dongle\":\"2\"}' '{\"example.com/dongle\":\"2\"}' | kubectl create -n q -f - 2>\$WORK/err && grep -q 'exceeded quota: test-quota, requested: ephemeral-storage=30Gi,requests.example.com/dongle=2, used: ephemeral-storage=30Gi,requests.example.com/dongle=2, limited: ephemeral-storage=50Gi,requests.example.com/dongle=3' \$WORK/err"
check "a container without the requests a quota needs is refused" bash -c "! kubectl run nores --image=x -n q 2>\$WORK/err && grep -q 'pods \"nores\" is forbidden: failed quota: test-quota: must specify cpu for: nores; memory for: nores' \$WORK/err"
check "a refused pod is not charged" used test-quota pods 1
check "a dry-run create is checked, not charged" bash -c "pod dry '{\"cpu\":\"100m\",\"memory\":\"1Mi\"}' '{}' | kubectl create -n q --dry-run=server -f - >/dev/null && ! pod dry2 '{\"cpu\":\"900m\",\"memory\":\"1Mi\"}' '{}' | kubectl create -n q --dry-run=server -f - 2>/dev/null && sleep 0.2 && used test-quota pods 1 && used test-quota cpu 500m"
check "deleting the pod releases its usage" bash -c "kubectl delete pod test-pod -n q --grace-period=0 --force >/dev/null 2>&1 && used test-quota pods 0 && used test-quota cpu 0 && used test-quota requests.example.com/dongle 0"
check "services: counted, NodePorts limited" bash -c "kubectl create svc clusterip a --tcp=80 -n q >/dev/null && kubectl create svc nodeport np --tcp=80 -n q >/dev/null && ! kubectl create svc loadbalancer lb --tcp=80 -n q 2>\$WORK/err && grep -q 'services \"lb\" is forbidden: exceeded quota: test-quota, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1' \$WORK/err && used test-quota services 2 && used test-quota services.nodeports 1"
check "an update that makes a Service a NodePort is charged too" bash -c "! kubectl patch svc a -n q -p '{\"spec\":{\"type\":\"NodePort\"}}' 2>\$WORK/err && grep -q 'services \"a\" is forbidden: exceeded quota' \$WORK/err"
check "deleting Services releases them" bash -c "kubectl delete svc a np -n q >/dev/null && used test-quota services 0 && used test-quota services.nodeports 0"
check "configmaps, secrets, RCs, ReplicaSets, PVCs by storage class" bash -c "kubectl create cm c1 -n q >/dev/null && kubectl create secret generic s1 -n q >/dev/null && echo '{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"rs\"},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -n q -f - >/dev/null && echo '{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"pvc\"},\"spec\":{\"storageClassName\":\"gold\",\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}' | kubectl create -n q -f - >/dev/null && used test-quota configmaps 2 && used test-quota secrets 1 && used test-quota count/replicasets.apps 1 && used test-quota persistentvolumeclaims 1 && used test-quota requests.storage 1Gi && used test-quota gold.storageclass.storage.k8s.io/requests.storage 1Gi"
check "and their deletion releases them" bash -c "kubectl delete cm c1 -n q >/dev/null && kubectl delete secret s1 -n q >/dev/null && kubectl delete rs rs -n q >/dev/null && kubectl delete pvc pvc -n q --wait=false >/dev/null && used test-quota configmaps 1 && used test-quota secrets 0 && used test-quota count/replicasets.apps 0"
check "a second quota is over the resourcequotas limit" bash -c "! kubectl create quota second --hard=pods=1 -n q 2>\$WORK/err && grep -q 'resourcequotas \"second\" is forbidden: exceeded quota: test-quota, requested: resourcequotas=1, used: resourcequotas=1, limited: resourcequotas=1' \$WORK/err"
check "a changed spec.hard is in status at once" bash -c "kubectl patch quota test-quota -n q -p '{\"spec\":{\"hard\":{\"resourcequotas\":\"10\"}}}' >/dev/null && for _ in \$(seq 1 60); do [ \"\$(kubectl get quota test-quota -n q -o jsonpath='{.status.hard.resourcequotas}')\" = 10 ] && exit 0; sleep 0.05; done; exit 1"

# Scopes: only pods have them; each quota counts the pods its scopes match.
kubectl create quota term -n q --hard=pods=5 --scopes=Terminating >/dev/null
kubectl create quota notterm -n q --hard=pods=5 --scopes=NotTerminating >/dev/null
kubectl create quota besteffort -n q --hard=pods=5 --scopes=BestEffort >/dev/null
check "scoped quotas start at zero" bash -c "used term pods 0 && used notterm pods 0 && used besteffort pods 0"
check "a long-running pod is NotTerminating, not BestEffort" bash -c "pod long '{\"cpu\":\"100m\",\"memory\":\"10Mi\"}' '{\"cpu\":\"200m\",\"memory\":\"20Mi\"}' | kubectl create -n q -f - >/dev/null && used notterm pods 1 && used term pods 0 && used besteffort pods 0"
check "a pod with activeDeadlineSeconds is Terminating" bash -c "pod ads '{\"cpu\":\"100m\",\"memory\":\"10Mi\"}' '{\"cpu\":\"200m\",\"memory\":\"20Mi\"}' '\"activeDeadlineSeconds\":3600' | kubectl create -n q -f - >/dev/null && used term pods 1 && used notterm pods 1"
check "a finished pod uses only its object count" bash -c "kubectl delete quota term notterm besteffort -n q >/dev/null && kubectl create quota counts -n q --hard=pods=5,count/pods=5 >/dev/null && used counts pods 2 && kubectl patch pod long -n q --subresource=status -p '{\"status\":{\"phase\":\"Succeeded\"}}' >/dev/null && used counts pods 1 && used counts count/pods 2"

# kube's ReplicaFailure condition when the quota refuses a ReplicationController's pods.
kubectl create ns rc >/dev/null
kubectl create quota condition-test --hard=pods=2 -n rc >/dev/null
check "an RC over the pod quota gets ReplicaFailure with kube's message" bash -c "sleep 0.3 && echo '{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"condition-test\"},\"spec\":{\"replicas\":3,\"selector\":{\"name\":\"condition-test\"},\"template\":{\"metadata\":{\"labels\":{\"name\":\"condition-test\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -n rc -f - >/dev/null && for _ in \$(seq 1 60); do m=\$(kubectl get rc condition-test -n rc -o jsonpath='{.status.conditions[?(@.type==\"ReplicaFailure\")].reason}: {.status.conditions[?(@.type==\"ReplicaFailure\")].message}'); case \$m in 'FailedCreate: pods \"condition-test-'*'\" is forbidden: exceeded quota: condition-test, requested: pods=1, used: pods=2, limited: pods=2') exit 0 ;; esac; sleep 0.1; done; echo \"\$m\"; exit 1"
check "a FailedCreate event says why" bash -c "kubectl get events -n rc --field-selector reason=FailedCreate -o jsonpath='{.items[0].message}' | grep -q '^Error creating: pods \"condition-test-.*\" is forbidden: exceeded quota'"
check "scaled within the quota, the condition goes" bash -c "kubectl scale rc condition-test -n rc --replicas=2 >/dev/null && for _ in \$(seq 1 60); do [ -z \"\$(kubectl get rc condition-test -n rc -o jsonpath='{.status.conditions}')\" ] && [ \"\$(kubectl get rc condition-test -n rc -o jsonpath='{.status.observedGeneration}')\" = 2 ] && exit 0; sleep 0.1; done; exit 1"

check "SIGTERM exits 0 before a restart" stop_server
check "restarts" start_server "$D"
check "after the restart the quota still counts" bash -c "used counts pods 1 && kubectl get quota -n rc condition-test -o jsonpath='{.status.used.pods}' | grep -qx 2"
check "SIGTERM exits 0" stop_server
