#!/bin/bash
# End to end: PodDisruptionBudget status (kube's disruption controller) and the
# pods/eviction subresource: kube's 201 Status, its 429 with the DisruptionBudget cause,
# its 400/404/500 refusals, kubectl drain.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' -H 'Content-Type: application/json' "$@"; }
until_ok() { for _ in $(seq 1 50); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; eval "$1"; }
# evict POD [NAME-IN-BODY]: the eviction's reply body, then its HTTP code on the last line
evict() { raw -X POST "$VK_URL/api/v1/namespaces/default/pods/$1/eviction" -w '\n%{http_code}' -d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"${2:-$1}\"}}"; }
pdbst() { kubectl get pdb "$1" -o json | jq -c "[.status.expectedPods, .status.desiredHealthy, .status.currentHealthy, .status.disruptionsAllowed, (.status.observedGeneration == .metadata.generation), (.status.conditions[0] | .type + \"=\" + .status + \"/\" + .reason)]"; }
export -f raw until_ok evict pdbst
export D VK_URL WORK

kubectl create deploy web --image=nginx --replicas=3 >/dev/null
check "an integer minAvailable counts the selected pods" bash -c "kubectl create pdb web --selector=app=web --min-available=2 >/dev/null && until_ok '[ \"\$(pdbst web)\" = \"[3,2,3,1,true,\\\"DisruptionAllowed=True/SufficientPods\\\"]\" ]'"
check "maxUnavailable counts the replicas the Deployment asks for" bash -c "kubectl create pdb webmax --selector=app=web --max-unavailable=34% >/dev/null && until_ok '[ \"\$(pdbst webmax)\" = \"[3,1,3,2,true,\\\"DisruptionAllowed=True/SufficientPods\\\"]\" ]' && kubectl delete pdb webmax >/dev/null"
check "an eviction the budget allows: kube's 201 Status, the pod goes" bash -c "p=\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}') && out=\$(evict \$p) && [ \"\$(echo \"\$out\" | tail -1)\" = 201 ] && [ \"\$(echo \"\$out\" | head -n -1 | jq -c .)\" = '{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":201}' ] && until_ok '! kubectl get pod \$p'"
check "with no disruption left: 429 with kube's message and cause" bash -c "kubectl scale deploy web --replicas=2 >/dev/null && until_ok '[ \"\$(pdbst web)\" = \"[2,2,2,0,true,\\\"DisruptionAllowed=False/InsufficientPods\\\"]\" ]' && p=\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}') && out=\$(evict \$p) && [ \"\$(echo \"\$out\" | tail -1)\" = 429 ] && echo \"\$out\" | head -n -1 | jq -e '.reason == \"TooManyRequests\" and .message == \"Cannot evict pod as it would violate the pod'\"'\"'s disruption budget.\" and .details.causes == [{\"reason\":\"DisruptionBudget\",\"message\":\"The disruption budget web needs 2 healthy pods and has 2 currently\"}]' >/dev/null && kubectl get pod \$p >/dev/null"
check "a budget updated to allow it lets the eviction through" bash -c "kubectl patch pdb web --type=merge -p '{\"spec\":{\"minAvailable\":1}}' >/dev/null && until_ok '[ \"\$(pdbst web)\" = \"[2,1,2,1,true,\\\"DisruptionAllowed=True/SufficientPods\\\"]\" ]' && p=\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}') && [ \"\$(evict \$p | tail -1)\" = 201 ]"
check "the name in the body must be the pod's" bash -c "p=\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}') && out=\$(evict \$p other) && [ \"\$(echo \"\$out\" | tail -1)\" = 400 ] && echo \"\$out\" | grep -q 'name in URL does not match name in Eviction object'"
check "an unknown pod is 404" bash -c "[ \"\$(evict ghost | tail -1)\" = 404 ]"
check "two budgets for one pod: kube's 500" bash -c "kubectl create pdb web2 --selector=app=web --min-available=0 >/dev/null && p=\$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}') && out=\$(evict \$p) && [ \"\$(echo \"\$out\" | tail -1)\" = 500 ] && echo \"\$out\" | grep -q 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' && kubectl delete pdb web2 >/dev/null"
check "a pod no budget selects is evicted" bash -c "kubectl run lone --image=x >/dev/null && kubectl wait --for=jsonpath='{.status.phase}'=Running pod/lone --timeout=10s >/dev/null && [ \"\$(evict lone | tail -1)\" = 201 ] && kubectl wait --for=delete pod/lone --timeout=10s >/dev/null"
check "kubectl drain evicts a node's pods within the budget" bash -c "timeout 60 kubectl drain vkube-node-1 --ignore-daemonsets --timeout=50s >/dev/null 2>&1 && [ -z \"\$(kubectl get pods -l app=web --field-selector spec.nodeName=vkube-node-1 -o name)\" ] && kubectl uncordon vkube-node-1 >/dev/null"
check "SIGTERM exits 0" stop_server
