#!/bin/bash
# End to end: the kinds written out after the workloads: core/v1 Nodes, PersistentVolumes
# and Claims, ResourceQuotas and LimitRanges; the storage, scheduling, networking,
# policy, autoscaling, node and certificates kinds; TokenReviews. kube's defaults,
# validation (422 causes with kube's paths and words), printers and field selectors.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
# create: kubectl create -f - from the JSON in $1, quiet
mk() { echo "$1" | kubectl create -f - >/dev/null; }
# the 422 causes of a create as "field: message" lines
causes() { echo "$1" | kubectl create -f - 2>&1; }
row() { kubectl get "$@" --no-headers | tail -1; }
export -f raw mk causes row
export D VK_URL WORK

# ---- nodes ----
NODE='{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"node-role.kubernetes.io/control-plane":"","node-role.kubernetes.io/worker":"","kubernetes.io/role":"edge"}},"spec":{"podCIDR":"10.244.1.0/24","unschedulable":true},"status":{"capacity":{"cpu":"4","memory":"8Gi"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok"}],"addresses":[{"type":"InternalIP","address":"10.0.0.5"},{"type":"Hostname","address":"n1"}],"nodeInfo":{"kubeletVersion":"v1.37.2","osImage":"Debian GNU/Linux 12","kernelVersion":"6.1.0","architecture":"amd64","containerRuntimeVersion":"containerd://2.1.0","machineID":"","systemUUID":"","bootID":"","kubeProxyVersion":"","operatingSystem":"linux"}}}'
export NODE
check "a node keeps the status it is created with; allocatable from capacity, podCIDRs from podCIDR" bash -c "mk \"\$NODE\" && [ \"\$(kubectl get node n1 -o jsonpath='{.status.allocatable.memory} {.status.conditions[0].type} {.spec.podCIDRs[0]}')\" = '8Gi Ready 10.244.1.0/24' ]"
check "nodes print STATUS with SchedulingDisabled, sorted ROLES, VERSION" bash -c "row node n1 | grep -Eq '^n1 +Ready,SchedulingDisabled +control-plane,edge,worker +[0-9]+s +v1.37.2\$'"
check "nodes -o wide: INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION (arch) CONTAINER-RUNTIME" bash -c "row node n1 -o wide | grep -Eq ' v1.37.2 +10.0.0.5 +<none> +Debian GNU/Linux 12 +6.1.0 \\(amd64\\) +containerd://2.1.0\$'"
check "a node without conditions is Unknown, without roles <none>" bash -c "mk '{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"}}' && row node n2 -o wide | grep -Eq '^n2 +Unknown +<none> +[0-9]+s +<none> +<none> +<unknown> +<unknown> +<unknown>\$'"
check "field selector spec.unschedulable" bash -c "[ \"\$(kubectl get nodes --field-selector spec.unschedulable=true -o name)\" = node/n1 ]"
check "a node's taints are validated at kube's (metadata.taints) paths" bash -c "out=\$(causes '{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n3\"},\"spec\":{\"taints\":[{\"key\":\"a\",\"effect\":\"Bad\"},{\"key\":\"-x\",\"effect\":\"NoSchedule\"}]}}'); echo \"\$out\" | grep -q 'metadata.taints\\[0\\].effect: Unsupported value: \"Bad\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"' && echo \"\$out\" | grep -q 'metadata.taints\\[1\\].key: Invalid value: \"-x\": name part must consist of'"
check "podCIDRs must be CIDRs, one per family" bash -c "out=\$(causes '{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n4\"},\"spec\":{\"podCIDRs\":[\"10.1.0.0/16\",\"10.2.0.0/16\"]}}'); echo \"\$out\" | grep -q 'spec.podCIDRs: Invalid value: \\[\"10.1.0.0/16\",\"10.2.0.0/16\"\\]: may specify no more than one CIDR for each IP family' && causes '{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n4\"},\"spec\":{\"podCIDR\":\"10.1.0.1/16\"}}' | grep -q 'spec.podCIDRs\\[0\\]: Invalid value: \"10.1.0.1/16\": must not have bits set beyond the prefix length'"
check "a node's podCIDR may not change once set" bash -c "kubectl patch node n1 -p '{\"spec\":{\"podCIDR\":\"10.244.2.0/24\",\"podCIDRs\":null}}' 2>&1 | grep -q 'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid'"
check "a node update keeps the status; kubectl cordon/uncordon" bash -c "kubectl uncordon n1 >/dev/null && [ \"\$(kubectl get node n1 -o jsonpath='{.spec.unschedulable} {.status.nodeInfo.kubeletVersion}')\" = ' v1.37.2' ] && row node n1 | grep -Eq '^n1 +Ready +control'"
