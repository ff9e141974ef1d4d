#!/bin/bash
# End to end: application/yaml request bodies and replies, as kube serves them.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
y() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f y
export D VK_URL WORK

cat >"$WORK/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: y1
  labels: {app: "web", tier: "1"}
data:
  port: "8080"
  script: |
    echo one
    echo two
YAML
check "create with a YAML body, YAML reply (201)" bash -c "y -o \"\$WORK/out.yaml\" -w '%{http_code} %{content_type}' -X POST -H 'Content-Type: application/yaml' -H 'Accept: application/yaml' --data-binary @\"\$WORK/cm.yaml\" \$VK_URL/api/v1/namespaces/default/configmaps | grep -qx '201 application/yaml'"
check "the reply is block YAML, keys sorted, typed strings quoted" bash -c "head -4 \"\$WORK/out.yaml\" | tr '\n' '|' | grep -q '^apiVersion: v1|data:|  port: \"8080\"|  script: |' && grep -q '^kind: ConfigMap\$' \"\$WORK/out.yaml\" && grep -q '^    tier: \"1\"\$' \"\$WORK/out.yaml\" && grep -Eq '^  creationTimestamp: \"[0-9-]+T[0-9:]+Z\"\$' \"\$WORK/out.yaml\""
check "the object stored from YAML is the same as kubectl reads it" bash -c "[ \"\$(kubectl get cm y1 -o jsonpath='{.data.port}|{.metadata.labels.tier}|{.data.script}')\" = \"\$(printf '8080|1|echo one\necho two\n')\" ]"
check "GET and LIST answer YAML" bash -c "y -H 'Accept: application/yaml' \$VK_URL/api/v1/namespaces/default/configmaps/y1 | grep -qx 'kind: ConfigMap' && y -H 'Accept: application/yaml' \$VK_URL/api/v1/namespaces/default/configmaps | grep -qx 'kind: ConfigMapList'"
check "errors are YAML Status too" bash -c "y -H 'Accept: application/yaml' \$VK_URL/api/v1/namespaces/default/configmaps/nope | tr '\n' '|' | grep -q 'code: 404|.*kind: Status|.*reason: NotFound|'"
check "PUT with a YAML body" bash -c "kubectl get cm y1 -o yaml | sed 's/\"8080\"/\"9090\"/' | y -X PUT -H 'Content-Type: application/yaml' --data-binary @- \$VK_URL/api/v1/namespaces/default/configmaps/y1 >/dev/null && [ \$(kubectl get cm y1 -o jsonpath='{.data.port}') = 9090 ]"
check "a YAML value of the wrong type is 400 (yes is a boolean)" bash -c "[ \$(printf 'metadata: {name: y2}\ndata: {k: yes}\n' | y -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/yaml' --data-binary @- \$VK_URL/api/v1/namespaces/default/configmaps) = 400 ]"
check "malformed YAML is 400 naming the line" bash -c "printf 'metadata:\n  name: [y3\n' | y -X POST -H 'Content-Type: application/yaml' --data-binary @- \$VK_URL/api/v1/namespaces/default/configmaps | grep -q 'error converting YAML to JSON: yaml: line'"
check "unknown fields in YAML are refused under Strict" bash -c "printf 'metadata: {name: y4}\nbogus: 1\n' | y -X POST -H 'Content-Type: application/yaml' --data-binary @- \"\$VK_URL/api/v1/namespaces/default/configmaps?fieldValidation=Strict\" | grep -q 'unknown field \\\\\"bogus\\\\\"'"
check "a YAML watch is 406" bash -c "[ \$(y -o /dev/null -w '%{http_code}' -H 'Accept: application/yaml' \"\$VK_URL/api/v1/namespaces/default/configmaps?watch=1\") = 406 ]"
check "406 lists application/yaml among the accepted types" bash -c "y -H 'Accept: text/csv' \$VK_URL/api/v1/namespaces/default/configmaps | grep -q 'application/json, application/yaml, application/vnd.kubernetes.protobuf'"
check "SIGTERM exits 0" stop_server
