#!/bin/bash
# End to end (PodTemplates, as kube's test): a continue token whose revision has been compacted away (kube's etcd3
# store): 410 Expired carrying a token for the rest at the latest revision, which pages
# on with exact remainingItemCount (the conformance chunking test's path). The server
# compacts every second (kube-apiserver's --etcd-compaction-interval).
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts with --etcd-compaction-interval=1s" start_server "$D" --etcd-compaction-interval=1s --sim-nodes 0
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
export -f raw
export D VK_URL WORK
kubectl create ns pg >/dev/null
for i in $(seq -w 0 19); do
    echo "{\"apiVersion\":\"v1\",\"kind\":\"PodTemplate\",\"metadata\":{\"name\":\"template-00$i\"},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}"
done | kubectl create -n pg -f - >/dev/null
L="$VK_URL/api/v1/namespaces/pg/podtemplates"
export L

check "the first page: 4 items, 16 remaining" bash -c "raw \"\$L?limit=4\" > \$WORK/p1 && [ \"\$(jq -c '[(.items|length), .metadata.remainingItemCount]' \$WORK/p1)\" = '[4,16]' ]"
# Later writes move the revision on; once compacted, the first page's revision is gone.
check "once its revision is compacted, the token is 410 Expired with kube's words and a new token" bash -c "kubectl create cm -n pg zz-later >/dev/null && tok=\$(jq -r .metadata.continue \$WORK/p1) && for _ in \$(seq 1 40); do raw \"\$L?limit=4&continue=\$tok\" > \$WORK/p2; [ \"\$(jq -r .code \$WORK/p2)\" = 410 ] && break; kubectl label cm -n pg zz-later n=\$RANDOM --overwrite >/dev/null; sleep 0.25; done; jq -e '.reason == \"Expired\" and (.message | startswith(\"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list\")) and (.metadata.continue | length > 0)' \$WORK/p2 >/dev/null"
check "the new token lists on from the same key at the latest revision" bash -c "tok=\$(jq -r .metadata.continue \$WORK/p2) && raw \"\$L?limit=4&continue=\$tok\" > \$WORK/p3 && [ \"\$(jq -c '[[.items[].metadata.name], .metadata.remainingItemCount, (.metadata.resourceVersion != \"'\$(jq -r .metadata.resourceVersion \$WORK/p1)'\")]' \$WORK/p3)\" = '[[\"template-0004\",\"template-0005\",\"template-0006\",\"template-0007\"],12,true]' ]"
check "and its pages go on to the end" bash -c "tok=\$(jq -r .metadata.continue \$WORK/p3); n=0; while [ -n \"\$tok\" ] && [ \"\$tok\" != null ]; do raw \"\$L?limit=4&continue=\$tok\" > \$WORK/pn; n=\$((n + \$(jq '.items|length' \$WORK/pn))); tok=\$(jq -r '.metadata.continue // empty' \$WORK/pn); done; [ \$n = 12 ]"
check "a malformed token is 400" bash -c "[ \"\$(raw \"\$L?limit=4&continue=bm9wZQ\" | jq -r .code)\" = 400 ]"
check "SIGTERM exits 0" stop_server
