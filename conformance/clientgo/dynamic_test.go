package clientgo

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

var nsGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// TestDynamicClient: the dynamic client (JSON, unstructured) through create, get, list,
// update, patch, watch and delete.
func TestDynamicClient(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	rc := dyn.Resource(nsGVR)
	id := uniq("dyn")
	sel := "cg-dyn=" + id
	name := uniq("dyn")
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name, "labels": map[string]any{"cg-dyn": id, runLabel: runID}},
	}}
	c, err := rc.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if c.GetKind() != "Namespace" || c.GetAPIVersion() != "v1" || c.GetUID() == "" || c.GetResourceVersion() == "" {
		t.Errorf("create: kind %q apiVersion %q uid %q rv %q", c.GetKind(), c.GetAPIVersion(), c.GetUID(), c.GetResourceVersion())
	}
	if p, _, _ := unstructured.NestedString(c.Object, "status", "phase"); p != "Active" {
		t.Errorf("create: status.phase %q", p)
	}
	g, err := rc.Get(ctx, name, metav1.GetOptions{})
	if err != nil || g.GetUID() != c.GetUID() || g.GetKind() != "Namespace" {
		t.Fatalf("get: %v %v", err, g)
	}
	l, err := rc.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if l.GetKind() != "NamespaceList" || l.GetAPIVersion() != "v1" || len(l.Items) != 1 || l.Items[0].GetName() != name || l.GetResourceVersion() == "" {
		t.Errorf("list: kind %q apiVersion %q rv %q items %d", l.GetKind(), l.GetAPIVersion(), l.GetResourceVersion(), len(l.Items))
	}
	// From the list's resourceVersion: the create is already in the list, only later changes come.
	w, err := rc.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: l.GetResourceVersion()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	g.SetLabels(map[string]string{"cg-dyn": id, runLabel: runID, "u": "1"})
	u, err := rc.Update(ctx, g, metav1.UpdateOptions{})
	if err != nil || u.GetLabels()["u"] != "1" || u.GetResourceVersion() == g.GetResourceVersion() {
		t.Fatalf("update: %v %v", err, u)
	}
	if _, err := rc.Update(ctx, g, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: got %v, want 409 Conflict", err)
	}
	p, err := rc.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"annotations":{"p":"1"}}}`), metav1.PatchOptions{})
	if err != nil || p.GetAnnotations()["p"] != "1" {
		t.Fatalf("merge patch: %v %v", err, p)
	}
	p2, err := rc.Patch(ctx, name, types.JSONPatchType, []byte(`[{"op":"replace","path":"/metadata/labels/u","value":"2"}]`), metav1.PatchOptions{})
	if err != nil || p2.GetLabels()["u"] != "2" {
		t.Fatalf("json patch: %v %v", err, p2)
	}
	hold(t, name)
	if err := rc.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	d, err := rc.Get(ctx, name, metav1.GetOptions{})
	if err != nil || d.GetDeletionTimestamp() == nil {
		t.Fatalf("get after delete: %v %v", err, d)
	}
	if ph, _, _ := unstructured.NestedString(d.Object, "status", "phase"); ph != "Terminating" {
		t.Errorf("after delete: phase %q", ph)
	}

	want := []struct {
		typ watch.EventType
		rv  string
	}{{watch.Modified, u.GetResourceVersion()}, {watch.Modified, p.GetResourceVersion()},
		{watch.Modified, p2.GetResourceVersion()}, {watch.Modified, d.GetResourceVersion()}}
	for i, wt := range want {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed at event %d", i)
			}
			o, isU := e.Object.(*unstructured.Unstructured)
			if !isU {
				t.Fatalf("event %d: %s %T %v", i, e.Type, e.Object, e.Object)
			}
			if e.Type != wt.typ || o.GetResourceVersion() != wt.rv || o.GetName() != name || o.GetKind() != "Namespace" {
				t.Errorf("event %d: %s %s rv %s kind %q, want %s rv %s", i, e.Type, o.GetName(), o.GetResourceVersion(), o.GetKind(), wt.typ, wt.rv)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no watch event %d in 10 s", i)
		}
	}

	_, err = rc.Get(ctx, uniq("dyn-missing"), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("get missing: %v", err)
	}
	bad := obj.DeepCopy()
	bad.SetName("Bad_" + runID)
	if _, err := rc.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("create invalid: got %v, want 422", err)
	}
}
