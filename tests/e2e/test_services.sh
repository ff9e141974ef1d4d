#!/bin/bash
# End to end: Services (the first namespaced resource): defaults, ClusterIP and NodePort
# allocation, validation, the kubernetes Service, namespace admission.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK

check "kubectl cluster-info" bash -c "kubectl cluster-info | grep -q 'Kubernetes control plane is running at $VK_URL'"
check "the kubernetes Service has the first service IP and targets this server" bash -c "[ \"\$(kubectl get svc kubernetes -n default -o jsonpath='{.spec.clusterIP} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.metadata.labels.component}')\" = \"10.96.0.1 443 ${VK_URL##*:} apiserver\" ]"
check "the kubernetes Endpoints point at this server" bash -c "[ \"\$(kubectl get ep kubernetes -o jsonpath='{.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}')\" = \"\${VK_URL#https://}\" ]"
check "the kubernetes EndpointSlice too (discovery.k8s.io)" bash -c "[ \"\$(kubectl get endpointslice kubernetes -o jsonpath='{.addressType} {.endpoints[0].addresses[0]} {.endpoints[0].conditions.ready} {.ports[0].port} {.metadata.labels.kubernetes\\.io/service-name}')\" = \"IPv4 127.0.0.1 true \${VK_URL##*:} kubernetes\" ]"
check "an EndpointSlice without addressType is 422" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"x\"},\"endpoints\":[]}' \$VK_URL/apis/discovery.k8s.io/v1/namespaces/default/endpointslices) = 422 ]"
check "kubectl create service clusterip" bash -c "kubectl create service clusterip web --tcp=80:8080 | grep -q 'service/web created'"
check "defaults: type, sessionAffinity, protocol, targetPort, families" bash -c "[ \"\$(kubectl get svc web -o jsonpath='{.spec.type} {.spec.sessionAffinity} {.spec.ports[0].protocol} {.spec.ports[0].targetPort} {.spec.ipFamilies[0]} {.spec.ipFamilyPolicy} {.spec.internalTrafficPolicy}')\" = 'ClusterIP None TCP 8080 IPv4 SingleStack Cluster' ]"
check "a ClusterIP is allocated from the range" bash -c "kubectl get svc web -o jsonpath='{.spec.clusterIP}' | grep -Eq '^10\\.(9[6-9]|10[0-9]|11[01])\\.[0-9]+\\.[0-9]+\$'"
check "NodePort gets a port in 30000-32767" bash -c "kubectl create service nodeport np --tcp=443 >/dev/null && p=\$(kubectl get svc np -o jsonpath='{.spec.ports[0].nodePort}') && [ \$p -ge 30000 ] && [ \$p -le 32767 ]"
check "headless Service keeps clusterIP None" bash -c "kubectl create service clusterip hl --clusterip=None >/dev/null && [ \$(kubectl get svc hl -o jsonpath='{.spec.clusterIP}') = None ]"
check "kubectl get svc prints kube's columns" bash -c "kubectl get svc -o wide | head -1 | grep -Eq '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\\(S\\) +AGE +SELECTOR'"
check "a taken ClusterIP is refused (422)" bash -c "[ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"dup\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80}]}}' \$VK_URL/api/v1/namespaces/default/services) = 422 ]"
check "invalid ports list every cause" bash -c "raw -X POST -H 'Content-Type: application/json' -d '{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"ports\":[{\"port\":0},{\"port\":5,\"protocol\":\"FOO\"}]}}' \$VK_URL/api/v1/namespaces/default/services | python3 -c '
import json,sys
s=json.load(sys.stdin)
assert s[\"code\"]==422 and s[\"details\"][\"kind\"]==\"Service\", s
f=sorted(c[\"field\"] for c in s[\"details\"][\"causes\"])
assert f==[\"spec.ports[0].name\",\"spec.ports[0].port\",\"spec.ports[1].name\",\"spec.ports[1].protocol\"], f'"
check "clusterIP cannot change" bash -c "kubectl patch svc web -p '{\"spec\":{\"clusterIP\":\"10.96.0.99\"}}' 2>&1 | grep -q 'may not change once set'"
check "a create in a missing namespace is 404" bash -c "kubectl create service clusterip x --tcp=80 -n nope 2>&1 | grep -q 'namespaces \"nope\" not found'"
check "a deleted Service gives its IP back" bash -c '
    ip=$(kubectl get svc web -o jsonpath="{.spec.clusterIP}")
    kubectl delete svc web >/dev/null
    raw -X POST -H "Content-Type: application/json" -d "{\"metadata\":{\"name\":\"reuse\"},\"spec\":{\"clusterIP\":\"$ip\",\"ports\":[{\"port\":80}]}}" $VK_URL/api/v1/namespaces/default/services | grep -q "\"clusterIP\":\"$ip\""'
check "field selector spec.type" bash -c "[ \"\$(kubectl get svc --field-selector spec.type=NodePort -o name)\" = service/np ]"
check "list across namespaces" bash -c "[ \$(kubectl get svc -A --no-headers | wc -l) -eq 4 ]"
check "new content in a Terminating namespace is Forbidden" bash -c "kubectl create ns doomed >/dev/null && echo '{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"hold\",\"namespace\":\"doomed\",\"finalizers\":[\"example.com/hold\"]}}' | kubectl create -f - >/dev/null && kubectl delete ns doomed --wait=false >/dev/null && kubectl create service clusterip late --tcp=80 -n doomed 2>&1 | grep -q 'because it is being terminated'"
check "restart keeps allocations" bash -c "kill -TERM $VK_PID; while kill -0 $VK_PID 2>/dev/null; do sleep 0.05; done"
VK_PID=""
check "server restarts" start_server "$D"
check "an allocated IP stays taken after restart" bash -c "ip=\$(kubectl get svc np -o jsonpath='{.spec.clusterIP}'); [ \$(raw -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d \"{\\\"metadata\\\":{\\\"name\\\":\\\"dup2\\\"},\\\"spec\\\":{\\\"clusterIP\\\":\\\"\$ip\\\",\\\"ports\\\":[{\\\"port\\\":80}]}}\" \$VK_URL/api/v1/namespaces/default/services) = 422 ]"
check "SIGTERM exits 0" stop_server
