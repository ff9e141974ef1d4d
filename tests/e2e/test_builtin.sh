#!/bin/bash
# End to end: every built-in kind of kube v1.37 served from the generated facts, checked
# against kube's own discovery documents, and the generic rules (status, generation).
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK

# What kube serves that vkube does not yet (each needs its own code: computed, a review,
# or a conversion between versions).
NOT_SERVED="v1/bindings v1/componentstatuses
events.k8s.io/v1/events autoscaling/v1/horizontalpodautoscalers"
UP="$(cat "$ROOT/build/openapi/spec-dir.txt")/../discovery"
GVS=$(cut -d' ' -f3- "$ROOT/build/openapi/config.txt")
mkdir -p "$WORK/ours"
fetch_discovery() {
    local agg='Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
    raw "$VK_URL/apis" >"$WORK/ours/apis.json" &&
        raw -H "$agg" "$VK_URL/api" >"$WORK/ours/aggregated_api.json" &&
        raw -H "$agg" "$VK_URL/apis" >"$WORK/ours/aggregated_apis.json" || return 1
    for gv in $GVS; do
        raw "$VK_URL/$gv" >"$WORK/ours/$(echo "$gv" | sed 's|/|__|g').json" || return 1
    done
}
export -f fetch_discovery
export UP GVS NOT_SERVED ROOT
check "discovery documents fetched" fetch_discovery
check "discovery equals kube-apiserver v1.37's, resource by resource" \
    python3 "$ROOT/tests/e2e/discovery_diff.py" "$UP" "$WORK/ours" "$GVS" "$NOT_SERVED"
grep '^info:' "$WORK/check.out" | head -3 || true
check "kubectl api-resources lists kube's names" bash -c "kubectl api-resources --no-headers | wc -l | grep -qx 67 && kubectl api-resources | grep -Eq '^deployments +deploy +apps/v1 +true +Deployment\$' && kubectl api-resources | grep -Eq '^storageversionmigrations +storagemigration.k8s.io/v1 +false +StorageVersionMigration\$'"

