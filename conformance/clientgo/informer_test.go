package clientgo

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// TestInformer: a SharedInformerFactory's namespace informer syncs within a few seconds
// through a watch-list (client-go v0.37's reflector opens a watch with
// sendInitialEvents=true and waits for the initial-events-end bookmark; kube serves it,
// so there is no fallback LIST), then sees a create and an update through its handlers.
func TestInformer(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			m := f.rec.mark()
			factory := informers.NewSharedInformerFactory(f.cs, 0)
			defer factory.Shutdown()
			defer cancel()
			inf := factory.Core().V1().Namespaces()
			type note struct {
				kind string
				ns   *corev1.Namespace
			}
			notes := make(chan note, 1000)
			_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(o any) { notes <- note{"add", o.(*corev1.Namespace)} },
				UpdateFunc: func(_, o any) { notes <- note{"update", o.(*corev1.Namespace)} },
				DeleteFunc: func(o any) { notes <- note{"delete", nil} },
			})
			if err != nil {
				t.Fatalf("AddEventHandler: %v", err)
			}
			start := time.Now()
			factory.Start(ctx.Done())
			syncCtx, syncCancel := context.WithTimeout(ctx, 5*time.Second)
			defer syncCancel()
			if !cache.WaitForCacheSync(syncCtx.Done(), inf.Informer().HasSynced) {
				t.Fatalf("informer did not sync in 5 s; requests: %+v", f.rec.since(m))
			}
			t.Logf("synced in %v", time.Since(start).Round(time.Millisecond))
			if _, err := inf.Lister().Get("default"); err != nil {
				t.Errorf("lister get default: %v", err)
			}

			name := uniq("inf")
			mustCreate(t, f, newNS(name, nil))
			waitNote := func(kind string, ok func(*corev1.Namespace) bool) {
				t.Helper()
				deadline := time.After(5 * time.Second)
				for {
					select {
					case n := <-notes:
						if n.kind == kind && n.ns != nil && n.ns.Name == name && ok(n.ns) {
							return
						}
					case <-deadline:
						t.Fatalf("no %s notification for %s in 5 s", kind, name)
					}
				}
			}
			waitNote("add", func(*corev1.Namespace) bool { return true })
			_, err = f.cs.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"seen":"yes"}}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			waitNote("update", func(n *corev1.Namespace) bool { return n.Labels["seen"] == "yes" })
			if got, err := inf.Lister().Get(name); err != nil || got.Labels["seen"] != "yes" {
				t.Errorf("lister after update: %v %v", err, got)
			}

			// How it synced: a watch-list, no fallback LIST.
			watchList := false
			for _, e := range f.rec.since(m) {
				u, _ := url.Parse(e.URL)
				if u.Path != "/api/v1/namespaces" || e.Method != "GET" {
					continue
				}
				q := u.Query()
				if q.Get("watch") == "" && q.Get("limit") != "" {
					t.Errorf("the reflector fell back to a LIST (%s -> %d): the watch-list did not work", e.URL, e.Status)
				}
				if q.Get("sendInitialEvents") == "true" {
					watchList = true
					if e.Status != 200 || !strings.HasPrefix(e.RespContentType, f.ct) {
						t.Errorf("watch-list %s -> %d %q", e.URL, e.Status, e.RespContentType)
					}
				}
			}
			if !watchList {
				t.Errorf("no watch-list request (sendInitialEvents=true) seen: %+v", f.rec.since(m))
			}
		})
	}
}
