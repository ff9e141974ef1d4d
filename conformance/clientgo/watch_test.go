package clientgo

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// ev is a watch event reduced to what the tests compare.
type ev struct {
	Type    watch.EventType
	Name    string
	RV      string
	Labels  map[string]string
	Deleted bool // deletionTimestamp set
	Phase   corev1.NamespacePhase
}

func (e ev) String() string {
	return fmt.Sprintf("%s %s rv=%s phase=%s deleted=%v labels=%v", e.Type, e.Name, e.RV, e.Phase, e.Deleted, e.Labels)
}

// collect reads events from w for which keep returns true until n are seen or d passes;
// an ERROR event or a closed channel fails the test.
func collect(t *testing.T, w watch.Interface, n int, d time.Duration, keep func(*corev1.Namespace) bool) []ev {
	t.Helper()
	var out []ev
	timer := time.NewTimer(d)
	defer timer.Stop()
	for n < 0 || len(out) < n {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %v", out)
			}
			if e.Type == watch.Error {
				t.Fatalf("watch ERROR event: %v", apierrors.FromObject(e.Object))
			}
			if e.Type == watch.Bookmark {
				continue
			}
			ns, ok := e.Object.(*corev1.Namespace)
			if !ok {
				t.Fatalf("watch event object is %T", e.Object)
			}
			if keep(ns) {
				out = append(out, ev{e.Type, ns.Name, ns.ResourceVersion, ns.Labels, ns.DeletionTimestamp != nil, ns.Status.Phase})
			}
		case <-timer.C:
			if n < 0 {
				return out
			}
			t.Fatalf("watch: %d of %d events after %v: %v", len(out), n, d, out)
		}
	}
	return out
}

func named(ns ...string) func(*corev1.Namespace) bool {
	return func(o *corev1.Namespace) bool {
		for _, n := range ns {
			if o.Name == n {
				return true
			}
		}
		return false
	}
}

func TestWatchFromListRV(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			m := f.rec.mark()
			list, err := nsc.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			w, err := nsc.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			name := uniq("watch")
			c := mustCreate(t, f, newNS(name, nil))
			u, err := nsc.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"w":"1"}}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			hold(t, name)
			if err := nsc.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			d, err := nsc.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get after delete: %v", err)
			}
			got := collect(t, w, 3, 10*time.Second, named(name))
			want := []ev{
				{watch.Added, name, c.ResourceVersion, c.Labels, false, corev1.NamespaceActive},
				{watch.Modified, name, u.ResourceVersion, u.Labels, false, corev1.NamespaceActive},
				// Deleting a namespace is an update to Terminating, not a DELETED event.
				{watch.Modified, name, d.ResourceVersion, d.Labels, true, corev1.NamespaceTerminating},
			}
			for i := range want {
				if got[i].String() != want[i].String() {
					t.Errorf("event %d: got  %v\n            want %v", i, got[i], want[i])
				}
			}
			if more := collect(t, w, -1, 500*time.Millisecond, named(name)); len(more) != 0 {
				t.Errorf("unexpected further events: %v", more)
			}
			checkWire(t, f.rec.since(m), f.ct)
		})
	}
}

func TestWatchRV0SendsCurrentState(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			name := uniq("w0")
			mustCreate(t, f, newNS(name, nil))
			// resourceVersion "0" (and unset): ADDED for every existing object first.
			w, err := f.cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			got := collect(t, w, 2, 10*time.Second, named("default", name))
			for _, e := range got {
				if e.Type != watch.Added {
					t.Errorf("initial event %v, want ADDED", e)
				}
			}
		})
	}
}

