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
check "kubectl auth can-i (SelfSubjectAccessReview): yes in team" bash -c "[ \"\$(as tok-alice auth can-i list configmaps -n team)\" = yes ]"
check "kubectl auth can-i: no in default, no for create" bash -c "[ \"\$(as tok-alice auth can-i list configmaps -n default)\" = no ] && [ \"\$(as tok-alice auth can-i create configmaps -n team)\" = no ]"
check "kubectl auth can-i --list (SelfSubjectRulesReview) lists the rules in team" bash -c "as tok-alice auth can-i --list -n team | grep -Eq '^configmaps +\\[\\] +\\[\\] +\\[get list watch\\]\$' && as tok-alice auth can-i --list -n team | grep -Eq '^ +\\[/api\\] +\\[\\] +\\[get\\]\$' && ! as tok-alice auth can-i --list -n default | grep -q '^configmaps'"
sar() { admin_curl "$D" -H 'User-Agent: e2e' -X POST -H 'Content-Type: application/json' -d "$2" "$VK_URL/apis/authorization.k8s.io/v1/$1"; }
export -f sar
check "SubjectAccessReview answers allowed with kube's RBAC reason" bash -c "sar subjectaccessreviews '{\"spec\":{\"user\":\"alice\",\"resourceAttributes\":{\"namespace\":\"team\",\"verb\":\"get\",\"resource\":\"configmaps\"}}}' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"kind\"]==\"SubjectAccessReview\" and d[\"status\"]=={\"allowed\":True,\"reason\":\"RBAC: allowed by RoleBinding \\\"alice-cm/team\\\" of Role \\\"cm-reader\\\" to User \\\"alice\\\"\"}, d'"
check "SubjectAccessReview denies for another user" bash -c "sar subjectaccessreviews '{\"spec\":{\"user\":\"carol\",\"resourceAttributes\":{\"namespace\":\"team\",\"verb\":\"get\",\"resource\":\"configmaps\"}}}' | grep -q '\"status\":{\"allowed\":false}'"
check "SubjectAccessReview with no user or group is 422" bash -c "sar subjectaccessreviews '{\"spec\":{\"nonResourceAttributes\":{\"path\":\"/api\",\"verb\":\"get\"}}}' | grep -q 'spec.user: Invalid value: \\\\\"\\\\\": at least one of user or group must be specified'"
check "LocalSubjectAccessReview namespace must match (422)" bash -c "sar namespaces/team/localsubjectaccessreviews '{\"spec\":{\"user\":\"alice\",\"resourceAttributes\":{\"namespace\":\"other\",\"verb\":\"get\",\"resource\":\"configmaps\"}}}' | grep -q 'must match metadata.namespace'"
check "access reviews are create-only (405 on list)" bash -c "[ \$(admin_curl \"\$D\" -o /dev/null -w '%{http_code}' \$VK_URL/apis/authorization.k8s.io/v1/subjectaccessreviews) = 405 ]"
check "kubectl auth whoami (SelfSubjectReview) names the token user" bash -c "as tok-alice auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' | grep -qx 'alice \\[\"system:authenticated\"\\]'"
check "--as alice acts as alice (admin may impersonate)" bash -c "[ \"\$(kubectl get cm -n team --as alice -o name | grep c1)\" = configmap/c1 ] && kubectl get cm -n default --as alice 2>&1 | grep -q 'User \"alice\" cannot list'"
check "--as-group adds groups and system:authenticated" bash -c "kubectl auth whoami --as alice --as-group devs -o jsonpath='{.status.userInfo.groups}' | grep -qx '\\[\"devs\",\"system:authenticated\"\\]'"
check "impersonating a service account gives its groups" bash -c "kubectl auth whoami --as system:serviceaccount:team:builder -o jsonpath='{.status.userInfo.groups}' | grep -qx '\\[\"system:serviceaccounts\",\"system:serviceaccounts:team\",\"system:authenticated\"\\]'"
check "a user without the impersonate verb is refused (403)" bash -c "as tok-alice get cm -n team --as bob 2>&1 | grep -q 'users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope'"
check "Impersonate-Group without Impersonate-User is 500" bash -c "[ \$(admin_curl \"\$D\" -o /dev/null -w '%{http_code}' -H 'Impersonate-Group: devs' \$VK_URL/api) = 500 ]"
check "a ClusterRole granting impersonate lets alice act as bob" bash -c "kubectl create clusterrole imp-bob --verb=impersonate --resource=users --resource-name=bob >/dev/null && kubectl create clusterrolebinding alice-imp --clusterrole=imp-bob --user=alice >/dev/null && as tok-alice auth whoami --as bob -o jsonpath='{.status.userInfo.username}' | grep -qx bob && ! as tok-alice auth whoami --as carol >/dev/null 2>&1 && as tok-alice get cm -n team --as carol 2>&1 | grep -q 'cannot impersonate'"
check "a ClusterRole bound to a group grants everywhere" bash -c "kubectl create clusterrole ns-viewer --verb=get,list --resource=namespaces >/dev/null && kubectl create clusterrolebinding devs-ns --clusterrole=ns-viewer --group=devs >/dev/null && as tok-bob get ns team -o name | grep -qx namespace/team"
check "deleting the binding revokes at once" bash -c "kubectl delete rolebinding alice-cm -n team >/dev/null && as tok-alice get cm -n team 2>&1 | grep -q forbidden"
check "a RoleBinding needs a roleRef (422)" bash -c "echo '{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"x\",\"namespace\":\"team\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"a\"}]}' | kubectl create -f - 2>&1 | grep -q 'roleRef'"
# Escalation: alice manages RBAC in team (not with verb *, which includes escalate and
# bind) but can grant only what she holds.
kubectl create role rbac-admin -n team --verb=create,get,list,update,patch,delete --resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io >/dev/null
kubectl create role cm-get -n team --verb=get,list --resource=configmaps >/dev/null
kubectl create rolebinding alice-rbac -n team --role=rbac-admin --user=alice >/dev/null
kubectl create rolebinding alice-cm2 -n team --role=cm-get --user=alice >/dev/null
check "a role within the writer's permissions may be created" bash -c "as tok-alice create role cm-get2 -n team --verb=get --resource=configmaps | grep -q created"
check "a role beyond them is 403 naming what is not held" bash -c "as tok-alice create role secrets-get -n team --verb=get --resource=secrets 2>&1 | tr '\n' '|' | grep -q 'roles.rbac.authorization.k8s.io \"secrets-get\" is forbidden: user \"alice\" (groups=\[\"system:authenticated\"\]) is attempting to grant RBAC permissions not currently held:|{APIGroups:\[\"\"\], Resources:\[\"secrets\"\], Verbs:\[\"get\"\]}'"
check "widening a role by update is refused too" bash -c "as tok-alice patch role cm-get2 -n team --type=json -p '[{\"op\":\"add\",\"path\":\"/rules/0/verbs/-\",\"value\":\"delete\"}]' 2>&1 | grep -q 'not currently held'"
check "binding a role whose permissions the writer holds is allowed" bash -c "as tok-alice create rolebinding bob-cm -n team --role=cm-get --user=bob | grep -q created"
check "binding cluster-admin is 403" bash -c "as tok-alice create rolebinding bob-admin -n team --clusterrole=cluster-admin --user=bob 2>&1 | grep -q 'rolebindings.rbac.authorization.k8s.io \"bob-admin\" is forbidden: .*not currently held'"
check "binding a role that does not exist is 404" bash -c "as tok-alice create rolebinding bob-x -n team --role=nope --user=bob 2>&1 | grep -q 'roles.rbac.authorization.k8s.io \"nope\" not found'"
check "the bind verb lets a writer bind a role it does not hold" bash -c "kubectl create role bind-view -n team --verb=bind --resource=clusterroles.rbac.authorization.k8s.io --resource-name=system:discovery >/dev/null && kubectl create rolebinding alice-bind -n team --role=bind-view --user=alice >/dev/null && kubectl create clusterrole big --verb='*' --resource=secrets >/dev/null && as tok-alice create rolebinding bob-disc -n team --clusterrole=system:discovery --user=bob | grep -q created && as tok-alice create rolebinding bob-big -n team --clusterrole=big --user=bob 2>&1 | grep -q forbidden"
check "an update of only finalizers or ownerReferences skips the check (kube's GC exception)" bash -c "kubectl create role wide -n team --verb=get --resource=secrets >/dev/null && as tok-alice patch role wide -n team --type=merge -p '{\"metadata\":{\"finalizers\":[\"example.com/keep\"]}}' | grep -q patched && as tok-alice label role wide -n team x=y 2>&1 | grep -q 'not currently held' && kubectl patch role wide -n team --type=merge -p '{\"metadata\":{\"finalizers\":null}}' >/dev/null"
check "the escalate verb lets a writer grant what it does not hold" bash -c "kubectl create role esc -n team --verb=escalate --resource=roles.rbac.authorization.k8s.io >/dev/null && kubectl create rolebinding alice-esc -n team --role=esc --user=alice >/dev/null && as tok-alice create role secrets-get -n team --verb=get --resource=secrets | grep -q created"
# Bootstrap reconciliation at start: missing rules come back, added ones stay, and
# autoupdate=false opts out.
kubectl patch clusterrole cluster-admin --type=json -p '[{"op":"remove","path":"/rules/1"},{"op":"add","path":"/rules/-","value":{"verbs":["get"],"nonResourceURLs":["/custom"]}}]' >/dev/null
kubectl annotate clusterrole system:basic-user --overwrite rbac.authorization.kubernetes.io/autoupdate=false >/dev/null
kubectl patch clusterrole system:basic-user --type=json -p '[{"op":"remove","path":"/rules/0"}]' >/dev/null
check "SIGTERM exits 0" stop_server
check "restarts on the same data" start_server "$D" --token-auth-file "$WORK/tokens.csv"
check "a removed bootstrap rule is restored at start, an added one kept" bash -c "for i in \$(seq 50); do r=\$(kubectl get clusterrole cluster-admin -o jsonpath='{.rules[*].nonResourceURLs}'); [ \"\$r\" = '[\"/custom\"] [\"*\"]' ] && exit 0; sleep 0.1; done; echo \"\$r\"; exit 1"
check "autoupdate=false leaves a bootstrap role as the user left it" bash -c "[ \$(kubectl get clusterrole system:basic-user -o jsonpath='{.rules[*].resources}' | wc -w) = 1 ]"
check "SIGTERM exits 0" stop_server