# Generic rules: an Ingress (no file of its own yet, no controller) counts generations
# and keeps its status out of the main resource.
check "create an Ingress: generation 1, the Go zero status" bash -c "kubectl create ingress web --rule='foo.example/=svc:80' >/dev/null && [ \"\$(kubectl get ingress web -o jsonpath='{.metadata.generation} {.status}')\" = '1 {\"loadBalancer\":{}}' ]"
check "status on create is dropped (the Go zero value stays, as kube writes it)" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"rs1\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}},\"status\":{\"replicas\":5}}' \$VK_URL/apis/apps/v1/namespaces/default/replicasets | grep -q '\"status\":{\"replicas\":0}}\$'"
check "a spec change counts a generation" bash -c "kubectl patch ingress web --type=merge -p '{\"spec\":{\"ingressClassName\":\"x\"}}' >/dev/null && [ \$(kubectl get ingress web -o jsonpath='{.metadata.generation}') = 2 ]"
check "a label change does not" bash -c "kubectl label ingress web x=y >/dev/null && [ \$(kubectl get ingress web -o jsonpath='{.metadata.generation}') = 2 ]"
check "status through the main resource is ignored" bash -c "kubectl patch ingress web --type=merge -p '{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.2.3.4\"}]}}}' >/dev/null; [ -z \"\$(kubectl get ingress web -o jsonpath='{.status.loadBalancer.ingress}')\" ]"
check "status through /status is written, spec kept" bash -c "kubectl patch ingress web --subresource=status --type=merge -p '{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.2.3.4\"}]}},\"spec\":{\"ingressClassName\":\"y\"}}' >/dev/null && [ \"\$(kubectl get ingress web -o jsonpath='{.status.loadBalancer.ingress[0].ip} {.spec.ingressClassName} {.metadata.generation}')\" = '1.2.3.4 x 2' ]"
check "a Node keeps the status it is created with" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":{\"cpu\":\"4\"}}}' \$VK_URL/api/v1/nodes >/dev/null && [ \$(kubectl get node n1 -o jsonpath='{.status.capacity.cpu}') = 4 ] && [ -z \"\$(kubectl get node n1 -o jsonpath='{.metadata.generation}')\" ]"
check "kinds without generations have none" bash -c "kubectl create quota q --hard=pods=3 >/dev/null && [ -z \"\$(kubectl get quota q -o jsonpath='{.metadata.generation}')\" ]"
check "protobuf create and get of a generic kind" bash -c "kubectl create priorityclass hi --value=1000 -o name | grep -q priorityclass.scheduling.k8s.io/hi && raw -H 'Accept: application/vnd.kubernetes.protobuf' \$VK_URL/apis/scheduling.k8s.io/v1/priorityclasses/hi | head -c 4 | od -c | grep -q 'k   8   s'"
check "a cluster-scoped kind under a namespace is 404" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/apis/scheduling.k8s.io/v1/namespaces/default/priorityclasses) = 404 ]"
check "a kind not served yet is 404" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' \$VK_URL/api/v1/componentstatuses) = 404 ]"
# The scale subresource (autoscaling/v1 Scale) of the kinds with replicas.
check "kubectl scale deployment" bash -c "kubectl create deployment web --image=nginx --replicas=3 >/dev/null && kubectl scale deploy web --replicas=5 | grep -q 'deployment.apps/web scaled' && [ \"\$(kubectl get deploy web -o jsonpath='{.spec.replicas} {.metadata.generation}')\" = '5 2' ]"
check "GET scale answers kube's Scale" bash -c "raw \$VK_URL/apis/apps/v1/namespaces/default/deployments/web/scale | grep -Eq '^\\{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":\\{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"[-0-9a-f]{36}\",\"resourceVersion\":\"[0-9]+\",\"creationTimestamp\":\"[-0-9T:]+Z\"\\},\"spec\":\\{\"replicas\":5\\},\"status\":\\{\"replicas\":[0-9]+,\"selector\":\"app=web\"\\}\\}\$'"
check "GET scale as protobuf" bash -c "raw -H 'Accept: application/vnd.kubernetes.protobuf' \$VK_URL/apis/apps/v1/namespaces/default/deployments/web/scale | tr -d '\\0' | grep -q 'autoscaling/v1.*Scale'"
check "a negative scale is 422 on spec.replicas" bash -c "kubectl patch deploy web --subresource=scale --type=merge -p '{\"spec\":{\"replicas\":-1}}' 2>&1 | grep -q 'The Scale \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'"
check "a stale resourceVersion on a Scale is 409" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":2}}' \$VK_URL/apis/apps/v1/namespaces/default/deployments/web/scale) = 409 ]"
check "a Deployment body on /scale is 400" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}' \$VK_URL/apis/apps/v1/namespaces/default/deployments/web/scale) = 400 ]"
check "a ReplicationController's selector map is its Scale selector" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"rc1\"},\"spec\":{\"replicas\":1,\"selector\":{\"b\":\"2\",\"a\":\"1\"},\"template\":{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && raw \$VK_URL/api/v1/namespaces/default/replicationcontrollers/rc1/scale | grep -q '\"selector\":\"a=1,b=2\"' && kubectl scale rc rc1 --replicas=4 >/dev/null && [ \$(kubectl get rc rc1 -o jsonpath='{.spec.replicas}') = 4 ]"
check "a StatefulSet's match expressions print as kube prints them" bash -c "echo '{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"ss\"},\"spec\":{\"serviceName\":\"s\",\"selector\":{\"matchLabels\":{\"z\":\"1\",\"a\":\"x\"},\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]},{\"key\":\"s\",\"operator\":\"DoesNotExist\"}]},\"template\":{\"metadata\":{\"labels\":{\"z\":\"1\",\"t\":\"a\",\"a\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && raw \$VK_URL/apis/apps/v1/namespaces/default/statefulsets/ss/scale | grep -q '\"selector\":\"a=x,!s,t in (a,b),z=1\"'"
check "kubectl get all" bash -c "kubectl get all -A | grep -q deployment.apps/web"
check "SIGTERM exits 0" stop_server