func TestWatchLabelSelector(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			id := uniq("wsel")
			sel := "cg-wsel=" + id + ",state=in"
			list, err := nsc.List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			w, err := nsc.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			x := uniq("wsel-x")
			setState := func(n, s string) *corev1.Namespace {
				t.Helper()
				o, err := nsc.Patch(ctx, n, types.MergePatchType, []byte(`{"metadata":{"labels":{"state":"`+s+`"}}}`), metav1.PatchOptions{})
				if err != nil {
					t.Fatalf("patch %s: %v", n, err)
				}
				return o
			}
			c := mustCreate(t, f, newNS(x, map[string]string{"cg-wsel": id, "state": "in"}))
			out := setState(x, "out")
			in := setState(x, "in")
			mustCreate(t, f, newNS(uniq("wsel-y"), map[string]string{"cg-wsel": id, "state": "out"}))
			hold(t, x)
			if err := nsc.Delete(ctx, x, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			d, err := nsc.Get(ctx, x, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			got := collect(t, w, 4, 10*time.Second, func(*corev1.Namespace) bool { return true })
			want := []ev{
				{watch.Added, x, c.ResourceVersion, c.Labels, false, corev1.NamespaceActive},
				// Leaving the selector: DELETED carrying the object as it was before the
				// change (still matching) at the new resourceVersion (kube's cacheWatcher).
				{watch.Deleted, x, out.ResourceVersion, c.Labels, false, corev1.NamespaceActive},
				{watch.Added, x, in.ResourceVersion, in.Labels, false, corev1.NamespaceActive},
				{watch.Modified, x, d.ResourceVersion, d.Labels, true, corev1.NamespaceTerminating},
			}
			for i := range want {
				if got[i].String() != want[i].String() {
					t.Errorf("event %d: got  %v\n            want %v", i, got[i], want[i])
				}
			}
			if more := collect(t, w, -1, 500*time.Millisecond, func(*corev1.Namespace) bool { return true }); len(more) != 0 {
				t.Errorf("unexpected further events (the non-matching namespace?): %v", more)
			}
		})
	}
}

func currentRV(t *testing.T, f flavor) uint64 {
	t.Helper()
	l, err := f.cs.CoreV1().Namespaces().List(ctxT(t, 10*time.Second), metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	rv, err := strconv.ParseUint(l.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("list resourceVersion %q: %v", l.ResourceVersion, err)
	}
	return rv
}

func TestWatchTooOldRV(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 10*time.Second)
			t0 := time.Now()
			w, err := f.cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			select {
			case e := <-w.ResultChan():
				if e.Type != watch.Error {
					t.Skipf("cannot construct a too-old resourceVersion: vkube still has history from revision 1 "+
						"(it compacts every 5 minutes, keeping 75 s); first event from rv=1 was %s after %v", e.Type, time.Since(t0))
				}
				err := apierrors.FromObject(e.Object)
				if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
					t.Errorf("too-old watch: %v, want 410 Expired", err)
				}
				if !strings.Contains(err.Error(), "too old resource version") {
					t.Errorf("too-old watch message %q", err.Error())
				}
			case <-ctx.Done():
				t.Skipf("no event from rv=1 (cannot construct a too-old resourceVersion)")
			}
		})
	}
}

// TestWatchListTooLargeRV: a watch-list (sendInitialEvents=true) from a resourceVersion the
// server has not reached waits up to 3 s for it (kube's watch cache blockTimeout) and then
// sends one ERROR event: 504 Timeout "Too large resource version", cause ResourceVersionTooLarge.
func TestWatchListTooLargeRV(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			future := currentRV(t, f) + 1000000
			w, err := f.cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{
				ResourceVersion: strconv.FormatUint(future, 10), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
				SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true})
			if err != nil {
				t.Fatalf("watch: %v (kube answers 200 and an ERROR event)", err)
			}
			defer w.Stop()
			select {
			case e, ok := <-w.ResultChan():
				if !ok || e.Type != watch.Error {
					t.Fatalf("first event %v (open %v), want ERROR", e.Type, ok)
				}
				err := apierrors.FromObject(e.Object)
				st := statusOf(t, err)
				if st.Code != 504 || st.Reason != metav1.StatusReasonTimeout ||
					!strings.HasPrefix(st.Message, fmt.Sprintf("Too large resource version: %d, current: ", future)) ||
					!apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) {
					t.Errorf("error event: %+v details %+v", st, st.Details)
				}
			case <-ctx.Done():
				t.Fatalf("no event in 20 s")
			}
		})
	}
}

// TestWatchFutureRVWaits: a plain watch (no sendInitialEvents) from a resourceVersion the
// server has not reached is established and waits: kube's cacher only blocks watch-list
// requests on freshness (waitUntilWatchCacheFreshAndForceAllEvents: "otherwise, we allow
// for establishing the connection because the clients can wait for events"); events at or
// below the requested resourceVersion are not sent, and there is no ERROR event.
func TestWatchFutureRVWaits(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			future := currentRV(t, f) + 1000000
			w, err := f.cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{ResourceVersion: strconv.FormatUint(future, 10)})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			mustCreate(t, f, newNS(uniq("future"), nil))
			select {
			case e, ok := <-w.ResultChan():
				if !ok {
					t.Errorf("watch from a future resourceVersion ended at once")
				} else if e.Type == watch.Error {
					t.Errorf("watch from a future resourceVersion sent ERROR %v; kube keeps the watch open and waits", apierrors.FromObject(e.Object))
				} else {
					t.Errorf("watch from a future resourceVersion sent %s for an older change", e.Type)
				}
			case <-time.After(4 * time.Second):
			}
		})
	}
}

