#!/bin/bash
# End to end: the StatefulSet controller on the simulated nodes: ordered creation with
# stable names, labels, hostnames and claims from templates, scaling in order, status
# and ControllerRevisions, rolling updates with a partition, rollout history and undo,
# OnDelete, Parallel, unhealthy pods halting OrderedReady, failed pods made again,
# the claim retention policy, adoption and cascading deletion.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
# until_ok CMD: retries CMD for up to 10 s
until_ok() { for _ in $(seq 1 100); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; eval "$1"; }
jp() { kubectl get "$1" -o jsonpath="$2"; }
# watch_pods SELECTOR FILE: records the pods' watch events (one JSON object each)
watch_pods() { kubectl get pods -l "$1" -w --output-watch-events -o json >"$2" 2>/dev/null & echo $!; }
# ready_image SELECTOR: each pod's name=image, once all are Running and Ready
images() { kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.containers[0].image} {end}'; }
export -f until_ok jp images
export D VK_URL WORK

sts() { # sts NAME REPLICAS [EXTRA SPEC JSON]: a StatefulSet of image i:1 with a claim template
    cat <<EOF
{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"$1"},"spec":{"serviceName":"$1","replicas":$2,"selector":{"matchLabels":{"app":"$1"}},"template":{"metadata":{"labels":{"app":"$1"}},"spec":{"containers":[{"name":"c","image":"i:1"}]}},"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]${3:+,$3}}}
EOF
}

# Pods deleted by hand are deleted with --wait=false: the simulated kubelet finishes a
# deletion at once and the controller makes the pod again before kubectl's wait has
# listed it, and kubectl then waits for the new pod (of the same name) to go.
W=$(watch_pods app=web "$WORK/create.json")
sleep 1 # the watch is established
check "a StatefulSet makes its pods web-0..2, Running and Ready, and rollout status returns" bash -c "kubectl create service clusterip web --clusterip=None >/dev/null && echo '$(sts web 3)' | kubectl create -f - >/dev/null && timeout 20 kubectl rollout status sts/web --timeout=15s >/dev/null && [ \"\$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}')\" = 'web-0 web-1 web-2' ]"
sleep 0.5
kill "$W" 2>/dev/null
cat >"$WORK/order.jq" <<'EOF'
[.[] | {n: .object.metadata.name, r: ([.object.status.conditions[]? | select(.type == "Ready") | .status] == ["True"])}]
| . as $ev
| [range(1; 3) as $k | ($ev | map(.n) | index("web-\($k)")) as $first
   | [$ev[0:$first][] | select(.n == "web-\($k - 1)" and .r)] | length > 0] | all
EOF
check "OrderedReady: each pod is made only once the one before it is Ready" bash -c "[ \"\$(jq -s -f $WORK/order.jq $WORK/create.json)\" = true ]"
check "identity: owner, pod-name and pod-index labels, hostname and subdomain" bash -c "u=\$(jp sts/web '{.metadata.uid}') && [ \"\$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].uid}/{.metadata.labels.statefulset\\.kubernetes\\.io/pod-name}/{.metadata.labels.apps\\.kubernetes\\.io/pod-index}/{.spec.hostname}/{.spec.subdomain} {end}')\" = \"StatefulSet/\$u/web-0/0/web-0/web StatefulSet/\$u/web-1/1/web-1/web StatefulSet/\$u/web-2/2/web-2/web \" ]"
check "claims data-web-N from the template, with the selector's labels, as the pods' volumes" bash -c "[ \"\$(kubectl get pvc -l app=web -o jsonpath='{.items[*].metadata.name}')\" = 'data-web-0 data-web-1 data-web-2' ] && [ \"\$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.volumes[0].name}={.spec.volumes[0].persistentVolumeClaim.claimName} {end}')\" = 'data=data-web-0 data=data-web-1 data=data-web-2 ' ] && [ -z \"\$(kubectl get pvc -l app=web -o jsonpath='{.items[*].metadata.ownerReferences}')\" ]"
check "status as kube writes it; pods carry the update revision's name" bash -c "until_ok '[ \"\$(jp sts/web \"{.status.replicas} {.status.readyReplicas} {.status.currentReplicas} {.status.updatedReplicas} {.status.availableReplicas} {.status.observedGeneration} {.status.collisionCount}\")\" = \"3 3 3 3 3 1 0\" ]' && r=\$(jp sts/web '{.status.updateRevision}') && [ \"\$(jp sts/web '{.status.currentRevision}')\" = \$r ] && [ \"\$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.labels.controller-revision-hash}')\" = \"\$r \$r \$r\" ]"
cat >"$WORK/revs.jq" <<'EOF'
[.items[] | [.revision, .metadata.name == "web-" + .metadata.labels["controller.kubernetes.io/hash"], .metadata.labels.app, .metadata.ownerReferences[0].kind, (.data | tostring | startswith("{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\""))]]
EOF
check "its template is ControllerRevision 1: kube's patch, hash label and name" bash -c "[ \"\$(kubectl get controllerrevisions -l app=web -o json | jq -c -f $WORK/revs.jq)\" = '[[1,true,\"web\",\"StatefulSet\",true]]' ] && [ \"\$(kubectl get controllerrevisions -l app=web -o jsonpath='{.items[0].metadata.name}')\" = \"\$(jp sts/web '{.status.updateRevision}')\" ]"
check "events: kube's SuccessfulCreate wording for claims and pods" bash -c "m=\$(kubectl get events --field-selector involvedObject.name=web,involvedObject.kind=StatefulSet -o jsonpath='{range .items[*]}{.reason}: {.message}{\"\\n\"}{end}') && echo \"\$m\" | grep -qx 'SuccessfulCreate: create Pod web-1 in StatefulSet web successful' && echo \"\$m\" | grep -qx 'SuccessfulCreate: create Claim data-web-1 Pod web-1 in StatefulSet web success'"

W=$(watch_pods app=web "$WORK/down.json")
until_ok "[ \$(grep -c '\"type\": \"ADDED\"' $WORK/down.json) -ge 3 ]" # the watch has listed them
check "kubectl scale sts: down to 1, the highest ordinal first, each gone before the next" bash -c "kubectl scale sts web --replicas=1 >/dev/null && until_ok '[ \"\$(kubectl get pods -l app=web -o jsonpath={.items[*].metadata.name})\" = web-0 ]' && until_ok '[ \"\$(jp sts/web {.status.replicas})\" = 1 ]'"
sleep 0.3
kill "$W" 2>/dev/null
check "(web-1 was asked to go only after web-2 was gone)" bash -c "jq -s -c '[.[] | select(.type == \"DELETED\" or .object.metadata.deletionTimestamp != null) | .object.metadata.name] | unique_by(.) | length' $WORK/down.json >/dev/null && [ \"\$(jq -s -r '[.[] | select(.type == \"DELETED\" or .object.metadata.deletionTimestamp != null) | .object.metadata.name + \":\" + .type] | map(select(. == \"web-2:DELETED\" or (startswith(\"web-1:\")))) | .[0]' $WORK/down.json)\" = web-2:DELETED ]"
check "Retain: the scaled-down pods' claims stay, and are used again on scale up" bash -c "[ \$(kubectl get pvc -l app=web --no-headers | wc -l) = 3 ] && kubectl scale sts web --replicas=3 >/dev/null && timeout 20 kubectl rollout status sts/web --timeout=15s >/dev/null && [ \$(kubectl get pvc -l app=web --no-headers | wc -l) = 3 ] && [ \"\$(jp pod/web-2 '{.spec.volumes[0].persistentVolumeClaim.claimName}')\" = data-web-2 ]"

check "canary: with partition 2 only web-2 gets the new template" bash -c "old=\$(jp sts/web '{.status.currentRevision}') && kubectl patch sts web -p '{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":2}}}}' >/dev/null && kubectl set image sts/web c=i:2 >/dev/null && until_ok '[ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:2 \" ]' && until_ok '[ \"\$(jp sts/web \"{.status.updatedReplicas} {.status.currentReplicas} {.status.readyReplicas} {.status.currentRevision}\")\" = \"1 2 3 \$old\" ]' && new=\$(jp sts/web '{.status.updateRevision}') && [ \$new != \$old ] && [ \"\$(jp pod/web-2 '{.metadata.labels.controller-revision-hash}')\" = \$new ] && sleep 0.5 && [ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:2 \" ]"
check "a canary pod deleted comes back at the update revision, the others at the current one" bash -c "kubectl delete pod web-2 web-0 --wait=false >/dev/null && until_ok '[ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:2 \" ] && [ \$(kubectl get pods -l app=web --no-headers | grep -c \"1/1.*Running\") = 3 ]'"
check "phased: partition 0 rolls the rest, highest ordinal first; then current = update" bash -c "since=\$(kubectl get events --field-selector reason=SuccessfulDelete,involvedObject.name=web -o name | wc -l) && kubectl patch sts web -p '{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"partition\":0}}}}' >/dev/null && timeout 30 kubectl rollout status sts/web --timeout=25s >/dev/null && until_ok '[ \"\$(images app=web)\" = \"web-0=i:2 web-1=i:2 web-2=i:2 \" ]' && until_ok '[ \"\$(jp sts/web \"{.status.currentRevision} {.status.currentReplicas} {.status.updatedReplicas}\")\" = \"\$(jp sts/web {.status.updateRevision}) 3 3\" ]' && [ \"\$(kubectl get events --field-selector reason=SuccessfulDelete,involvedObject.name=web --sort-by=.metadata.name -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | tail -n +\$((since + 1)) | sed 's/delete Pod \\(web-[0-9]\\).*/\\1/' | tr '\\n' ' ')\" = 'web-1 web-0 ' ]"
check "kubectl rollout history sts lists both revisions" bash -c "[ \"\$(kubectl rollout history sts/web | awk 'NR > 2 && NF {print \$1}' | tr '\\n' ' ')\" = '1 2 ' ]"
check "kubectl rollout undo: back to i:1, its revision renumbered 3, rolled out" bash -c "kubectl rollout undo sts/web >/dev/null && timeout 30 kubectl rollout status sts/web --timeout=25s >/dev/null && until_ok '[ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:1 \" ]' && [ \"\$(kubectl get controllerrevisions -l app=web -o json | jq -c '[.items[] | .revision] | sort')\" = '[2,3]' ] && until_ok '[ \"\$(jp sts/web \"{.status.currentRevision}\")\" = \"\$(kubectl get controllerrevisions -l app=web -o json | jq -r \".items[] | select(.revision == 3) | .metadata.name\")\" ]'"

notready() { kubectl patch pod "$1" --subresource=status -p '{"status":{"conditions":[{"type":"Ready","status":"'"$2"'"}]}}' >/dev/null; }
export -f notready
check "OrderedReady halts while a pod is not Ready: no scale up past it" bash -c "notready web-0 False && until_ok '[ \"\$(jp sts/web {.status.readyReplicas})\" = 2 ]' && kubectl scale sts web --replicas=4 >/dev/null && sleep 1 && ! kubectl get pod web-3 && [ \"\$(jp sts/web '{.status.replicas}')\" = 3 ]"
check "nor scale down: the unhealthy pod holds the healthy ones above it" bash -c "kubectl scale sts web --replicas=1 >/dev/null && sleep 1 && [ \$(kubectl get pods -l app=web --no-headers | wc -l) = 3 ] && kubectl scale sts web --replicas=4 >/dev/null"
check "once Ready again, it goes on: web-3 is made" bash -c "notready web-0 True && until_ok 'kubectl get pod web-3' && timeout 20 kubectl rollout status sts/web --timeout=15s >/dev/null"
check "a Failed pod is deleted and made again (new uid)" bash -c "u=\$(jp pod/web-1 '{.metadata.uid}') && kubectl patch pod web-1 --subresource=status -p '{\"status\":{\"phase\":\"Failed\"}}' >/dev/null && until_ok '[ -n \"\$(jp pod/web-1 {.metadata.uid})\" ] && [ \"\$(jp pod/web-1 {.metadata.uid})\" != \$u ] && [ \"\$(jp pod/web-1 {.status.phase})\" = Running ]'"
check "OnDelete: a new template waits until a pod is deleted by hand" bash -c "kubectl patch sts web -p '{\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\",\"rollingUpdate\":null}}}' >/dev/null && kubectl set image sts/web c=i:3 >/dev/null && sleep 1 && [ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:1 web-3=i:1 \" ] && kubectl delete pod web-3 --wait=false >/dev/null && until_ok '[ \"\$(images app=web)\" = \"web-0=i:1 web-1=i:1 web-2=i:1 web-3=i:3 \" ]' && until_ok '[ \"\$(jp sts/web {.status.updatedReplicas})\" = 1 ]'"

check "Parallel: pods are made at once, an unready pod does not hold the others" bash -c "echo '$(sts par 2 '"podManagementPolicy":"Parallel"')' | kubectl create -f - >/dev/null && until_ok '[ \$(kubectl get pods -l app=par --no-headers | grep -c Running) = 2 ]' && notready par-0 False && kubectl scale sts par --replicas=4 >/dev/null && until_ok '[ \$(kubectl get pods -l app=par --no-headers | grep -c Running) = 4 ]' && kubectl scale sts par --replicas=0 >/dev/null && until_ok '[ \$(kubectl get pods -l app=par --no-headers | wc -l) = 0 ]'"
check "maxUnavailable 2: two pods are rolled at a time, highest ordinals first" bash -c "echo '$(sts mu 4 '"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":2}}')' | kubectl create -f - >/dev/null && timeout 30 kubectl rollout status sts/mu --timeout=25s >/dev/null && kubectl set image sts/mu c=i:2 >/dev/null && timeout 30 kubectl rollout status sts/mu --timeout=25s >/dev/null && until_ok '[ \"\$(images app=mu)\" = \"mu-0=i:2 mu-1=i:2 mu-2=i:2 mu-3=i:2 \" ]' && [ \"\$(kubectl get events --field-selector involvedObject.name=mu --sort-by=.metadata.name -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | grep -v Claim | tail -n 8 | head -n 3 | cut -d' ' -f1,3 | tr '\\n' ' ')\" = 'delete mu-3 delete mu-2 create mu-2 ' ] && kubectl delete sts mu >/dev/null"
check "a pod relabelled out of the selector is released (its name stays taken); relabelled back, adopted" bash -c "echo '$(sts rel 1)' | kubectl create -f - >/dev/null && until_ok '[ \"\$(jp sts/rel {.status.readyReplicas})\" = 1 ]' && kubectl label pod rel-0 app=gone --overwrite >/dev/null && until_ok '[ -z \"\$(jp pod/rel-0 {.metadata.ownerReferences})\" ]' && until_ok '[ \"\$(jp sts/rel {.status.replicas})\" = 0 ]' && sleep 1 && [ -z \"\$(jp pod/rel-0 {.metadata.ownerReferences})\" ] && kubectl label pod rel-0 app=rel --overwrite >/dev/null && until_ok '[ \"\$(jp pod/rel-0 {.metadata.ownerReferences[0].uid})\" = \"\$(jp sts/rel {.metadata.uid})\" ]' && until_ok '[ \"\$(jp sts/rel {.status.readyReplicas})\" = 1 ]' && kubectl delete sts rel >/dev/null"
check "spec.ordinals.start: pods ord-5 and ord-6" bash -c "echo '$(sts ord 2 '"ordinals":{"start":5}')' | kubectl create -f - >/dev/null && until_ok '[ \"\$(kubectl get pods -l app=ord -o jsonpath=\"{.items[*].metadata.name}\")\" = \"ord-5 ord-6\" ]' && [ \"\$(kubectl get pvc -l app=ord -o jsonpath='{.items[*].metadata.name}')\" = 'data-ord-5 data-ord-6' ] && [ \"\$(jp pod/ord-6 '{.metadata.labels.apps\\.kubernetes\\.io/pod-index}')\" = 6 ]"
check "retention Delete/Delete: claims owned by the set; a scaled-down pod's claim is deleted" bash -c "echo '$(sts del 2 '"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Delete","whenScaled":"Delete"}')' | kubectl create -f - >/dev/null && until_ok '[ \$(kubectl get pods -l app=del --no-headers | grep -c Running) = 2 ]' && until_ok '[ \"\$(kubectl get pvc -l app=del -o jsonpath=\"{.items[*].metadata.ownerReferences[0].kind}\")\" = \"StatefulSet StatefulSet\" ]' && kubectl scale sts del --replicas=1 >/dev/null && until_ok '! kubectl get pvc data-del-1' && kubectl get pvc data-del-0"
check "deleting it takes its pods, revisions and (Delete) claims" bash -c "kubectl delete sts del >/dev/null && until_ok '[ -z \"\$(kubectl get pods,pvc,controllerrevisions -l app=del -o name)\" ]'"
check "--cascade=orphan leaves the pods; a new StatefulSet adopts them" bash -c "kubectl delete sts ord --cascade=orphan >/dev/null && sleep 0.5 && [ -z \"\$(kubectl get pods -l app=ord -o jsonpath='{.items[*].metadata.ownerReferences}')\" ] && echo '$(sts ord 2 '"ordinals":{"start":5}')' | kubectl create -f - >/dev/null && until_ok '[ \"\$(kubectl get pods -l app=ord -o jsonpath=\"{.items[*].metadata.ownerReferences[0].uid}\")\" = \"\$(jp sts/ord {.metadata.uid}) \$(jp sts/ord {.metadata.uid})\" ]'"
check "and its orphaned revision, which stays the update revision" bash -c "until_ok '[ \"\$(kubectl get controllerrevisions -l app=ord -o jsonpath={.items[*].metadata.ownerReferences[0].uid})\" = \"\$(jp sts/ord {.metadata.uid})\" ]' && until_ok '[ \"\$(jp sts/ord {.status.updateRevision}/{.status.readyReplicas})\" = \"\$(kubectl get controllerrevisions -l app=ord -o jsonpath={.items[0].metadata.name})/2\" ]'"
check "minReadySeconds: the next pod waits until the one before has been Ready that long" bash -c "echo '$(sts slow 2 '"minReadySeconds":2')' | kubectl create -f - >/dev/null && until_ok '[ \"\$(jp sts/slow {.status.readyReplicas})\" = 1 ]' && [ \"\$(jp sts/slow {.status.availableReplicas})\" = 0 ] && ! kubectl get pod slow-1 && sleep 2.5 && until_ok '[ \"\$(jp sts/slow {.status.readyReplicas}/{.status.availableReplicas})\" = 2/1 ]' && until_ok '[ \"\$(jp sts/slow {.status.availableReplicas})\" = 2 ]'"
check "kubectl delete sts takes its pods and revisions; Retain claims stay" bash -c "kubectl delete sts web >/dev/null && until_ok '[ -z \"\$(kubectl get pods,controllerrevisions -l app=web -o name)\" ]' && [ \$(kubectl get pvc -l app=web --no-headers | wc -l) = 4 ]"
cpu() { awk '{print $14 + $15}' /proc/$VK_PID/stat; }
export -f cpu
export VK_PID
check "idle afterwards: no reconcile keeps spinning (under 0.4 s of CPU in 2 s)" bash -c "a=\$(cpu) && sleep 2 && b=\$(cpu) && echo \$((b - a)) ticks && [ \$((b - a)) -lt 40 ]"
check "SIGTERM exits 0" stop_server
