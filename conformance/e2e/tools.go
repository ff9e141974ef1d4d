//go:build tools

// Package e2e pins the upstream test tools that `make conformance-build`
// builds into build/conformance: the e2e suite, kubectl and ginkgo, all at the
// versions go.mod fixes. Nothing here is compiled into vkube.
package e2e

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/test/e2e"
)
