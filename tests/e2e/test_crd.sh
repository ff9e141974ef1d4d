#!/bin/bash
# End to end: CustomResourceDefinitions and the resources they serve: the definition's
# status (names, conditions, stored versions), discovery, CRUD and watch of custom
# resources with kubectl and raw requests, the structural schema (pruning, strict field
# validation, validation messages, defaults on write and on read), the status and
# scale subresources, printer columns, namespace and definition deletion, a restart.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
# established NAME: waits (3 s) for the definition's Established condition.
established() {
    for _ in $(seq 1 60); do
        [ "$(kubectl get crd "$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ] && return 0
        sleep 0.05
    done
    return 1
}
gone() { for _ in $(seq 1 100); do kubectl get "$@" >/dev/null 2>&1 || return 0; sleep 0.05; done; return 1; }
export -f raw established gone
export D VK_URL WORK

cat >"$WORK/crontab.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all]}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'}
              image: {type: string, default: busybox}
              replicas: {type: integer, minimum: 1, maximum: 10}
              mode: {type: string, enum: [fast, slow]}
              tags: {type: array, maxItems: 2, items: {type: string}}
          status:
            type: object
            properties:
              replicas: {type: integer}
EOF
check "a definition is created" kubectl create -f "$WORK/crontab.yaml"
check "it is Established, its names accepted, its storage version stored" bash -c "established crontabs.stable.example.com && [ \"\$(kubectl get crd crontabs.stable.example.com -o json | jq -c '[.status.acceptedNames.listKind, .status.acceptedNames.singular, (.status.conditions | map(.type + \"=\" + .status + \"/\" + .reason)), .status.storedVersions, .spec.conversion.strategy]')\" = '[\"CronTabList\",\"crontab\",[\"NamesAccepted=True/NoConflicts\",\"Established=True/InitialNamesAccepted\"],[\"v1\"],\"None\"]' ]"
check "legacy discovery lists the resource, its subresources and kube's verbs" bash -c "[ \"\$(raw \$VK_URL/apis/stable.example.com/v1 | jq -c '[.resources[] | [.name, .kind, (.verbs|join(\",\")), (.shortNames // [] | join(\",\"))]]')\" = '[[\"crontabs\",\"CronTab\",\"delete,deletecollection,get,list,patch,create,update,watch\",\"ct\"],[\"crontabs/status\",\"CronTab\",\"get,patch,update\",\"\"],[\"crontabs/scale\",\"Scale\",\"get,patch,update\",\"\"]]' ]"
check "the group prefers v1 over v1beta1" bash -c "[ \"\$(raw \$VK_URL/apis | jq -c '.groups[] | select(.name==\"stable.example.com\") | [.preferredVersion.version, [.versions[].version]]')\" = '[\"v1\",[\"v1\",\"v1beta1\"]]' ]"
check "aggregated discovery has it" bash -c "raw -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' \$VK_URL/apis | jq -e '.items[] | select(.metadata.name==\"stable.example.com\") | .versions[0].resources[0].resource == \"crontabs\"' >/dev/null"
check "kubectl api-resources lists it" bash -c "kubectl api-resources | grep -Eq '^crontabs +ct +stable.example.com/v1 +true +CronTab\$'"

cat >"$WORK/ct.yaml" <<'EOF'
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: my-cron}
spec: {cronSpec: "* * * * */5", replicas: 3}
EOF
check "a custom resource is created and defaulted" bash -c "kubectl create -f \$WORK/ct.yaml >/dev/null && [ \"\$(kubectl get ct my-cron -o jsonpath='{.spec.image} {.metadata.generation} {.apiVersion}')\" = 'busybox 1 stable.example.com/v1' ]"
check "kubectl get prints the definition's columns" bash -c "kubectl get crontabs | grep -Eq '^my-cron +\\* \\* \\* \\* \\*/5 +3\$'"
check "it is served at every version (None conversion)" bash -c "[ \"\$(raw \$VK_URL/apis/stable.example.com/v1beta1/namespaces/default/crontabs/my-cron | jq -r .apiVersion)\" = stable.example.com/v1beta1 ]"
check "list items say their kind; the list is kube's listKind" bash -c "[ \"\$(raw \$VK_URL/apis/stable.example.com/v1/crontabs | jq -c '[.kind, .items[0].kind, .items[0].metadata.name]')\" = '[\"CronTabList\",\"CronTab\",\"my-cron\"]' ]"
check "strict field validation refuses an unknown field" bash -c "echo '{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"u\"},\"spec\":{\"cronSpec\":\"* * * * *\",\"color\":\"red\"}}' | kubectl create -f - 2>&1 | grep -q 'CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.color\"'"
check "without it, unknown fields are pruned" bash -c "echo '{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"u\"},\"spec\":{\"cronSpec\":\"* * * * *\",\"color\":\"red\"}}' | kubectl create --validate=false -f - >/dev/null && [ \"\$(kubectl get ct u -o jsonpath='{.spec}')\" = '{\"cronSpec\":\"* * * * *\",\"image\":\"busybox\"}' ]"
check "schema validation: kube's messages" bash -c "out=\$(echo '{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"bad\"},\"spec\":{\"cronSpec\":\"x\",\"replicas\":\"a\",\"mode\":\"medium\",\"tags\":[\"a\",\"b\",\"c\"]}}' | kubectl create -f - 2>&1); echo \"\$out\" | grep -qF 'spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"' && echo \"\$out\" | grep -qF \"spec.cronSpec: Invalid value: \\\"x\\\": spec.cronSpec in body should match\" && echo \"\$out\" | grep -qF 'spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\"' && echo \"\$out\" | grep -qF 'spec.tags: Too many: 3: must have at most 2 items'"
check "required fields and bounds" bash -c "out=\$(echo '{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":20}}' | kubectl create -f - 2>&1); echo \"\$out\" | grep -qF 'spec.cronSpec: Required value' && echo \"\$out\" | grep -qF 'spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10'"
check "status cannot be set through the main resource" bash -c "kubectl patch ct my-cron --type=merge -p '{\"status\":{\"replicas\":7}}' >/dev/null && [ -z \"\$(kubectl get ct my-cron -o jsonpath='{.status.replicas}')\" ]"
check "the status subresource sets it, without a new generation" bash -c "kubectl patch ct my-cron --subresource=status --type=merge -p '{\"status\":{\"replicas\":3}}' >/dev/null && [ \"\$(kubectl get ct my-cron -o jsonpath='{.status.replicas} {.metadata.generation}')\" = '3 1' ]"
check "the scale subresource: kubectl scale, a new generation" bash -c "kubectl scale ct my-cron --replicas=5 >/dev/null && [ \"\$(kubectl get ct my-cron -o jsonpath='{.spec.replicas} {.metadata.generation}')\" = '5 2' ] && [ \"\$(raw \$VK_URL/apis/stable.example.com/v1/namespaces/default/crontabs/my-cron/scale | jq -c '[.kind, .apiVersion, .spec.replicas, .status.replicas]')\" = '[\"Scale\",\"autoscaling/v1\",5,3]' ]"
check "a watch sees custom resources change" bash -c "rv=\$(raw \$VK_URL/apis/stable.example.com/v1/namespaces/default/crontabs | jq -r .metadata.resourceVersion); (raw -N \"\$VK_URL/apis/stable.example.com/v1/namespaces/default/crontabs?watch=1&resourceVersion=\$rv&timeoutSeconds=2\" > \$WORK/watch.out &); sleep 0.3; kubectl label ct my-cron seen=yes >/dev/null; sleep 2.2; jq -r '[.type, .object.kind, .object.metadata.labels.seen] | join(\" \")' \$WORK/watch.out | grep -qx 'MODIFIED CronTab yes'"

