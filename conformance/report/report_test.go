package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Sample JUnit in the shape Ginkgo v2 writes for e2e.test (failure text in the
// element body, labels inline in the names).
const catalogXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" disabled="1" errors="0" failures="0" time="0.1">
  <testsuite name="Kubernetes e2e suite" package="/e2e" tests="6" disabled="0" skipped="1" errors="0" failures="0" time="0.1">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-apps] Deployment deployment should support rollover [Conformance]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-node] Pods should get a host IP [NodeConformance] [Conformance]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-cli] Kubectl client Kubectl version should check is all data is printed [Conformance]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
    <testcase name="[It] [sig-storage] CSI something not conformance" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
  </testsuite>
</testsuites>`

const parallelXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="Kubernetes e2e suite" tests="5">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="1"></testcase>
    <testcase name="[It] [sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]" classname="Kubernetes e2e suite" status="passed" time="3.5"></testcase>
    <testcase name="[It] [sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-apps] Deployment deployment should support rollover [Conformance]" classname="Kubernetes e2e suite" status="failed" time="30"><failure message="" type="failed">[FAILED] error waiting for deployment &#34;test-rollover-deployment&#34; status to match expectation: deployments.apps &#34;x-7kbzq&#34; not found in namespace deployment-4521&#xA;In [It] at: test/e2e/apps/deployment.go:123 @ 11/25/26 10:00:00.000&#xA;</failure></testcase>
    <testcase name="[It] [sig-node] Pods should get a host IP [NodeConformance] [Conformance]" classname="Kubernetes e2e suite" status="failed" time="12"><failure message="" type="failed">[FAILED] error waiting for deployment &#34;test-rollover-deployment&#34; status to match expectation: deployments.apps &#34;x-m2xdt&#34; not found in namespace pods-8812&#xA;In [It] at: test/e2e/common/node/pods.go:1 @ 11/25/26 10:00:00.000&#xA;</failure></testcase>
    <testcase name="[It] [sig-cli] Kubectl client Kubectl version should check is all data is printed [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0.2"><skipped message="skipped - Only supported for providers [gce] (not skeleton)"></skipped></testcase>
  </testsuite>
</testsuites>`

const serialBeforeSuiteFailedXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="Kubernetes e2e suite" tests="3">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="failed" time="1"><failure message="" type="failed">[FAILED] services &#34;kubernetes&#34; not found&#xA;In [SynchronizedBeforeSuite] at: test/e2e/e2e.go:1&#xA;</failure></testcase>
    <testcase name="[It] [sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
  </testsuite>
</testsuites>`

func writeResults(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const runEnv = "date=2026-11-25T18:00:00Z\ncommit=abc123\nsuite=v1.37.2\nmode=standalone\n" +
	"content_type=application/vnd.kubernetes.protobuf\nfocus=\\[Conformance\\]\nprocs=2\n" +
	"phases=serial parallel\nparallel_seconds=40\nparallel_exit=1\nserial_seconds=2\nserial_exit=1\n" +
	"command=make conformance\n"

func find(specs []Spec, prefix string) Spec {
	for _, s := range specs {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	return Spec{}
}

func TestMergeOutcomes(t *testing.T) {
	cat, err := parseJUnit(strings.NewReader(catalogXML))
	if err != nil {
		t.Fatal(err)
	}
	var catalog []string
	for _, c := range cat {
		if n, ok := specName(c.Name); ok && c.Status != "skipped" {
			catalog = append(catalog, n)
		}
	}
	if len(catalog) != 5 {
		t.Fatalf("catalog has %d specs, want 5", len(catalog))
	}
	par, err := parseJUnit(strings.NewReader(parallelXML))
	if err != nil {
		t.Fatal(err)
	}
	specs, suiteFails := Merge(catalog, map[string]Phase{"parallel": {Cases: par}}, `\[Conformance\]`)
	if len(suiteFails) != 0 {
		t.Errorf("suite failures: %v", suiteFails)
	}
	if s := find(specs, "[sig-api-machinery] Watchers"); s.Outcome != Passed || s.Seconds != 3.5 || s.Area != "api-machinery" {
		t.Errorf("watchers: %+v", s)
	}
	if s := find(specs, "[sig-apps] Deployment"); s.Outcome != Failed || !strings.HasPrefix(s.Reason, "error waiting for deployment") {
		t.Errorf("deployment: %+v", s)
	}
	if s := find(specs, "[sig-cli]"); s.Outcome != Skipped || s.Reason != "Only supported for providers [gce] (not skeleton)" {
		t.Errorf("kubectl version: %+v", s)
	}
	if s := find(specs, "[sig-api-machinery] Namespaces"); s.Outcome != NotRun || !strings.Contains(s.Reason, "not selected") {
		t.Errorf("serial spec filtered from the parallel phase: %+v", s)
	}
	// Same bug, different names and numbers: one cause.
	a, b := find(specs, "[sig-apps]"), find(specs, "[sig-node]")
	if Cause(a.Reason) != Cause(b.Reason) {
		t.Errorf("causes differ:\n%s\n%s", Cause(a.Reason), Cause(b.Reason))
	}
	if tot := count(specs, ""); tot != (Totals{Total: 5, Passed: 1, Failed: 2, Skipped: 1, NotRun: 1}) {
		t.Errorf("totals %+v", tot)
	}
}

func TestSetupFailureExplainsNotRun(t *testing.T) {
	catalog := []string{
		"[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]",
		"[sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]",
	}
	ser, err := parseJUnit(strings.NewReader(serialBeforeSuiteFailedXML))
	if err != nil {
		t.Fatal(err)
	}
	specs, suiteFails := Merge(catalog, map[string]Phase{"serial": {Cases: ser}}, "x")
	if len(suiteFails) != 1 || suiteFails[0].Line != `services "kubernetes" not found` {
		t.Fatalf("suite failures: %+v", suiteFails)
	}
	// The [Serial] spec belonged to the phase whose setup failed; the other one
	// was left out of this run.
	if s := find(specs, "[sig-api-machinery] Namespaces"); s.Outcome != NotRun ||
		s.Reason != `suite setup failed in the serial phase: services "kubernetes" not found` {
		t.Errorf("%+v", s)
	}
	if s := find(specs, "[sig-api-machinery] Watchers"); s.Outcome != NotRun || !strings.HasPrefix(s.Reason, "not selected") {
		t.Errorf("%+v", s)
	}
}

func TestReportFile(t *testing.T) {
	dir := writeResults(t, map[string]string{
		"run.env":               runEnv,
		"catalog/junit_01.xml":  catalogXML,
		"parallel/junit_01.xml": parallelXML,
		"serial/junit_01.xml":   serialBeforeSuiteFailedXML,
	})
	out := filepath.Join(dir, "CONFORMANCE.md")
	if err := run(dir, out, "A partial run."); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"| vkube commit | abc123 |",
		"| content type | application/vnd.kubernetes.protobuf |",
		"A partial run.",
		"**1 passed, 2 failed, 1 skipped, 1 not run** of the 5 [Conformance] specs",
		"| api-machinery | 2 | 1 | 0 | 0 | 1 |",
		"| apps | 1 | 0 | 1 | 0 | 0 |",
		"### 1. 2 × `error waiting for deployment",
		"serial phase, `[SynchronizedBeforeSuite]`: services \"kubernetes\" not found",
		"suite setup failed in the serial phase",
		"## Passed\n\n- [sig-api-machinery] Watchers",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// A phase cut short by ginkgo's --timeout reports the specs it did not reach as
