#!/bin/sh
# make conformance-build: the upstream conformance tools, built from the Go
# module proxy at the version conformance/e2e/go.mod pins, into build/conformance:
#   e2e.test  (go test -c k8s.io/kubernetes/test/e2e)
#   kubectl   (k8s.io/kubernetes/cmd/kubectl, same version, for the kubectl tests)
#   ginkgo    (github.com/onsi/ginkgo/v2/ginkgo at the version kubernetes requires)
# Nothing upstream is copied into the repository; go.mod/go.sum only name versions.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${CONF_BUILD_DIR:-$root/build/conformance}
mkdir -p "$out"
cd "$root/conformance/e2e"
kube=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
major=${kube#v}; major=${major%%.*}
minor=${kube#v*.}; minor=${minor%%.*}
ld=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	ld="$ld -X $pkg.gitVersion=$kube -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
step() { # name, command...
	name=$1; shift
	t0=$(date +%s)
	"$@"
	echo "conformance-build: $name $(( $(date +%s) - t0 ))s"
}
t_all=$(date +%s)
step ginkgo go build -o "$out/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
step kubectl go build -ldflags "$ld" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl
step e2e.test go test -c -vet=off -ldflags "$ld" -o "$out/e2e.test" k8s.io/kubernetes/test/e2e
echo "$kube" > "$out/VERSION"
echo "conformance-build: $kube into $out in $(( $(date +%s) - t_all ))s"
