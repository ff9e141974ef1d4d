#!/bin/bash
# End to end: RBAC. kube's bootstrap policy is stored and served; Roles, ClusterRoles and
# their bindings written with kubectl decide what a token user may do, with no restart.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
printf 'tok-alice,alice,uid-1\ntok-bob,bob,uid-2,"devs"\n' >"$WORK/tokens.csv"
check "server starts with a token file" start_server "$D" --token-auth-file "$WORK/tokens.csv"
# A kubeconfig of its own: the admin one would also present its client certificate.
as() { local tok=$1; shift; kubectl --kubeconfig=/dev/null --server="$VK_URL" --certificate-authority="$D/pki/ca.crt" --token "$tok" "$@"; }
export -f as
export D VK_URL WORK

check "bootstrap ClusterRoles are listed" bash -c "kubectl get clusterroles -o name | grep -qx clusterrole.rbac.authorization.k8s.io/cluster-admin && kubectl get clusterroles -o name | grep -qx clusterrole.rbac.authorization.k8s.io/system:discovery"
check "cluster-admin is bound to system:masters" bash -c "[ \"\$(kubectl get clusterrolebinding cluster-admin -o jsonpath='{.roleRef.name} {.subjects[0].kind} {.subjects[0].name}')\" = 'cluster-admin Group system:masters' ]"
check "bootstrap objects carry kube's autoupdate annotation" bash -c "[ \"\$(kubectl get clusterrole system:public-info-viewer -o jsonpath='{.metadata.annotations.rbac\\.authorization\\.kubernetes\\.io/autoupdate}')\" = true ]"
check "alice cannot list configmaps before a binding" bash -c "as tok-alice get cm -n default 2>&1 | grep -q 'configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"'"
kubectl create namespace team >/dev/null
kubectl create cm -n team c1 --from-literal=a=1 >/dev/null
check "kubectl create role" bash -c "kubectl create role cm-reader -n team --verb=get,list,watch --resource=configmaps | grep -q 'role.rbac.authorization.k8s.io/cm-reader created'"
check "kubectl create rolebinding" bash -c "kubectl create rolebinding alice-cm -n team --role=cm-reader --user=alice | grep -q created"
check "alice lists configmaps in team" bash -c "as tok-alice get cm -n team -o name | grep -qx configmap/c1"
check "alice still cannot list configmaps in default" bash -c "! as tok-alice get cm -n default 2>/dev/null"
check "alice cannot create configmaps in team (verb)" bash -c "as tok-alice create cm -n team c2 2>&1 | grep -q forbidden"
check "alice cannot read secrets in team (resource)" bash -c "! as tok-alice get secrets -n team 2>/dev/null"
check "a ClusterRole bound to a group grants everywhere" bash -c "kubectl create clusterrole ns-viewer --verb=get,list --resource=namespaces >/dev/null && kubectl create clusterrolebinding devs-ns --clusterrole=ns-viewer --group=devs >/dev/null && as tok-bob get ns team -o name | grep -qx namespace/team"
check "deleting the binding revokes at once" bash -c "kubectl delete rolebinding alice-cm -n team >/dev/null && as tok-alice get cm -n team 2>&1 | grep -q forbidden"
check "a RoleBinding needs a roleRef (422)" bash -c "echo '{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"x\",\"namespace\":\"team\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"a\"}]}' | kubectl create -f - 2>&1 | grep -q 'roleRef'"
check "SIGTERM exits 0" stop_server
