#!/bin/bash
# End to end: Pods: kube's defaults and admission mutations, validation causes, update
# rules, status, field selectors, the printer and graceful deletion.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
# No simulated nodes: the pod API alone, as a kube-apiserver without a scheduler or
# kubelets answers it (test_nodes.sh covers scheduling and the nodes).
check "server starts" start_server "$D" --sim-nodes 0
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
post() { raw -X POST -H 'Content-Type: application/json' -d "$1" "$VK_URL/api/v1/namespaces/${2:-default}/pods"; }
# py CODE: runs CODE with d = the JSON document on stdin.
py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
export -f raw post py
export D VK_URL WORK

# The ServiceAccount admission needs the default account, which a controller creates.
for _ in $(seq 1 100); do kubectl get sa default >/dev/null 2>&1 && break; sleep 0.05; done

check "kubectl run creates a pod" bash -c "kubectl run web --image=nginx | grep -q 'pod/web created'"
# What kube-apiserver v1.37 stores for `kubectl run web --image=nginx`, but for the
# random volume suffix, uid, resourceVersion and timestamp.
check "kubectl run: the stored pod is kube's, key order included" bash -c '
raw $VK_URL/api/v1/namespaces/default/pods/web | python3 -c "
import json,sys,re
raw=sys.stdin.read()
d=json.loads(raw)
vol=d[\"spec\"][\"volumes\"][0][\"name\"]
assert re.fullmatch(\"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}\",vol), vol
m=d[\"metadata\"]
assert list(m)==[\"name\",\"namespace\",\"uid\",\"resourceVersion\",\"generation\",\"creationTimestamp\",\"labels\"], list(m)
assert m[\"generation\"]==1 and m[\"labels\"]=={\"run\":\"web\"}, m
want={\"volumes\":[{\"name\":vol,\"projected\":{\"sources\":[
  {\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},
  {\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},
  {\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],
  \"defaultMode\":420}}],
 \"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"resources\":{},
  \"volumeMounts\":[{\"name\":vol,\"readOnly\":True,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}],
  \"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"Always\"}],
 \"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",
 \"serviceAccountName\":\"default\",\"serviceAccount\":\"default\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\",
 \"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},
  {\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],
 \"priority\":0,\"enableServiceLinks\":True,\"preemptionPolicy\":\"PreemptLowerPriority\"}
assert d[\"spec\"]==want, d[\"spec\"]
assert json.dumps(list(d[\"spec\"]))==json.dumps(list(want)), list(d[\"spec\"])
assert d[\"status\"]=={\"phase\":\"Pending\",\"qosClass\":\"BestEffort\"}, d[\"status\"]
assert list(d)==[\"kind\",\"apiVersion\",\"metadata\",\"spec\",\"status\"], list(d)
"'

check "container defaults: pull policy by tag, ports, probes, env fieldRef, volumes" bash -c "post '{\"metadata\":{\"name\":\"full\"},\"spec\":{\"automountServiceAccountToken\":false,\"volumes\":[{\"name\":\"e\"},{\"name\":\"s\",\"secret\":{\"secretName\":\"x\"}},{\"name\":\"c\",\"configMap\":{\"name\":\"x\"}},{\"name\":\"h\",\"hostPath\":{\"path\":\"/tmp\"}}],\"containers\":[{\"name\":\"a\",\"image\":\"busybox:1.36\",\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],\"livenessProbe\":{\"httpGet\":{\"port\":80}},\"readinessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":5}},{\"name\":\"b\",\"image\":\"reg.io:5000/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},{\"name\":\"c\",\"image\":\"busybox:latest\"}]}}' | py '
s=d[\"spec\"]; c=s[\"containers\"]
assert [x[\"imagePullPolicy\"] for x in c]==[\"IfNotPresent\",\"IfNotPresent\",\"Always\"], c
assert c[0][\"ports\"]==[{\"containerPort\":80,\"protocol\":\"TCP\"}], c[0]
assert c[0][\"env\"][0][\"valueFrom\"]=={\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}, c[0]
assert c[0][\"livenessProbe\"]=={\"httpGet\":{\"path\":\"/\",\"port\":80,\"scheme\":\"HTTP\"},\"timeoutSeconds\":1,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3}, c[0][\"livenessProbe\"]
assert c[0][\"readinessProbe\"]=={\"tcpSocket\":{\"port\":80},\"timeoutSeconds\":1,\"periodSeconds\":5,\"successThreshold\":1,\"failureThreshold\":3}, c[0][\"readinessProbe\"]
assert s[\"volumes\"]==[{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"s\",\"secret\":{\"secretName\":\"x\",\"defaultMode\":420}},{\"name\":\"c\",\"configMap\":{\"name\":\"x\",\"defaultMode\":420}},{\"name\":\"h\",\"hostPath\":{\"path\":\"/tmp\",\"type\":\"\"}}], s[\"volumes\"]
assert \"volumeMounts\" not in c[0] and s[\"automountServiceAccountToken\"] is False, c[0]
'"

check "requests default from limits, quantities canonical, Guaranteed" bash -c "post '{\"metadata\":{\"name\":\"g\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"limits\":{\"cpu\":\"0.5\",\"memory\":\"1024Mi\"}}}]}}' | py '
r=d[\"spec\"][\"containers\"][0][\"resources\"]
assert r=={\"limits\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}, r
assert d[\"status\"][\"qosClass\"]==\"Guaranteed\", d[\"status\"]'"
check "requests without limits are Burstable" bash -c "post '{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}}' | py 'assert d[\"status\"][\"qosClass\"]==\"Burstable\", d'"
check "a quantity that does not parse is 400 BadRequest" bash -c "post '{\"metadata\":{\"name\":\"q\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}]}}' | py '
assert d[\"code\"]==400 and d[\"reason\"]==\"BadRequest\", d
assert d[\"message\"]==\"Pod in version \\\"v1\\\" cannot be handled as a Pod: quantities must match the regular expression \x27^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)\$\x27\", d[\"message\"]'"

check "invalid pod: every cause with kube's field and message" bash -c "post '{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"restartPolicy\":\"Sometimes\",\"dnsPolicy\":\"Nope\",\"hostname\":\"Bad_Host\",\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\"},\"configMap\":{\"name\":\"c\"}},{\"name\":\"w\"},{\"name\":\"w\"}],\"containers\":[{\"name\":\"A\",\"ports\":[{\"containerPort\":70000,\"protocol\":\"XTP\"}],\"env\":[{\"name\":\"\"}],\"volumeMounts\":[{\"name\":\"nov\",\"mountPath\":\"/m\"}],\"resources\":{\"limits\":{\"cpu\":\"1\"},\"requests\":{\"cpu\":\"2\"}}},{\"name\":\"A\",\"image\":\"x\"}],\"tolerations\":[{\"operator\":\"Equal\",\"value\":\"x\"}]}}' | py '
assert d[\"code\"]==422 and d[\"reason\"]==\"Invalid\" and d[\"details\"][\"kind\"]==\"Pod\", d
got=[(c[\"reason\"],c[\"field\"],c[\"message\"]) for c in d[\"details\"][\"causes\"]]
want=[
 (\"FieldValueForbidden\",\"spec.volumes[0].configMap\",\"Forbidden: may not specify more than 1 volume type\"),
 (\"FieldValueDuplicate\",\"spec.volumes[2].name\",\"Duplicate value: \\\"w\\\"\"),
 (\"FieldValueInvalid\",\"spec.containers[0].name\",\"Invalid value: \\\"A\\\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \x27-\x27, and must start and end with an alphanumeric character (e.g. \x27my-name\x27,  or \x27123-abc\x27, regex used for validation is \x27[a-z0-9]([-a-z0-9]*[a-z0-9])?\x27)\"),
 (\"FieldValueRequired\",\"spec.containers[0].image\",\"Required value\"),
 (\"FieldValueInvalid\",\"spec.containers[0].ports[0].containerPort\",\"Invalid value: 70000: must be between 1 and 65535, inclusive\"),
 (\"FieldValueNotSupported\",\"spec.containers[0].ports[0].protocol\",\"Unsupported value: \\\"XTP\\\": supported values: \\\"SCTP\\\", \\\"TCP\\\", \\\"UDP\\\"\"),
 (\"FieldValueRequired\",\"spec.containers[0].env[0].name\",\"Required value\"),
 (\"FieldValueNotFound\",\"spec.containers[0].volumeMounts[0].name\",\"Not found: \\\"nov\\\"\"),
 (\"FieldValueInvalid\",\"spec.containers[0].resources.requests\",\"Invalid value: \\\"2\\\": must be less than or equal to cpu limit of 1\"),
 (\"FieldValueInvalid\",\"spec.containers[1].name\",\"Invalid value: \\\"A\\\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \x27-\x27, and must start and end with an alphanumeric character (e.g. \x27my-name\x27,  or \x27123-abc\x27, regex used for validation is \x27[a-z0-9]([-a-z0-9]*[a-z0-9])?\x27)\"),
 (\"FieldValueDuplicate\",\"spec.containers[1].name\",\"Duplicate value: \\\"A\\\"\"),
 (\"FieldValueNotSupported\",\"spec.restartPolicy\",\"Unsupported value: \\\"Sometimes\\\": supported values: \\\"Always\\\", \\\"OnFailure\\\", \\\"Never\\\"\"),
 (\"FieldValueNotSupported\",\"spec.dnsPolicy\",\"Unsupported value: \\\"Nope\\\": supported values: \\\"ClusterFirstWithHostNet\\\", \\\"ClusterFirst\\\", \\\"Default\\\", \\\"None\\\"\"),
]
for w in want: assert w in got, (w, got)
assert any(c[1]==\"spec.hostname\" for c in got), got
assert (\"FieldValueInvalid\",\"spec.tolerations[0].operator\",\"Invalid value: \\\"Equal\\\": operator must be Exists when \`key\` is empty, which means \\\"match all values and all keys\\\"\") in got, got
'"
check "no containers: spec.containers Required" bash -c "post '{\"metadata\":{\"name\":\"empty\"},\"spec\":{\"containers\":[]}}' | py 'assert [(c[\"field\"],c[\"message\"]) for c in d[\"details\"][\"causes\"]]==[(\"spec.containers\",\"Required value\")], d'"
check "ephemeralContainers cannot be set on create" bash -c "post '{\"metadata\":{\"name\":\"eph\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}],\"ephemeralContainers\":[{\"name\":\"d\",\"image\":\"x\"}]}}' | py 'assert {\"reason\":\"FieldValueForbidden\",\"message\":\"Forbidden: cannot be set on create\",\"field\":\"spec.ephemeralContainers\"} in d[\"details\"][\"causes\"], d'"

check "a missing ServiceAccount is 403 as the admission plugin answers" bash -c "post '{\"metadata\":{\"name\":\"nosa\"},\"spec\":{\"serviceAccountName\":\"ghost\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py '
assert d[\"code\"]==403 and d[\"reason\"]==\"Forbidden\", d
assert d[\"message\"]==\"pods \\\"nosa\\\" is forbidden: error looking up service account default/ghost: serviceaccount \\\"ghost\\\" not found\", d[\"message\"]
assert d[\"details\"]=={\"name\":\"nosa\",\"kind\":\"pods\"}, d[\"details\"]'"
check "automountServiceAccountToken false on the ServiceAccount skips the volume" bash -c "kubectl create sa quiet >/dev/null && kubectl patch sa quiet -p '{\"automountServiceAccountToken\":false}' >/dev/null && post '{\"metadata\":{\"name\":\"quiet\"},\"spec\":{\"serviceAccountName\":\"quiet\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert \"volumes\" not in d[\"spec\"] and \"volumeMounts\" not in d[\"spec\"][\"containers\"][0] and d[\"spec\"][\"serviceAccount\"]==\"quiet\", d[\"spec\"]'"
check "init containers get the token mount too" bash -c "post '{\"metadata\":{\"name\":\"init\"},\"spec\":{\"initContainers\":[{\"name\":\"i\",\"image\":\"x\"}],\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py '
s=d[\"spec\"]; v=s[\"volumes\"][0][\"name\"]
assert s[\"initContainers\"][0][\"volumeMounts\"]==s[\"containers\"][0][\"volumeMounts\"]==[{\"name\":v,\"readOnly\":True,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}], s'"
check "system-node-critical gives priority 2000001000" bash -c "post '{\"metadata\":{\"name\":\"crit\"},\"spec\":{\"priorityClassName\":\"system-node-critical\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert (d[\"spec\"][\"priority\"],d[\"spec\"][\"preemptionPolicy\"])==(2000001000,\"PreemptLowerPriority\"), d[\"spec\"]'"
check "an unknown PriorityClass is 403" bash -c "post '{\"metadata\":{\"name\":\"nopc\"},\"spec\":{\"priorityClassName\":\"gold\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert d[\"code\"]==403 and d[\"message\"]==\"pods \\\"nopc\\\" is forbidden: no PriorityClass with name gold was found\", d'"
check "a priority without its class is 403" bash -c "post '{\"metadata\":{\"name\":\"prio\"},\"spec\":{\"priority\":5,\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert d[\"code\"]==403 and d[\"message\"].endswith(\"the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name\"), d'"
check "the system PriorityClasses exist as objects" bash -c "[ \"\$(kubectl get pc system-node-critical system-cluster-critical -o jsonpath='{.items[*].value}')\" = '2000001000 2000000000' ]"
check "a user PriorityClass gives its value and preemption policy" bash -c "kubectl create priorityclass gold --value=1000 --preemption-policy=Never >/dev/null && post '{\"metadata\":{\"name\":\"gold\"},\"spec\":{\"priorityClassName\":\"gold\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert (d[\"spec\"][\"priority\"],d[\"spec\"][\"preemptionPolicy\"])==(1000,\"Never\"), d[\"spec\"]'"
check "without a class, a pod takes the global default's" bash -c "kubectl create priorityclass dflt --value=7 --global-default >/dev/null && post '{\"metadata\":{\"name\":\"dflt\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert (d[\"spec\"][\"priorityClassName\"],d[\"spec\"][\"priority\"])==(\"dflt\",7), d[\"spec\"]' && kubectl delete pc dflt >/dev/null"
check "a toleration of every NoExecute taint stops the default ones" bash -c "post '{\"metadata\":{\"name\":\"tol\"},\"spec\":{\"tolerations\":[{\"operator\":\"Exists\",\"effect\":\"NoExecute\"}],\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert d[\"spec\"][\"tolerations\"]==[{\"operator\":\"Exists\",\"effect\":\"NoExecute\"}], d[\"spec\"]'"
check "generation is 1 whatever the client sends" bash -c "post '{\"metadata\":{\"name\":\"gen\",\"generation\":7},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' | py 'assert d[\"metadata\"][\"generation\"]==1, d'"

# Updates.
check "an image change is allowed and bumps generation" bash -c "kubectl patch pod web --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"nginx:1.27\"}]' >/dev/null && [ \"\$(kubectl get pod web -o jsonpath='{.metadata.generation} {.spec.containers[0].image} {.spec.containers[0].imagePullPolicy}')\" = '2 nginx:1.27 Always' ]"
check "a label change keeps generation" bash -c "kubectl label pod web tier=front >/dev/null && [ \$(kubectl get pod web -o jsonpath='{.metadata.generation}') = 2 ]"
check "other spec changes are Forbidden on spec with kube's message" bash -c "raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"spec\":{\"restartPolicy\":\"Never\"}}' \$VK_URL/api/v1/namespaces/default/pods/web | py '
assert d[\"code\"]==422, d
c=d[\"details\"][\"causes\"]
assert len(c)==1 and c[0][\"reason\"]==\"FieldValueForbidden\" and c[0][\"field\"]==\"spec\", c
assert c[0][\"message\"].startswith(\"Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`,\`spec.initContainers[*].image\`,\`spec.activeDeadlineSeconds\`,\`spec.tolerations\` (only additions to existing tolerations),\`spec.terminationGracePeriodSeconds\` (allow it to be set to 1 if it was previously negative)\n\"), c'"
check "containers cannot be added" bash -c "raw -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{\"op\":\"add\",\"path\":\"/spec/containers/-\",\"value\":{\"name\":\"b\",\"image\":\"x\"}}]' \$VK_URL/api/v1/namespaces/default/pods/web | py 'assert {\"reason\":\"FieldValueForbidden\",\"message\":\"Forbidden: pod updates may not add or remove containers\",\"field\":\"spec.containers\"} in d[\"details\"][\"causes\"], d'"
check "tolerations may be added, not changed" bash -c "raw -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{\"op\":\"add\",\"path\":\"/spec/tolerations/-\",\"value\":{\"key\":\"k\",\"operator\":\"Exists\"}}]' \$VK_URL/api/v1/namespaces/default/pods/web | py 'assert len(d[\"spec\"][\"tolerations\"])==3, d' && raw -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{\"op\":\"replace\",\"path\":\"/spec/tolerations/2/key\",\"value\":\"j\"}]' \$VK_URL/api/v1/namespaces/default/pods/web | py 'assert [(c[\"field\"],c[\"message\"]) for c in d[\"details\"][\"causes\"]][0]==(\"spec.tolerations\",\"Forbidden: existing toleration can not be modified except its tolerationSeconds\"), d'"
check "activeDeadlineSeconds may be set, then only lowered" bash -c "kubectl patch pod web -p '{\"spec\":{\"activeDeadlineSeconds\":100}}' >/dev/null && kubectl patch pod web -p '{\"spec\":{\"activeDeadlineSeconds\":200}}' 2>&1 | grep -q 'spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value'"
check "status is ignored by an update of the pod" bash -c "kubectl patch pod web -p '{\"status\":{\"phase\":\"Running\"}}' >/dev/null; [ \$(kubectl get pod web -o jsonpath='{.status.phase}') = Pending ]"
check "/status writes status, keeps spec and qosClass" bash -c "raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.2.3\",\"qosClass\":null,\"containerStatuses\":[{\"name\":\"web\",\"ready\":true,\"restartCount\":0,\"image\":\"nginx\",\"imageID\":\"\",\"state\":{\"running\":{}}}]}}' \$VK_URL/api/v1/namespaces/default/pods/web/status | py '
assert d[\"status\"][\"phase\"]==\"Running\" and d[\"status\"][\"podIPs\"]==[{\"ip\":\"10.1.2.3\"}] and d[\"status\"][\"qosClass\"]==\"BestEffort\", d[\"status\"]
assert \"nodeName\" not in d[\"spec\"], d[\"spec\"]'"

# Printer and selectors.
check "kubectl get pods prints kube's columns" bash -c "kubectl get pods -o wide | head -1 | grep -Eq '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES\$'"
check "READY and STATUS come from container statuses" bash -c "kubectl get pod web -o wide --no-headers | grep -Eq '^web +1/1 +Running +0 +[0-9]+s +10\\.1\\.2\\.3 +<none> +<none> +<none>\$'"
check "a waiting reason is the STATUS" bash -c "raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"status\":{\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,\"restartCount\":3,\"image\":\"x\",\"imageID\":\"\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}' \$VK_URL/api/v1/namespaces/default/pods/g/status >/dev/null && kubectl get pod g --no-headers | grep -Eq '^g +0/1 +CrashLoopBackOff +3 +'"
check "field selector status.phase" bash -c "[ \"\$(kubectl get pods --field-selector status.phase=Running -o name)\" = pod/web ]"
check "field selector status.podIP and spec.serviceAccountName" bash -c "[ \"\$(kubectl get pods --field-selector status.podIP=10.1.2.3 -o name)\" = pod/web ] && [ \"\$(kubectl get pods --field-selector spec.serviceAccountName=quiet -o name)\" = pod/quiet ]"
check "field selector spec.nodeName= finds the unscheduled pods" bash -c "[ \$(kubectl get pods --field-selector spec.nodeName= -o name | wc -l) -ge 8 ] && ! kubectl get pods --field-selector spec.nodeName= -o name | grep -q 'pod/bound'"
check "an unknown field label is 400" bash -c "kubectl get pods --field-selector spec.bogus=x 2>&1 | grep -q 'field label not supported: spec.bogus'"
check "discovery: pods, po, all, 8 verbs, status subresource" bash -c "raw \$VK_URL/api/v1 | py '
r={x[\"name\"]:x for x in d[\"resources\"]}
p=r[\"pods\"]
assert p[\"kind\"]==\"Pod\" and p[\"singularName\"]==\"pod\" and p[\"namespaced\"] and p[\"shortNames\"]==[\"po\"] and p[\"categories\"]==[\"all\"], p
assert sorted(p[\"verbs\"])==[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"], p
assert \"pods/status\" in r, list(r)'"

# Deletion.
check "an unscheduled pod is deleted at once" bash -c "kubectl delete pod g --wait=false | grep -q 'pod \"g\" deleted' && ! kubectl get pod g 2>/dev/null"
check "a bound pod is deleted gracefully: deletionTimestamp + grace, stays" bash -c "post '{\"metadata\":{\"name\":\"bound\"},\"spec\":{\"nodeName\":\"n1\",\"terminationGracePeriodSeconds\":45,\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' >/dev/null && raw -X DELETE \$VK_URL/api/v1/namespaces/default/pods/bound | py '
m=d[\"metadata\"]
assert d[\"kind\"]==\"Pod\" and m[\"deletionGracePeriodSeconds\"]==45 and m[\"generation\"]==2, m
import datetime
t=datetime.datetime.strptime(m[\"deletionTimestamp\"],\"%Y-%m-%dT%H:%M:%SZ\")
c=datetime.datetime.strptime(m[\"creationTimestamp\"],\"%Y-%m-%dT%H:%M:%SZ\")
assert 40 <= (t-c).total_seconds() <= 50, (t,c)' && kubectl get pod bound --no-headers | grep -Eq '^bound +0/1 +Terminating '"
check "a second delete with a longer grace changes nothing" bash -c "a=\$(kubectl get pod bound -o jsonpath='{.metadata.resourceVersion}'); raw -X DELETE -H 'Content-Type: application/json' -d '{\"gracePeriodSeconds\":100}' \$VK_URL/api/v1/namespaces/default/pods/bound >/dev/null; [ \"\$(kubectl get pod bound -o jsonpath='{.metadata.resourceVersion} {.metadata.deletionGracePeriodSeconds}')\" = \"\$a 45\" ]"
check "a shorter grace shortens it" bash -c "raw -X DELETE \"\$VK_URL/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=10\" | py 'assert d[\"metadata\"][\"deletionGracePeriodSeconds\"]==10, d[\"metadata\"]'"
check "grace period 0 (--force) removes it" bash -c "kubectl delete pod bound --grace-period=0 --force 2>&1 | grep -q deleted && ! kubectl get pod bound 2>/dev/null"
check "a bound terminal pod is deleted at once" bash -c "post '{\"metadata\":{\"name\":\"done\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' >/dev/null && raw -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{\"status\":{\"phase\":\"Succeeded\"}}' \$VK_URL/api/v1/namespaces/default/pods/done/status >/dev/null && raw -X DELETE \$VK_URL/api/v1/namespaces/default/pods/done | py 'assert d[\"kind\"]==\"Status\" and d[\"status\"]==\"Success\", d' && ! kubectl get pod done 2>/dev/null"
check "a bound pod with a finalizer and grace 0 stays until the finalizer goes" bash -c "post '{\"metadata\":{\"name\":\"fin\",\"finalizers\":[\"example.com/x\"]},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}' >/dev/null && raw -X DELETE -H 'Content-Type: application/json' -d '{\"gracePeriodSeconds\":0}' \$VK_URL/api/v1/namespaces/default/pods/fin | py 'assert d[\"metadata\"][\"deletionGracePeriodSeconds\"]==0, d' && kubectl patch pod fin --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]' >/dev/null && ! kubectl get pod fin 2>/dev/null"
check "SIGTERM exits 0" stop_server