// plain "skipped", like the ones its filters left out; its dry run tells them apart.
func TestTimeoutLeavesSpecsNotReached(t *testing.T) {
	const timedOut = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="Kubernetes e2e suite" tests="3">
    <properties>
      <property name="SuiteSucceeded" value="false"></property>
      <property name="SpecialSuiteFailureReason" value="Interrupted by Timeout"></property>
    </properties>
    <testcase name="[It] [sig-apps] A waits [Conformance]" classname="Kubernetes e2e suite" status="timedout" time="600"><failure message="" type="timedout">[TIMEDOUT] A suite timeout occurred&#xA;In [It] at: x.go:1&#xA;</failure></testcase>
    <testcase name="[It] [sig-apps] B comes later [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-node] C is filtered [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
  </testsuite>
</testsuites>`
	cases, props, err := parseJUnitProps(strings.NewReader(timedOut))
	if err != nil {
		t.Fatal(err)
	}
	ph := Phase{Cases: cases, Ended: props["SpecialSuiteFailureReason"],
		Selected: map[string]bool{"[sig-apps] A waits [Conformance]": true, "[sig-apps] B comes later [Conformance]": true}}
	specs, _ := Merge([]string{"[sig-apps] A waits [Conformance]", "[sig-apps] B comes later [Conformance]",
		"[sig-node] C is filtered [Conformance]"}, map[string]Phase{"parallel": ph}, `\[sig-apps\]`)
	if s := find(specs, "[sig-apps] A"); s.Outcome != Failed || s.Reason != "[timedout] A suite timeout occurred" {
		t.Errorf("%+v", s)
	}
	if s := find(specs, "[sig-apps] B"); s.Outcome != NotRun ||
		s.Reason != "not reached: the parallel phase ended before it (Interrupted by Timeout)" {
		t.Errorf("%+v", s)
	}
	if s := find(specs, "[sig-node] C"); s.Outcome != NotRun || s.Reason != `not selected (FOCUS=\[sig-apps\])` {
		t.Errorf("%+v", s)
	}
}

func TestFirstLineJoinsGomegaExpected(t *testing.T) {
	c := junitCase{Status: "failed", Failure: &junitMessage{Type: "failed",
		Body: "[FAILED] Expected\n    <int>: 0\nto equal\n    <int>: 1\nIn [It] at: x.go:1 @ now\n"}}
	if got := firstLine(c); got != "Expected <int>: 0 to equal <int>: 1" {
		t.Errorf("got %q", got)
	}
	c.Failure.Body = "[FAILED] services \"x\" not found\nmore\n"
	if got := firstLine(c); got != `services "x" not found` {
		t.Errorf("got %q", got)
	}
}
