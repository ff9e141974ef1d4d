#!/bin/bash
# End to end: the kinds written out after the workloads: core/v1 Nodes, PersistentVolumes
# and Claims, ResourceQuotas and LimitRanges; the storage, scheduling, networking,
# policy, autoscaling, node and certificates kinds; TokenReviews. kube's defaults,
# validation (422 causes with kube's paths and words), printers and field selectors.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
printf '%s\n' 'tok-alice,alice,u-1,"dev,ops"' > "$WORK/tokens.csv"
check "server starts" start_server "$D" --token-auth-file "$WORK/tokens.csv"
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

# ---- persistent volumes and claims ----
PV='{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv1"},"spec":{"capacity":{"storage":"1024Mi"},"accessModes":["ReadWriteMany","ReadWriteOnce"],"hostPath":{"path":"/tmp/pv1"},"storageClassName":"slow","claimRef":{"namespace":"default","name":"c1"}},"status":{"phase":"Bound"}}'
export PV
check "a PersistentVolume: reclaim Retain, mode Filesystem, Pending since now, capacity canonical" bash -c "mk \"\$PV\" && [ \"\$(kubectl get pv pv1 -o jsonpath='{.spec.persistentVolumeReclaimPolicy} {.spec.volumeMode} {.status.phase} {.spec.capacity.storage}')\" = 'Retain Filesystem Pending 1Gi' ] && [ -n \"\$(kubectl get pv pv1 -o jsonpath='{.status.lastPhaseTransitionTime}')\" ]"
check "persistentvolumes print CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS ... VOLUMEMODE" bash -c "row pv pv1 -o wide | grep -Eq '^pv1 +1Gi +RWO,RWX +Retain +Pending +default/c1 +slow +<unset> +[0-9]+s +Filesystem\$'"
check "a PersistentVolume needs access modes, capacity and one volume type" bash -c "out=\$(causes '{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"pv2\"},\"spec\":{\"persistentVolumeReclaimPolicy\":\"Keep\",\"capacity\":{\"storage\":\"1Gi\"}}}'); echo \"\$out\" | grep -q 'spec.accessModes: Required value' && echo \"\$out\" | grep -q 'spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", \"Retain\"' && echo \"\$out\" | grep -q 'spec: Required value: must specify a volume type'"
check "a PersistentVolume's source is immutable" bash -c "kubectl patch pv pv1 -p '{\"spec\":{\"hostPath\":{\"path\":\"/other\"}}}' 2>&1 | grep -q 'spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation'"
PVC='{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"c1"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"500Mi"}}}}'
export PVC
check "a PersistentVolumeClaim: mode Filesystem, phase Pending" bash -c "mk \"\$PVC\" && [ \"\$(kubectl get pvc c1 -o jsonpath='{.spec.volumeMode} {.status.phase}')\" = 'Filesystem Pending' ]"
check "persistentvolumeclaims print STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE VOLUMEMODE" bash -c "row pvc c1 -o wide | grep -Eq '^c1 +Pending +<unset> +[0-9]+s +Filesystem\$'"
check "a claim needs access modes and a storage request" bash -c "out=\$(causes '{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"c2\"},\"spec\":{}}'); echo \"\$out\" | grep -q 'spec.accessModes: Required value: at least 1 access mode is required' && echo \"\$out\" | grep -q 'spec.resources\\[storage\\]: Required value'"
check "an unbound claim's spec is immutable" bash -c "kubectl patch pvc c1 -p '{\"spec\":{\"accessModes\":[\"ReadWriteMany\"]}}' 2>&1 | grep -q 'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'"
check "a bound claim prints its volume's capacity and access modes from its status" bash -c "kubectl patch pvc c1 -p '{\"spec\":{\"volumeName\":\"pv1\"}}' >/dev/null && kubectl patch pvc c1 --subresource=status -p '{\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":[\"ReadWriteOnce\"]}}' >/dev/null && row pvc c1 | grep -Eq '^c1 +Bound +pv1 +1Gi +RWO +<unset> +[0-9]+s\$'"

# ---- quotas and limit ranges ----
check "resourcequotas print REQUEST and LIMIT from the status, sorted" bash -c "mk '{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"pods\":\"10\",\"limits.memory\":\"2048Mi\",\"cpu\":\"2\"}}}' && kubectl patch quota q --subresource=status -p '{\"status\":{\"hard\":{\"pods\":\"10\",\"limits.memory\":\"2Gi\",\"cpu\":\"2\"},\"used\":{\"pods\":\"1\",\"cpu\":\"500m\"}}}' >/dev/null && [ \$(kubectl get quota q -o jsonpath='{.spec.hard.limits\\.memory}') = 2Gi ] && row quota q | grep -Eq '^q +cpu: 500m/2, pods: 1/10 +limits.memory: 0/2Gi +[0-9]+s\$'"
check "a quota's hard limits are not negative" bash -c "causes '{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"q2\"},\"spec\":{\"hard\":{\"pods\":\"-1\"}}}' | grep -q 'spec.hard\\[pods\\]: Invalid value: \"-1\": must be greater than or equal to 0'"
check "a LimitRange's container defaults: limit from max, request from limit then min" bash -c "mk '{\"apiVersion\":\"v1\",\"kind\":\"LimitRange\",\"metadata\":{\"name\":\"lr\"},\"spec\":{\"limits\":[{\"type\":\"Container\",\"max\":{\"cpu\":\"1\"},\"min\":{\"memory\":\"64Mi\"}},{\"type\":\"Pod\",\"max\":{\"cpu\":\"2\"}}]}}' && [ \"\$(kubectl get limitrange lr -o jsonpath='{.spec.limits[0].default} {.spec.limits[0].defaultRequest} {.spec.limits[1].default}')\" = '{\"cpu\":\"1\"} {\"cpu\":\"1\",\"memory\":\"64Mi\"} ' ]"

# ---- token reviews ----
TR() { raw -X POST -H 'Content-Type: application/json' "$VK_URL/apis/authentication.k8s.io/v1/tokenreviews" -d "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":$1}"; }
export -f TR
check "a TokenReview of a static token: authenticated, user, groups, the API's audience" bash -c "TR '{\"token\":\"tok-alice\"}' | python3 -c '
import json,sys
s=json.load(sys.stdin)[\"status\"]
assert s==dict(authenticated=True,user=dict(username=\"alice\",uid=\"u-1\",groups=[\"dev\",\"ops\",\"system:authenticated\"]),audiences=[\"https://kubernetes.default.svc.cluster.local\"]), s'"
check "a TokenReview of an unknown token: not authenticated, kube's error" bash -c "TR '{\"token\":\"nope\"}' | python3 -c '
import json,sys
s=json.load(sys.stdin)[\"status\"]
assert s==dict(user={},error=\"invalid bearer token\"), s'"
check "a TokenReview for other audiences is not authenticated" bash -c "TR '{\"token\":\"tok-alice\",\"audiences\":[\"vault\"]}' | python3 -c '
import json,sys
s=json.load(sys.stdin)[\"status\"]
assert s==dict(user={}), s'"

# ---- storage classes, priority classes, disruption budgets ----
check "a StorageClass: reclaim Delete, binding Immediate; printed with (default)" bash -c "mk '{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"fast\",\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}},\"provisioner\":\"example.com/disk\"}' && [ \"\$(kubectl get sc fast -o jsonpath='{.reclaimPolicy} {.volumeBindingMode}')\" = 'Delete Immediate' ] && kubectl get sc --no-headers | grep -Eq '^fast \\(default\\) +example.com/disk +Delete +Immediate +false +[0-9]+s\$'"
check "a StorageClass needs a provisioner; its binding mode is fixed" bash -c "causes '{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"x\"}}' | grep -q 'provisioner: Required value' && kubectl patch sc fast -p '{\"volumeBindingMode\":\"WaitForFirstConsumer\"}' 2>&1 | grep -q 'volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable'"
check "a PriorityClass: preemptionPolicy PreemptLowerPriority, generation 1, printed" bash -c "kubectl create priorityclass high --value=1000 >/dev/null && [ \"\$(kubectl get pc high -o jsonpath='{.preemptionPolicy} {.metadata.generation}')\" = 'PreemptLowerPriority 1' ] && row pc high | grep -Eq '^high +1000 +false +[0-9]+s +PreemptLowerPriority\$'"
check "a PriorityClass's value may not change, nor exceed the user maximum" bash -c "kubectl patch pc high -p '{\"value\":5}' 2>&1 | grep -q 'value: Forbidden: may not be changed in an update.' && kubectl create priorityclass huge --value=2000000000 2>&1 | grep -q 'value: Forbidden: maximum allowed value of a user defined priority is 1000000000'"
check "poddisruptionbudgets print MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS" bash -c "kubectl create pdb p1 --selector=app=a --min-available=50% >/dev/null && row pdb p1 | grep -Eq '^p1 +50% +N/A +0 +[0-9]+s\$'"
check "a PodDisruptionBudget takes minAvailable or maxUnavailable, not both" bash -c "causes '{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":\"p2\"},\"spec\":{\"minAvailable\":1,\"maxUnavailable\":1}}' | grep -q 'spec: Invalid value: .*minAvailable and maxUnavailable cannot be both set'"
CTB='{"apiVersion":"certificates.k8s.io/v1","kind":"ClusterTrustBundle","metadata":{"name":"NAME"},"spec":{SIGNER"trustBundle":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}'
export CTB
check "a ClusterTrustBundle for a signer is named after it (kube's rule)" bash -c "mk \"\$(echo \"\$CTB\" | sed 's/NAME/example.com:signer:one/; s|SIGNER|\"signerName\":\"example.com/signer\",|')\" && causes \"\$(echo \"\$CTB\" | sed 's/NAME/other:one/; s|SIGNER|\"signerName\":\"example.com/signer\",|')\" | grep -q 'metadata.name: Invalid value: \"other:one\": ClusterTrustBundle for signerName example.com/signer must be named with prefix example.com:signer:' && causes \"\$(echo \"\$CTB\" | sed 's/NAME/plain:one/; s|SIGNER||')\" | grep -q 'ClusterTrustBundle without signer name must not have \":\" in its name'"
check "SIGTERM exits 0" stop_server