cat >"$WORK/noxu.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: noxus.mygroup.example.com}
spec:
  group: mygroup.example.com
  scope: Cluster
  names: {plural: noxus, singular: noxu, kind: WishIHadChosenNoxu, listKind: NoxuItemList}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {a: {type: string}, b: {type: string}}}}
EOF
check "a cluster-scoped definition with its own listKind" bash -c "kubectl create -f \$WORK/noxu.yaml >/dev/null && established noxus.mygroup.example.com && echo '{\"apiVersion\":\"mygroup.example.com/v1beta1\",\"kind\":\"WishIHadChosenNoxu\",\"metadata\":{\"name\":\"cr-1\"}}' | kubectl create -f - >/dev/null && [ \"\$(raw \$VK_URL/apis/mygroup.example.com/v1beta1/noxus | jq -c '[.kind, (.items|length)]')\" = '[\"NoxuItemList\",1]' ]"
check "a default added to the schema shows when an object is read (kube defaults from storage)" bash -c "rv=\$(kubectl get noxus cr-1 -o jsonpath='{.metadata.resourceVersion}') && kubectl patch crd noxus.mygroup.example.com --type=json -p '[{\"op\":\"add\",\"path\":\"/spec/versions/0/schema/openAPIV3Schema/properties/a/default\",\"value\":\"A\"}]' >/dev/null && for _ in \$(seq 1 40); do [ \"\$(kubectl get noxus cr-1 -o jsonpath='{.a} {.metadata.resourceVersion}')\" = \"A \$rv\" ] && exit 0; sleep 0.05; done; exit 1"
check "a definition that names itself wrong is refused with kube's causes" bash -c "out=\$(echo '{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"metadata\":{\"name\":\"wrong\"},\"spec\":{\"group\":\"nodot\",\"scope\":\"Global\",\"names\":{\"plural\":\"things\",\"kind\":\"Thing\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":false,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\"}}}]}}' | kubectl create -f - 2>&1); echo \"\$out\" | grep -qF 'metadata.name: Invalid value: \"wrong\": must be spec.names.plural+\".\"+spec.group' && echo \"\$out\" | grep -qF 'spec.group: Invalid value: \"nodot\": should be a domain with at least one dot' && echo \"\$out\" | grep -qF 'spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"' && echo \"\$out\" | grep -qF 'must have exactly one version marked as storage version'"

check "deleting a namespace deletes its custom resources" bash -c "kubectl create ns crns >/dev/null && sed 's/name: my-cron/name: in-ns/' \$WORK/ct.yaml | kubectl create -n crns -f - >/dev/null && kubectl delete ns crns --wait=false >/dev/null && gone ns crns"
check "SIGTERM exits 0 before a restart" stop_server
check "restarts" start_server "$D"
check "after the restart the definitions are served at once" bash -c "[ \"\$(kubectl get ct my-cron -o jsonpath='{.spec.replicas}')\" = 5 ] && [ \"\$(kubectl get noxus cr-1 -o jsonpath='{.a}')\" = A ]"
check "deleting a definition marks it Terminating, deletes its objects, then it goes" bash -c "kubectl delete crd crontabs.stable.example.com --wait=false >/dev/null && gone crd crontabs.stable.example.com && ! raw -f \$VK_URL/apis/stable.example.com/v1/crontabs >/dev/null 2>&1 && ! raw \$VK_URL/apis | jq -e '.groups[] | select(.name==\"stable.example.com\")' >/dev/null"
check "a definition created again under the same name starts empty" bash -c "kubectl create -f \$WORK/crontab.yaml >/dev/null && established crontabs.stable.example.com && [ \"\$(raw \$VK_URL/apis/stable.example.com/v1/crontabs | jq '.items|length')\" = 0 ]"
check "SIGTERM exits 0" stop_server
