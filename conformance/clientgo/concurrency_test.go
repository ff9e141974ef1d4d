package clientgo

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestConcurrentCreates: 50 goroutines create namespaces at once through the protobuf
// clientset (one HTTP/2 connection); all succeed with distinct resourceVersions above the
// one before, and a watch from before sees 50 ADDED events in increasing order.
func TestConcurrentCreates(t *testing.T) {
	const n = 50
	f := pbFlavor
	ctx := ctxT(t, 60*time.Second)
	nsc := f.cs.CoreV1().Namespaces()
	id := uniq("conc")
	sel := "cg-conc=" + id
	before := currentRV(t, f)
	w, err := nsc.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: strconv.FormatUint(before, 10)})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	rvs := make([]uint64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			ns, err := nsc.Create(ctx, newNS(uniq("conc"), map[string]string{"cg-conc": id}), metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			rvs[i], errs[i] = strconv.ParseUint(ns.ResourceVersion, 10, 64)
		}()
	}
	start := time.Now()
	close(startGate)
	wg.Wait()
	t.Logf("%d concurrent creates in %v", n, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	sorted := slices.Clone(rvs)
	slices.Sort(sorted)
	if len(slices.Compact(slices.Clone(sorted))) != n {
		t.Errorf("resourceVersions not unique: %v", sorted)
	}
	if sorted[0] <= before {
		t.Errorf("resourceVersion %d not above the one before (%d)", sorted[0], before)
	}

	var seen []uint64
	got := collect(t, w, n, 15*time.Second, func(*corev1.Namespace) bool { return true })
	for _, e := range got {
		if e.Type != watch.Added {
			t.Errorf("event %v, want ADDED", e)
		}
		rv, _ := strconv.ParseUint(e.RV, 10, 64)
		if len(seen) > 0 && rv <= seen[len(seen)-1] {
			t.Errorf("watch resourceVersions not increasing: %d after %d", rv, seen[len(seen)-1])
		}
		seen = append(seen, rv)
	}
	if !slices.Equal(seen, sorted) {
		t.Errorf("watch saw resourceVersions %v, creates returned %v", seen, sorted)
	}
	l, err := nsc.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	lrv, _ := strconv.ParseUint(l.ResourceVersion, 10, 64)
	if len(l.Items) != n || lrv < sorted[n-1] {
		t.Errorf("list after: %d items at rv %d, want %d at >= %d", len(l.Items), lrv, n, sorted[n-1])
	}
}
