#!/bin/bash
# End to end: batch/v1 Jobs and CronJobs, core/v1 ReplicationControllers and
# PodTemplates: kube's defaults, the Job's generated selector, validation, printers and
# column descriptions taken from the OpenAPI definitions.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
spec() { kubectl get "$1" "$2" -o json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["spec"], sort_keys=True, separators=(",", ":")))'; }
export -f raw spec
export D VK_URL WORK

check "kubectl create job: kube's defaults and the selector by uid" bash -c "kubectl create job j --image=busybox:1.36 >/dev/null && uid=\$(kubectl get job j -o jsonpath='{.metadata.uid}') && [ \"\$(spec job j)\" = '{\"backoffLimit\":6,\"completionMode\":\"NonIndexed\",\"completions\":1,\"manualSelector\":false,\"parallelism\":1,\"podReplacementPolicy\":\"TerminatingOrFailed\",\"selector\":{\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"'\$uid'\"}},\"suspend\":false,\"template\":{\"metadata\":{\"labels\":{\"batch.kubernetes.io/controller-uid\":\"'\$uid'\",\"batch.kubernetes.io/job-name\":\"j\",\"controller-uid\":\"'\$uid'\",\"job-name\":\"j\"}},\"spec\":{\"containers\":[{\"image\":\"busybox:1.36\",\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"j\",\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],\"dnsPolicy\":\"ClusterFirst\",\"enableServiceLinks\":true,\"restartPolicy\":\"Never\",\"schedulerName\":\"default-scheduler\",\"securityContext\":{},\"terminationGracePeriodSeconds\":30}}}' ]"
check "the Job takes its template's labels" bash -c "[ \"\$(kubectl get job j -o jsonpath='{.metadata.labels.job-name}')\" = j ]"
check "jobs print STATUS COMPLETIONS DURATION" bash -c "kubectl get job j | tail -1 | grep -Eq '^j +Running +0/1 +[0-9]+s +[0-9]+s\$'"
check "a Job's restartPolicy Always is refused as kube words it" bash -c "echo '{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"ja\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - 2>&1 | grep -q 'spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"'"
check "a running Job's template is immutable" bash -c "kubectl patch job j --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"busybox:1.37\"}]' 2>&1 | grep -q 'spec.template: Invalid value: .*field is immutable'"
check "parallelism alone leaves completions unset" bash -c "echo '{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"jp\"},\"spec\":{\"parallelism\":3,\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && [ -z \"\$(kubectl get job jp -o jsonpath='{.spec.completions}')\" ] && kubectl get job jp | tail -1 | grep -q ' 0/1 of 3 '"

check "kubectl create cronjob: kube's defaults" bash -c "kubectl create cronjob cj --image=busybox:1.36 --schedule='*/5 * * * *' >/dev/null && [ \"\$(kubectl get cj cj -o jsonpath='{.spec.concurrencyPolicy} {.spec.suspend} {.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit} {.spec.jobTemplate.spec.template.spec.dnsPolicy}')\" = 'Allow false 3 1 ClusterFirst' ]"
check "cronjobs print SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE" bash -c "kubectl get cj cj | tail -1 | grep -Eq '^cj +\\*/5 \\* \\* \\* \\* +<none> +False +0 +<none> +[0-9]+s\$'"
check "a CronJob needs a schedule" bash -c "echo '{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"ns\"},\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}}}' | kubectl create -f - 2>&1 | grep -q 'spec.schedule: Required value'"

check "a ReplicationController takes selector, labels and replicas from kube's defaults" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\",\"metadata\":{\"name\":\"rc1\"},\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}' | kubectl create -f - >/dev/null && [ \"\$(kubectl get rc rc1 -o jsonpath='{.metadata.labels} {.spec.selector} {.spec.replicas} {.spec.template.spec.restartPolicy}')\" = '{\"a\":\"1\"} {\"a\":\"1\"} 1 Always' ]"
check "replicationcontrollers print DESIRED CURRENT READY, wide SELECTOR (its pod made and Running)" bash -c "for _ in \$(seq 1 50); do kubectl get rc rc1 -o wide | tail -1 | grep -Eq '^rc1 +1 +1 +1 +[0-9]+s +c +i +a=1\$' && exit 0; sleep 0.1; done; exit 1"
check "a PodTemplate's template is defaulted and printed" bash -c "echo '{\"apiVersion\":\"v1\",\"kind\":\"PodTemplate\",\"metadata\":{\"name\":\"pt\"},\"template\":{\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}' | kubectl create -f - >/dev/null && [ \$(kubectl get podtemplate pt -o jsonpath='{.template.spec.restartPolicy}') = Always ] && kubectl get podtemplates pt | tail -1 | grep -Eq '^pt +c +i +a=1,b=2\$'"

TABLE='Accept: application/json;as=Table;v=v1;g=meta.k8s.io'
export TABLE
check "column descriptions are kube's, from the OpenAPI definitions" bash -c "raw -H \"\$TABLE\" \$VK_URL/apis/batch/v1/namespaces/default/jobs | python3 -c '
import json,sys
d={c[\"name\"]:c[\"description\"] for c in json.load(sys.stdin)[\"columnDefinitions\"]}
assert d[\"Name\"].startswith(\"Name must be unique within a namespace. Is required when creating resources\"), d[\"Name\"]
assert d[\"Age\"].startswith(\"CreationTimestamp is a timestamp representing the server time\"), d[\"Age\"]
assert d[\"Completions\"].startswith(\"The number of pods which reached phase Succeeded.\"), d[\"Completions\"]
assert d[\"Status\"]==\"Status of the job.\"'"
check "SIGTERM exits 0" stop_server