// TestWatchListNearFutureRV: a watch-list from a resourceVersion just ahead of the server's
// is not refused at once: kube waits up to 3 s for the cache to reach it
// (watchCache.waitUntilFreshLocked), so a write in that window lets the watch-list
// proceed: ADDED for every namespace, then the initial-events-end bookmark.
func TestWatchListNearFutureRV(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			next := currentRV(t, f) + 1
			name := uniq("near")
			created := make(chan string, 1)
			go func() {
				time.Sleep(500 * time.Millisecond)
				ns, err := f.cs.CoreV1().Namespaces().Create(ctx, newNS(name, nil), metav1.CreateOptions{})
				if err != nil {
					created <- "error: " + err.Error()
					return
				}
				created <- ns.ResourceVersion
			}()
			w, err := f.cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{
				ResourceVersion: strconv.FormatUint(next, 10), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
				SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			rv := <-created
			if r, err := strconv.ParseUint(rv, 10, 64); err != nil || r < next {
				t.Fatalf("the create gave resourceVersion %q, below the requested %d: cannot test", rv, next)
			}
			sawNew := false
			for {
				select {
				case e, ok := <-w.ResultChan():
					if !ok {
						t.Fatalf("watch closed before the initial-events-end bookmark")
					}
					switch e.Type {
					case watch.Error:
						t.Fatalf("ERROR event %v: kube waits up to 3 s for a resourceVersion just ahead", apierrors.FromObject(e.Object))
					case watch.Added:
						if e.Object.(*corev1.Namespace).Name == name {
							sawNew = true
						}
					case watch.Bookmark:
						ns := e.Object.(*corev1.Namespace)
						if ns.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
							continue
						}
						b, _ := strconv.ParseUint(ns.ResourceVersion, 10, 64)
						if b < next {
							t.Errorf("bookmark resourceVersion %s below the requested %d", ns.ResourceVersion, next)
						}
						// The snapshot is at the first revision >= next. Another writer
						// (the server's controllers) may reach next before our create:
						// then our namespace comes after the bookmark, as a live event.
						r, _ := strconv.ParseUint(rv, 10, 64)
						if r <= b && !sawNew {
							t.Errorf("initial events lack %s (rv %d), inside the snapshot at %d", name, r, b)
						}
						if r <= b {
							return
						}
						for !sawNew {
							select {
							case e, ok := <-w.ResultChan():
								if !ok {
									t.Fatalf("watch closed before %s arrived", name)
								}
								if e.Type == watch.Added && e.Object.(*corev1.Namespace).Name == name {
									sawNew = true
								}
							case <-ctx.Done():
								t.Fatalf("%s (rv %d) never arrived after the snapshot at %d", name, r, b)
							}
						}
						return
					}
				case <-ctx.Done():
					t.Fatalf("no initial-events-end bookmark")
				}
			}
		})
	}
}

// TestWatchReplayIsPrompt: a watch from an older resourceVersion replays the changes since
// then at once (kube serves them from the watch cache in milliseconds); here 100 creates,
// over the clientset's one reused HTTP/2 connection.
func TestWatchReplayIsPrompt(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			id := uniq("replay")
			r0 := currentRV(t, f)
			for range 100 {
				mustCreate(t, f, newNS(uniq("replay"), map[string]string{"cg-replay": id}))
			}
			for round := range 3 {
				t0 := time.Now()
				w, err := nsc.Watch(ctx, metav1.ListOptions{ResourceVersion: strconv.FormatUint(r0, 10)})
				if err != nil {
					t.Fatalf("watch: %v", err)
				}
				got := collect(t, w, 1, 10*time.Second, func(*corev1.Namespace) bool { return true })
				first := time.Since(t0)
				collect(t, w, 99, 10*time.Second, func(*corev1.Namespace) bool { return true })
				all := time.Since(t0)
				w.Stop()
				if got[0].Type != watch.Added || first > 300*time.Millisecond || all > 500*time.Millisecond {
					t.Errorf("round %d: first event (%s) after %v, 100 events after %v; want both well under 300 ms", round, got[0].Type, first.Round(time.Millisecond), all.Round(time.Millisecond))
				}
			}
		})
	}
}
