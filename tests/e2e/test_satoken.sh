#!/bin/bash
# End to end: service account tokens as kube-apiserver issues them (serviceaccounts/token,
# `kubectl create token`) and takes them (bearer authentication, TokenReview): the
# identity, audiences, binding to a pod, kube's refusals, OIDC discovery, and tokens that stop working
# when their service account or pod goes.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
as() { # as TOKEN kubectl-args...: kubectl with only that bearer token
    local t=$1
    shift
    kubectl --kubeconfig=/dev/null --server="$VK_URL" --certificate-authority="$D/pki/ca.crt" --token="$t" "$@"
}
review() { # review TOKEN [AUDIENCES-JSON]: the TokenReview's status
    echo "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"$1\"${2:+,\"audiences\":$2}}}" | kubectl create -f - -o json | jq -c .status
}
export -f as review
export D VK_URL WORK

kubectl create sa robot >/dev/null
check "kubectl create token signs an ES256 JWT with kube's claims" bash -c "t=\$(kubectl create token robot) && echo \"\$t\" | cut -d. -f1 | base64 -d 2>/dev/null | jq -e '.alg == \"ES256\" and (.kid | length > 0)' >/dev/null && echo \"\$t\" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -e '.iss == \"https://kubernetes.default.svc.cluster.local\" and .aud == [\"https://kubernetes.default.svc.cluster.local\"] and .sub == \"system:serviceaccount:default:robot\" and .[\"kubernetes.io\"].serviceaccount.name == \"robot\" and (.exp - .iat) == 3600' >/dev/null"
check "the token authenticates as the service account" bash -c "t=\$(kubectl create token robot) && [ \"\$(as \"\$t\" auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}')\" = 'system:serviceaccount:default:robot [\"system:serviceaccounts\",\"system:serviceaccounts:default\",\"system:authenticated\"]' ]"
check "RBAC decides what it may do" bash -c "t=\$(kubectl create token robot) && as \"\$t\" get pods 2>&1 | grep -q 'User \"system:serviceaccount:default:robot\" cannot list resource \"pods\"' && kubectl create role pod-reader --verb=list --resource=pods >/dev/null && kubectl create rolebinding robot-read --role=pod-reader --serviceaccount=default:robot >/dev/null && as \"\$t\" get pods >/dev/null 2>&1"
check "TokenReview: authenticated, kube's user with the credential id, the API audience" bash -c "t=\$(kubectl create token robot) && review \"\$t\" | jq -e '.authenticated and .user.username == \"system:serviceaccount:default:robot\" and (.user.extra[\"authentication.kubernetes.io/credential-id\"][0] | startswith(\"JTI=\")) and .audiences == [\"https://kubernetes.default.svc.cluster.local\"]' >/dev/null"
check "a token for another audience is not the API's, but reviews for its own" bash -c "t=\$(kubectl create token robot --audience=vault) && ! as \"\$t\" auth whoami >/dev/null 2>&1 && review \"\$t\" | jq -e '.authenticated != true' >/dev/null && review \"\$t\" '[\"vault\"]' | jq -e '.authenticated and .audiences == [\"vault\"]' >/dev/null"
check "a tampered token is 401" bash -c "t=\$(kubectl create token robot) && sig=\${t##*.} && c=\${sig:5:1} && [ \"\$c\" = A ] && r=B || r=A; bad=\${t%.*}.\${sig:0:5}\$r\${sig:6} && as \"\$bad\" auth whoami 2>&1 | grep -q Unauthorized"
check "kube's refusals: too short, no such service account" bash -c "kubectl create token robot --duration=5m 2>&1 | grep -q 'TokenRequest.authentication.k8s.io \"robot\" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes' && kubectl create token ghost 2>&1 | grep -q 'serviceaccounts \"ghost\" not found'"
check "a pod-bound token names the pod and dies with it" bash -c "kubectl run holder --image=x >/dev/null && t=\$(kubectl create token robot --bound-object-kind=Pod --bound-object-name=holder) && review \"\$t\" | jq -e '.user.extra[\"authentication.kubernetes.io/pod-name\"] == [\"holder\"]' >/dev/null && kubectl delete pod holder --grace-period=0 --force >/dev/null 2>&1 && review \"\$t\" | jq -e '.authenticated != true' >/dev/null"
check "OIDC discovery: kube's issuer document and the key tokens are signed with" bash -c "kubectl get --raw /.well-known/openid-configuration | jq -e '.issuer == \"https://kubernetes.default.svc.cluster.local\" and (.jwks_uri | endswith(\"/openid/v1/jwks\")) and .id_token_signing_alg_values_supported == [\"ES256\"]' >/dev/null && t=\$(kubectl create token robot) && kid=\$(echo \"\$t\" | cut -d. -f1 | base64 -d 2>/dev/null | jq -r .kid) && as \"\$t\" get --raw /openid/v1/jwks | jq -e --arg kid \"\$kid\" '.keys[0].kid == \$kid and .keys[0].kty == \"EC\" and .keys[0].crv == \"P-256\"' >/dev/null"
check "tokens stop working when the service account goes" bash -c "t=\$(kubectl create token robot) && as \"\$t\" auth whoami >/dev/null && kubectl delete sa robot >/dev/null && as \"\$t\" auth whoami 2>&1 | grep -q Unauthorized"
check "SIGTERM exits 0" stop_server
