#!/bin/bash
# End to end: standalone mode's simulated nodes (Nodes, heartbeat Leases, the kubelet's
# pod statuses, graceful deletion, activeDeadlineSeconds) and the built-in scheduler
# (node selectors, taints, cordons, resources; kube's FailedScheduling summary).
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts with 2 simulated nodes by default" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
podjs() { kubectl get pod "$1" -o jsonpath="$2"; }
waitfor() { for _ in $(seq 1 50); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; eval "$1"; }
export -f raw podjs waitfor
export D VK_URL WORK

check "two Ready nodes" bash -c "[ \"\$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}')\" = 'vkube-node-1=True vkube-node-2=True ' ]"
check "a node says it is simulated" bash -c "[ \"\$(kubectl get node vkube-node-1 -o jsonpath='{.status.nodeInfo.containerRuntimeVersion} {.metadata.annotations.vkube\\.io/simulated} {.spec.podCIDR} {.status.allocatable.pods}')\" = 'vkube-sim://v1.37.2 true 10.244.1.0/24 110' ]"
check "each node holds its heartbeat Lease, owned by the Node" bash -c "waitfor \"[ \\\"\\\$(kubectl get lease -n kube-node-lease vkube-node-2 -o jsonpath='{.spec.holderIdentity} {.spec.leaseDurationSeconds} {.metadata.ownerReferences[0].kind}')\\\" = 'vkube-node-2 40 Node' ]\""

check "kubectl run: the pod is scheduled and Running" bash -c "kubectl run web --image=nginx:1.25 >/dev/null && kubectl wait --for=condition=Ready pod/web --timeout=10s >/dev/null && [ \"\$(podjs web '{.status.phase} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].state.running.startedAt}' | cut -c1-15)\" = 'Running true 20' ]"
check "the pod has an IP of its node's range and the node's host IP" bash -c "n=\$(podjs web '{.spec.nodeName}'); i=\${n##*-}; podjs web '{.status.podIP} {.status.hostIP}' | grep -Eq \"^10\\.244\\.\$i\\.[0-9]+ 172\\.30\\.0\\.1\$((i-1))\$\""
check "Scheduled event with kube's wording" bash -c "kubectl get events --field-selector involvedObject.name=web,reason=Scheduled -o jsonpath='{.items[0].message}' | grep -Eq '^Successfully assigned default/web to vkube-node-[12]\$'"
check "the pod's conditions are the kubelet's" bash -c "[ \"\$(podjs web '{range .status.conditions[*]}{.type}={.status} {end}')\" = 'PodReadyToStartContainers=True Initialized=True Ready=True ContainersReady=True PodScheduled=True ' ]"
check "pods spread over the nodes, one IP each" bash -c "for i in 1 2 3; do kubectl run s\$i --image=i >/dev/null; done; waitfor \"[ \\\$(kubectl get pods -o jsonpath='{range .items[*]}{.status.podIP}{\\\"\\\\n\\\"}{end}' | grep -c .) = 4 ]\" && [ \$(kubectl get pods -o jsonpath='{range .items[*]}{.status.podIP}{\"\\n\"}{end}' | sort -u | wc -l) = 4 ] && [ \"\$(kubectl get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort | uniq -c | awk '{print \$1}' | sort | tr '\\n' ' ')\" = '2 2 ' ]"
check "kubectl delete pod finishes (the kubelet's final delete)" bash -c "timeout 10 kubectl delete pod s1 >/dev/null && ! kubectl get pod s1 2>/dev/null"

check "a node selector nobody matches: Pending with kube's FailedScheduling summary" bash -c "kubectl run sel --image=i --overrides='{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"}}}' >/dev/null && waitfor \"podjs sel '{.status.conditions[0].reason}' | grep -qx Unschedulable\" && [ \"\$(podjs sel '{.status.conditions[0].message}')\" = \"0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.\" ] && kubectl get events --field-selector involvedObject.name=sel,reason=FailedScheduling -o name | grep -q ."
check "labelling a node schedules it there" bash -c "kubectl label node vkube-node-2 disk=ssd >/dev/null && waitfor \"[ \\\"\\\$(podjs sel '{.spec.nodeName}')\\\" = vkube-node-2 ]\" && waitfor \"[ \\\"\\\$(podjs sel '{.status.phase}')\\\" = Running ]\""
check "required node affinity by name" bash -c "kubectl run aff --image=i --overrides='{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"vkube-node-1\"]}]}]}}}}}' >/dev/null && waitfor \"[ \\\"\\\$(podjs aff '{.spec.nodeName}')\\\" = vkube-node-1 ]\""
check "a NoSchedule taint keeps pods away unless tolerated" bash -c "kubectl taint node vkube-node-1 dedicated=gpu:NoSchedule >/dev/null && kubectl run t1 --image=i --overrides='{\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"vkube-node-1\"}}}' >/dev/null && waitfor \"podjs t1 '{.status.conditions[0].message}' | grep -q '1 node(s) didn.t match Pod.s node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}'\" && kubectl run t2 --image=i --overrides='{\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"vkube-node-1\"},\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]}}' >/dev/null && waitfor \"[ \\\"\\\$(podjs t2 '{.spec.nodeName}')\\\" = vkube-node-1 ]\" && kubectl taint node vkube-node-1 dedicated- >/dev/null"
check "cordoned nodes take no pods; uncordon schedules" bash -c "kubectl cordon vkube-node-1 vkube-node-2 >/dev/null && kubectl run c1 --image=i >/dev/null && waitfor \"podjs c1 '{.status.conditions[0].message}' | grep -q '^0/2 nodes are available: 2 node(s) were unschedulable.'\" && kubectl uncordon vkube-node-2 >/dev/null && waitfor \"[ \\\"\\\$(podjs c1 '{.spec.nodeName}')\\\" = vkube-node-2 ]\"; kubectl uncordon vkube-node-1 >/dev/null"
check "requests beyond every node: Insufficient cpu" bash -c "kubectl run big --image=i --overrides='{\"spec\":{\"containers\":[{\"name\":\"big\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"100\"}}}]}}' >/dev/null && waitfor \"podjs big '{.status.conditions[0].message}' | grep -q '^0/2 nodes are available: 2 Insufficient cpu.'\""
check "activeDeadlineSeconds: Failed with DeadlineExceeded" bash -c "kubectl run dl --image=i --overrides='{\"spec\":{\"activeDeadlineSeconds\":1}}' >/dev/null && for _ in \$(seq 1 40); do [ \"\$(podjs dl '{.status.phase}')\" = Failed ] && break; sleep 0.1; done; [ \"\$(podjs dl '{.status.phase} {.status.reason}')\" = 'Failed DeadlineExceeded' ]"
check "SIGTERM exits 0" stop_server
check "restarts" start_server "$D"
check "after a restart the pods are still Running on their nodes" bash -c "[ \"\$(podjs web '{.status.phase}')\" = Running ] && [ \$(kubectl get nodes --no-headers | wc -l) = 2 ]"
check "SIGTERM exits 0 again" stop_server
check "--sim-nodes 3" start_server "$WORK/d3" --sim-nodes 3
check "registers three nodes" bash -c "[ \$(kubectl get nodes --no-headers | wc -l) = 3 ]"
check "stops" stop_server
check "--sim-nodes 0" start_server "$WORK/d0" --sim-nodes 0
check "registers none and schedules nothing" bash -c "[ \$(kubectl get nodes --no-headers 2>/dev/null | wc -l) = 0 ] && kubectl run p --image=i >/dev/null && sleep 0.5 && [ -z \"\$(podjs p '{.spec.nodeName}')\" ]"
check "stops too" stop_server
