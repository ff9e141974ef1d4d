#!/bin/bash
# End to end: strategic merge patch follows kube's patch strategies and merge keys (the
# metadata generated from kube's OpenAPI): kubectl set image, client-side apply with
# $setElementOrder and $retainKeys, $patch directives, merge keys other than name.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
check "server starts" start_server "$D"
raw() { admin_curl "$D" -H 'User-Agent: e2e' "$@"; }
smp() { raw -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d "$2" "$VK_URL$1"; }
jp() { kubectl get "$1" -o jsonpath="$2"; }
export -f raw smp jp
export D VK_URL WORK
DEP=/apis/apps/v1/namespaces/default/deployments/web

cat >"$WORK/web1.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: fe}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}, {name: C, value: "3"}]
        volumeMounts: [{name: data, mountPath: /data}]
      - name: side
        image: busybox
        command: [sleep, 1d]
      volumes:
      - {name: data, emptyDir: {}}
      - {name: cfg, configMap: {name: c1}}
      tolerations:
      - {key: k1, operator: Exists}
      - {key: k2, operator: Exists}
EOF
# The second manifest: side removed, extra added before nginx, nginx's image changed, the
# data volume switched to a configMap, the strategy to Recreate.
cat >"$WORK/web2.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: fe}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: extra
        image: redis:7
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}, {name: C, value: "3"}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - {name: data, configMap: {name: d1}}
      - {name: cfg, configMap: {name: c1}}
      tolerations:
      - {key: k1, operator: Exists}
      - {key: k2, operator: Exists}
EOF

check "kubectl apply creates the deployment" bash -c "kubectl apply -f $WORK/web1.yaml | grep -q 'deployment.apps/web created'"
check "kubectl set image keeps the other containers and fields" bash -c "kubectl set image deployment/web nginx=nginx:1.26 >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[*].image} {.spec.template.spec.containers[0].env[*].name} {.spec.template.spec.containers[1].command}')\" = 'nginx side nginx:1.26 busybox A B C [\"sleep\",\"1d\"]' ]"
check "kubectl apply of a changed container list (\$setElementOrder, \$patch delete)" bash -c "kubectl apply -f $WORK/web2.yaml | grep -q configured && [ \"\$(jp deploy/web '{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[*].image}')\" = 'extra nginx redis:7 nginx:1.27' ]"
check "kubectl apply switches a volume source (\$retainKeys on volumes)" bash -c "[ \"\$(jp deploy/web '{.spec.template.spec.volumes}')\" = '[{\"configMap\":{\"defaultMode\":420,\"name\":\"d1\"},\"name\":\"data\"},{\"configMap\":{\"defaultMode\":420,\"name\":\"c1\"},\"name\":\"cfg\"}]' ]"
check "kubectl apply to Recreate drops rollingUpdate (\$retainKeys on strategy)" bash -c "[ \"\$(jp deploy/web '{.spec.strategy}')\" = '{\"type\":\"Recreate\"}' ]"
check "kubectl apply again is unchanged" bash -c "kubectl apply -f $WORK/web2.yaml | grep -q unchanged"
check "\$patch: delete removes an env var by name" bash -c "kubectl patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"env\":[{\"name\":\"B\",\"\$patch\":\"delete\"}]}]}}}}' >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.containers[1].env[*].name}')\" = 'A C' ]"
check "container ports merge by containerPort" bash -c "kubectl patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"ports\":[{\"containerPort\":443},{\"containerPort\":80,\"name\":\"http\"}]}]}}}}' >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.containers[1].ports[*].containerPort} {.spec.template.spec.containers[1].ports[*].name}')\" = '443 80 http' ]"
check "tolerations (no patch strategy) are replaced" bash -c "kubectl patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":\"k3\",\"operator\":\"Exists\"}]}}}}' >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.tolerations[*].key}')\" = k3 ]"
check "labels merge as a map (null removes)" bash -c "kubectl patch deploy web -p '{\"metadata\":{\"labels\":{\"tier\":null,\"env\":\"prod\"}}}' >/dev/null && [ \"\$(jp deploy/web '{.metadata.labels}')\" = '{\"app\":\"web\",\"env\":\"prod\"}' ]"
check "volumes merge by name (new ones first)" bash -c "kubectl patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"extra\",\"emptyDir\":{}}]}}}}' >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.volumes[*].name}')\" = 'extra data cfg' ]"
check "\$patch: replace item replaces the whole list" bash -c "kubectl patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"env\":[{\"name\":\"Z\",\"value\":\"9\"},{\"\$patch\":\"replace\"}]}]}}}}' >/dev/null && [ \"\$(jp deploy/web '{.spec.template.spec.containers[1].env[*].name}')\" = Z ]"
check "\$deleteFromPrimitiveList removes a finalizer" bash -c "kubectl patch deploy web -p '{\"metadata\":{\"finalizers\":[\"e2e/a\",\"e2e/b\"]}}' >/dev/null && kubectl patch deploy web -p '{\"metadata\":{\"\$deleteFromPrimitiveList/finalizers\":[\"e2e/a\"]}}' >/dev/null && [ \"\$(jp deploy/web '{.metadata.finalizers}')\" = '[\"e2e/b\"]' ] && kubectl patch deploy web --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]' >/dev/null"
check "scale subresource takes a strategic patch (Scale's own schema)" bash -c "kubectl patch deploy web --subresource=scale -p '{\"spec\":{\"replicas\":3}}' >/dev/null && [ \$(jp deploy/web '{.spec.replicas}') = 3 ]"

kubectl create service clusterip s1 --tcp=80:8080 --tcp=443:8443 >/dev/null
check "service ports merge by port" bash -c "kubectl patch svc s1 -p '{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}' >/dev/null && [ \"\$(jp svc/s1 '{.spec.ports[*].port} {.spec.ports[*].targetPort}')\" = '80 443 9090 8443' ]"

check "bad \$setElementOrder key is 400 with kube's message" bash -c "smp $DEP '{\"spec\":{\"\$setElementOrderX\":[]}}' | grep -q '\"message\":\"invalid patch format of setElementOrder list\",\"reason\":\"BadRequest\",\"code\":400'"
check "\$retainKeys not naming a patched key is 400" bash -c "smp $DEP '{\"spec\":{\"strategy\":{\"\$retainKeys\":[\"type\"],\"rollingUpdate\":{}}}}' | grep -q '\"message\":\"invalid patch format of retainKeys\",\"reason\":\"BadRequest\"'"
check "a list item without its merge key is 500 with kube's message" bash -c "smp $DEP '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}' | grep -q '\"status\":\"Failure\",\"message\":\"map: map\[image:x\] does not contain declared merge key: name\",\"code\":500'"
check "unknown \$patch directive is 500" bash -c "smp $DEP '{\"metadata\":{\"labels\":{\"\$patch\":\"frob\"}}}' | grep -q '\"message\":\"unknown patch type: frob in map: map\[\$patch:frob\]\"'"
check "a patch that is not an object is 400" bash -c "smp $DEP '[1]' | grep -q 'json: cannot unmarshal array into Go value of type map\[string\]interface {}'"
check "SIGTERM exits 0" stop_server
