#!/bin/bash
# End to end: the ReplicaSet and ReplicationController controllers on the simulated
# nodes: pods from the template, scaling, replacement, adoption and release, status,
# and cascading deletion through the garbage collector.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
# until CMD: retries CMD for up to 5 s
until_ok() { for _ in $(seq 1 50); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; eval "$1"; }
pods() { kubectl get pods -l "$1" --no-headers 2>/dev/null | grep -c Running; }
export -f until_ok pods
export D VK_URL WORK

RS='{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}'
export RS
check "a ReplicaSet makes its pods, Running" bash -c "echo \"\$RS\" | kubectl create -f - >/dev/null && until_ok '[ \$(pods app=web) = 3 ]'"
check "they are its own: generateName and a controller reference" bash -c "u=\$(kubectl get rs web -o jsonpath='{.metadata.uid}') && [ \"\$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].uid}/{.metadata.ownerReferences[0].controller}/{.metadata.ownerReferences[0].blockOwnerDeletion} {end}')\" = \"\$u/true/true \$u/true/true \$u/true/true \" ] && kubectl get pods -l app=web -o name | grep -Eq '^pod/web-[b-z2-9]{5}\$'"
check "each pod has its own IP" bash -c "[ \$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{\"\\n\"}{end}' | sort -u | grep -c .) = 3 ]"
check "status: replicas, ready, available, observedGeneration" bash -c "until_ok '[ \"\$(kubectl get rs web -o jsonpath=\"{.status.replicas} {.status.fullyLabeledReplicas} {.status.readyReplicas} {.status.availableReplicas} {.status.observedGeneration}\")\" = \"3 3 3 3 1\" ]'"
check "scale down to 1" bash -c "kubectl scale rs web --replicas=1 >/dev/null && until_ok '[ \$(kubectl get pods -l app=web --no-headers | wc -l) = 1 ]' && until_ok '[ \"\$(kubectl get rs web -o jsonpath={.status.replicas})\" = 1 ]'"
check "a deleted pod is replaced" bash -c "p=\$(kubectl get pods -l app=web -o name) && kubectl delete \$p >/dev/null && until_ok '[ \$(pods app=web) = 1 ] && ! kubectl get \$p'"
check "a relabelled pod is released and replaced" bash -c "p=\$(kubectl get pods -l app=web -o name) && kubectl label \$p app=other --overwrite >/dev/null && until_ok '[ -z \"\$(kubectl get \$p -o jsonpath={.metadata.ownerReferences})\" ]' && until_ok '[ \$(pods app=web) = 1 ]'"
check "a matching orphan is adopted instead of a new pod" bash -c "kubectl label pods -l app=other app=web --overwrite >/dev/null && until_ok '[ \$(kubectl get pods -l app=web --no-headers | wc -l) = 1 ]' && [ -n \"\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.ownerReferences[0].uid}')\" ]"
check "kubectl delete rs takes its pods" bash -c "kubectl delete rs web >/dev/null && until_ok '[ \$(kubectl get pods -l app=web --no-headers 2>/dev/null | wc -l) = 0 ]'"
check "--cascade=orphan leaves the pods, without owner" bash -c "echo \"\$RS\" | sed 's/\"replicas\":3/\"replicas\":2/' | kubectl create -f - >/dev/null && until_ok '[ \$(pods app=web) = 2 ]' && kubectl delete rs web --cascade=orphan >/dev/null && sleep 0.5 && [ \$(pods app=web) = 2 ] && [ -z \"\$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.ownerReferences}')\" ]"
check "a new ReplicaSet adopts them" bash -c "echo \"\$RS\" | sed 's/\"replicas\":3/\"replicas\":2/' | kubectl create -f - >/dev/null && until_ok '[ \"\$(kubectl get pods -l app=web -o jsonpath=\"{.items[*].metadata.ownerReferences[0].kind}\")\" = \"ReplicaSet ReplicaSet\" ]' && sleep 0.3 && [ \$(kubectl get pods -l app=web --no-headers | wc -l) = 2 ]"
check "minReadySeconds: available only after it" bash -c "kubectl delete rs web >/dev/null && echo '{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"slow\"},\"spec\":{\"replicas\":1,\"minReadySeconds\":2,\"selector\":{\"matchLabels\":{\"app\":\"slow\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"slow\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && until_ok '[ \"\$(kubectl get rs slow -o jsonpath={.status.readyReplicas})\" = 1 ]' && [ -z \"\$(kubectl get rs slow -o jsonpath={.status.availableReplicas})\" ] && sleep 2.5 && until_ok '[ \"\$(kubectl get rs slow -o jsonpath={.status.availableReplicas})\" = 1 ]'"
check "a ReplicationController keeps its pods too" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"rc\"},\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":\"rc\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && until_ok '[ \$(pods app=rc) = 2 ]' && [ \"\$(kubectl get pods -l app=rc -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}')\" = ReplicationController ] && kubectl scale rc rc --replicas=3 >/dev/null && until_ok '[ \$(pods app=rc) = 3 ]' && until_ok '[ \"\$(kubectl get rc rc -o jsonpath={.status.readyReplicas})\" = 3 ]'"
check "SIGTERM exits 0" stop_server
