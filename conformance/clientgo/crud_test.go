package clientgo

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func newNS(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{runLabel: runID}
	maps.Copy(l, labels)
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func mustCreate(t *testing.T, f flavor, ns *corev1.Namespace) *corev1.Namespace {
	t.Helper()
	got, err := f.cs.CoreV1().Namespaces().Create(ctxT(t, 10*time.Second), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s: %v", ns.Name, err)
	}
	return got
}

func names(items []corev1.Namespace) []string {
	out := make([]string, 0, len(items))
	for _, n := range items {
		out = append(out, n.Name)
	}
	return out
}

func TestCreateAndGet(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			name := uniq("create")
			m := f.rec.mark()
			ns := newNS(name, map[string]string{"a": "b"})
			ns.Annotations = map[string]string{"note": "hello"}
			got, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if got.Name != name || got.UID == "" || got.ResourceVersion == "" || got.CreationTimestamp.IsZero() {
				t.Errorf("create returned name %q uid %q rv %q created %v", got.Name, got.UID, got.ResourceVersion, got.CreationTimestamp)
			}
			if got.Status.Phase != corev1.NamespaceActive {
				t.Errorf("phase %q, want Active", got.Status.Phase)
			}
			if !slices.Equal(got.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) {
				t.Errorf("spec.finalizers %v, want [kubernetes]", got.Spec.Finalizers)
			}
			if got.Labels[corev1.LabelMetadataName] != name || got.Labels["a"] != "b" || got.Annotations["note"] != "hello" {
				t.Errorf("labels %v annotations %v", got.Labels, got.Annotations)
			}
			if got.DeletionTimestamp != nil || got.Namespace != "" {
				t.Errorf("deletionTimestamp %v namespace %q on a new namespace", got.DeletionTimestamp, got.Namespace)
			}
			again, err := f.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if again.UID != got.UID || again.ResourceVersion != got.ResourceVersion || !maps.Equal(again.Labels, got.Labels) ||
				!again.CreationTimestamp.Equal(&got.CreationTimestamp) {
				t.Errorf("get differs from create:\n get    %+v\n create %+v", again.ObjectMeta, got.ObjectMeta)
			}
			// resourceVersion=0: any version, served (kube: from the watch cache).
			if _, err := f.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"}); err != nil {
				t.Errorf("get rv=0: %v", err)
			}
			checkWire(t, f.rec.since(m), f.ct)
		})
	}
}

func TestCreateGenerateName(t *testing.T) {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // kube's names.SimpleNameGenerator
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			prefix := uniq("gen") + "-"
			seen := map[string]bool{}
			for range 3 {
				ns := newNS("", nil)
				ns.GenerateName = prefix
				got, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("create with generateName: %v", err)
				}
				suffix, ok := strings.CutPrefix(got.Name, prefix)
				if !ok || len(suffix) != 5 || strings.Trim(suffix, alphabet) != "" {
					t.Errorf("generated name %q: want %q + 5 characters of %q", got.Name, prefix, alphabet)
				}
				if got.GenerateName != prefix {
					t.Errorf("generateName %q, want %q", got.GenerateName, prefix)
				}
				if seen[got.Name] {
					t.Errorf("generated name %q twice", got.Name)
				}
				seen[got.Name] = true
				if _, err := f.cs.CoreV1().Namespaces().Get(ctx, got.Name, metav1.GetOptions{}); err != nil {
					t.Errorf("get %s: %v", got.Name, err)
				}
			}
			// A long prefix is cut to 58 characters so that the name fits in 63.
			long := "cg-long-" + strings.Repeat("x", 60) + "-"
			ns := newNS("", nil)
			ns.GenerateName = long
			got, err := f.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create with a long generateName: %v", err)
			}
			if len(got.Name) != 63 || !strings.HasPrefix(got.Name, long[:58]) {
				t.Errorf("long generateName gave %q (%d chars), want %q + 5", got.Name, len(got.Name), long[:58])
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			for range 3 {
				mustCreate(t, f, newNS(uniq("page"), nil))
			}
			m := f.rec.mark()
			full, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			all := names(full.Items)
			if !sort.StringsAreSorted(all) {
				t.Errorf("list not in key order: %v", all)
			}
			if full.Continue != "" || full.RemainingItemCount != nil {
				t.Errorf("unpaged list has continue %q remainingItemCount %v", full.Continue, full.RemainingItemCount)
			}
			total := len(all)
			const limit = 2
			page, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: limit})
			if err != nil {
				t.Fatalf("list limit=2: %v", err)
			}
			rv := page.ResourceVersion
			// Created after the first page: later pages are at the first page's revision
			// and must not show it, though its name sorts last.
			late := mustCreate(t, f, newNS("zzz-"+uniq("late"), nil))
			var got []string
			for i := 0; ; i++ {
				if page.ResourceVersion != rv {
					t.Errorf("page %d: resourceVersion %s, want the first page's %s", i, page.ResourceVersion, rv)
				}
				got = append(got, names(page.Items)...)
				if page.Continue == "" {
					if page.RemainingItemCount != nil {
						t.Errorf("last page: remainingItemCount %d, want unset", *page.RemainingItemCount)
					}
					break
				}
				if len(page.Items) != limit {
					t.Errorf("page %d has %d items, want %d", i, len(page.Items), limit)
				}
				if page.RemainingItemCount == nil {
					t.Errorf("page %d: no remainingItemCount (kube sets it when there is no selector)", i)
				} else if want := int64(total - len(got)); *page.RemainingItemCount != want {
					t.Errorf("page %d: remainingItemCount %d, want %d", i, *page.RemainingItemCount, want)
				}
				if i > total {
					t.Fatalf("paging does not end")
				}
				page, err = f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: limit, Continue: page.Continue})
				if err != nil {
					t.Fatalf("list continue: %v", err)
				}
			}
			if !slices.Equal(got, all) {
				t.Errorf("pages gave\n %v\nwant\n %v", got, all)
			}
			if slices.Contains(got, late.Name) {
				t.Errorf("%s, created after the first page, appeared in a later page", late.Name)
			}
			after, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil || !slices.Contains(names(after.Items), late.Name) {
				t.Errorf("a fresh list lacks %s (err %v)", late.Name, err)
			}
			checkWire(t, f.rec.since(m), f.ct)
		})
	}
}

func TestListPagingWithSelector(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			id := uniq("psel")
			var want []string
			for range 5 {
				n := mustCreate(t, f, newNS(uniq("psel"), map[string]string{"cg-psel": id}))
				want = append(want, n.Name)
			}
			sort.Strings(want)
			opts := metav1.ListOptions{LabelSelector: "cg-psel=" + id, Limit: 2}
			var got []string
			var sizes []int
			rv := ""
			for i := 0; i < 10; i++ {
				page, err := f.cs.CoreV1().Namespaces().List(ctx, opts)
				if err != nil {
					t.Fatalf("list page %d: %v", i, err)
				}
				if rv == "" {
					rv = page.ResourceVersion
				} else if page.ResourceVersion != rv {
					t.Errorf("page %d: resourceVersion %s, want %s", i, page.ResourceVersion, rv)
				}
				// kube: "we return nil [remainingItemCount] for non-empty selectors".
				if page.RemainingItemCount != nil {
					t.Errorf("page %d: remainingItemCount %d with a label selector, kube leaves it unset", i, *page.RemainingItemCount)
				}
				got = append(got, names(page.Items)...)
				sizes = append(sizes, len(page.Items))
				if page.Continue == "" {
					break
				}
				opts.Continue = page.Continue
			}
			if !slices.Equal(got, want) || !slices.Equal(sizes, []int{2, 2, 1}) {
				t.Errorf("pages %v gave %v, want [2 2 1] of %v", sizes, got, want)
			}
		})
	}
}

func TestListLabelSelector(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			id := uniq("lsel")
			sel := "cg-lsel=" + id
			a := mustCreate(t, f, newNS(uniq("lsel-a"), map[string]string{"cg-lsel": id, "tier": "front", "env": "prod"})).Name
			b := mustCreate(t, f, newNS(uniq("lsel-b"), map[string]string{"cg-lsel": id, "tier": "back", "env": "prod"})).Name
			c := mustCreate(t, f, newNS(uniq("lsel-c"), map[string]string{"cg-lsel": id, "tier": "back"})).Name
			for _, tc := range []struct {
				sel  string
				want []string
			}{
				{sel, []string{a, b, c}},
				{sel + ",tier=back", []string{b, c}},
				{sel + ",tier==back", []string{b, c}},
				{sel + ",tier!=back", []string{a}},
				{sel + ",env in (prod,dev)", []string{a, b}},
				{sel + ",env notin (prod)", []string{c}},
				{sel + ",env", []string{a, b}},
				{sel + ",!env", []string{c}},
				{sel + ",tier=nowhere", nil},
				{"kubernetes.io/metadata.name=" + b, []string{b}},
			} {
				l, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tc.sel})
				if err != nil {
					t.Errorf("labelSelector %q: %v", tc.sel, err)
					continue
				}
				want := slices.Clone(tc.want)
				sort.Strings(want)
				if got := names(l.Items); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("labelSelector %q: got %v, want %v", tc.sel, got, want)
				}
			}
			_, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "cg-lsel=("})
			if !apierrors.IsBadRequest(err) {
				t.Errorf("malformed labelSelector: got %v, want 400 BadRequest", err)
			}
		})
	}
}

func TestListFieldSelector(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			id := uniq("fsel")
			sel := "cg-fsel=" + id
			a := mustCreate(t, f, newNS(uniq("fsel-a"), map[string]string{"cg-fsel": id})).Name
			b := mustCreate(t, f, newNS(uniq("fsel-b"), map[string]string{"cg-fsel": id})).Name
			c := mustCreate(t, f, newNS(uniq("fsel-c"), map[string]string{"cg-fsel": id})).Name
			hold(t, b)
			if err := f.cs.CoreV1().Namespaces().Delete(ctx, b, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete %s: %v", b, err)
			}
			for _, tc := range []struct {
				labels, fields string
				want           []string
			}{
				{"", "metadata.name=" + a, []string{a}},
				{"", "metadata.name==" + a, []string{a}},
				{sel, "metadata.name!=" + a, []string{b, c}},
				{sel, "status.phase=Terminating", []string{b}},
				{sel, "status.phase=Active", []string{a, c}},
				{sel, "status.phase!=Active", []string{b}},
				{"", "metadata.name=" + c + ",status.phase=Active", []string{c}},
				{"", "metadata.name=" + c + ",status.phase=Terminating", nil},
				{"", "metadata.name=default", []string{"default"}},
			} {
				l, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tc.labels, FieldSelector: tc.fields})
				if err != nil {
					t.Errorf("fieldSelector %q labelSelector %q: %v", tc.fields, tc.labels, err)
					continue
				}
				want := slices.Clone(tc.want)
				sort.Strings(want)
				if got := names(l.Items); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("fieldSelector %q labelSelector %q: got %v, want %v", tc.fields, tc.labels, got, want)
				}
			}
			_, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=bar"})
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported: spec.foo") {
				t.Errorf("unsupported field selector: got %v, want 400 \"field label not supported: spec.foo\"", err)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			name := uniq("update")
			created := mustCreate(t, f, newNS(name, nil))
			m := f.rec.mark()

			cur := created.DeepCopy()
			cur.Labels["u"] = "1"
			upd, err := nsc.Update(ctx, cur, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update with the current resourceVersion: %v", err)
			}
			if upd.ResourceVersion == created.ResourceVersion || upd.Labels["u"] != "1" || upd.UID != created.UID {
				t.Errorf("update: rv %s (was %s) labels %v uid %s", upd.ResourceVersion, created.ResourceVersion, upd.Labels, upd.UID)
			}

			stale := created.DeepCopy()
			stale.Labels["u"] = "stale"
			_, err = nsc.Update(ctx, stale, metav1.UpdateOptions{})
			if !apierrors.IsConflict(err) {
				t.Fatalf("update with a stale resourceVersion: got %v, want 409 Conflict", err)
			}
			st := statusOf(t, err)
			wantMsg := `Operation cannot be fulfilled on namespaces "` + name + `": the object has been modified; please apply your changes to the latest version and try again`
			if st.Message != wantMsg || st.Details == nil || st.Details.Name != name || st.Details.Kind != "namespaces" {
				t.Errorf("conflict status: message %q details %+v\nwant message %q", st.Message, st.Details, wantMsg)
			}

			// A no-op update writes nothing: the resourceVersion stays.
			same, err := nsc.Update(ctx, upd.DeepCopy(), metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("no-op update: %v", err)
			}
			if same.ResourceVersion != upd.ResourceVersion {
				t.Errorf("no-op update changed resourceVersion %s -> %s", upd.ResourceVersion, same.ResourceVersion)
			}

			// Namespaces allow unconditional updates (no resourceVersion).
			uncond := upd.DeepCopy()
			uncond.ResourceVersion = ""
			uncond.Labels["u"] = "2"
			u2, err := nsc.Update(ctx, uncond, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update without resourceVersion: %v", err)
			}
			if u2.Labels["u"] != "2" || u2.ResourceVersion == upd.ResourceVersion {
				t.Errorf("unconditional update: labels %v rv %s", u2.Labels, u2.ResourceVersion)
			}

			// The main resource cannot change status or spec.finalizers (kube's
			// namespaceStrategy.PrepareForUpdate keeps the old ones).
			sneaky := u2.DeepCopy()
			sneaky.Status.Phase = corev1.NamespaceTerminating
			sneaky.Spec.Finalizers = nil
			sneaky.Labels["u"] = "3"
			u3, err := nsc.Update(ctx, sneaky, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update changing status: %v", err)
			}
			if u3.Status.Phase != corev1.NamespaceActive || !slices.Equal(u3.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) || u3.Labels["u"] != "3" {
				t.Errorf("update through the main resource: phase %q finalizers %v labels %v; want Active, [kubernetes], u=3", u3.Status.Phase, u3.Spec.Finalizers, u3.Labels)
			}

			// Update of a missing object is 404 (namespaces do not allow create on update).
			missing := newNS(uniq("update-missing"), nil)
			if _, err := nsc.Update(ctx, missing, metav1.UpdateOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("update of a missing namespace: got %v, want 404", err)
			}
			checkWire(t, f.rec.since(m), f.ct)
		})
	}
}

func TestPatch(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			name := uniq("patch")
			ns := newNS(name, nil)
			ns.Finalizers = []string{"a.example.com/x"}
			created := mustCreate(t, f, ns)
			m := f.rec.mark()
			patch := func(pt types.PatchType, body string) *corev1.Namespace {
				t.Helper()
				out, err := nsc.Patch(ctx, name, pt, []byte(body), metav1.PatchOptions{})
				if err != nil {
					t.Fatalf("%s patch %s: %v", pt, body, err)
				}
				return out
			}

			p1 := patch(types.MergePatchType, `{"metadata":{"labels":{"m":"1"}}}`)
			if p1.Labels["m"] != "1" || p1.Labels[runLabel] != runID || p1.ResourceVersion == created.ResourceVersion {
				t.Errorf("merge patch: labels %v rv %s", p1.Labels, p1.ResourceVersion)
			}
			p2 := patch(types.JSONPatchType, `[{"op":"add","path":"/metadata/annotations","value":{"j":"1"}}]`)
			if p2.Annotations["j"] != "1" || p2.Labels["m"] != "1" {
				t.Errorf("json patch add: annotations %v labels %v", p2.Annotations, p2.Labels)
			}
			p3 := patch(types.JSONPatchType, `[{"op":"test","path":"/metadata/labels/m","value":"1"},{"op":"replace","path":"/metadata/labels/m","value":"2"}]`)
			if p3.Labels["m"] != "2" {
				t.Errorf("json patch test+replace: labels %v", p3.Labels)
			}
			_, err := nsc.Patch(ctx, name, types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/labels/m","value":"nope"}]`), metav1.PatchOptions{})
			if st := statusOf(t, err); st.Code != 422 || !apierrors.IsInvalid(err) {
				t.Errorf("failed json patch test: got %d %s (%v), want 422 Invalid", st.Code, st.Reason, err)
			}

			// metadata.finalizers has patchStrategy=merge: a strategic merge patch adds
			// to the list (the patch's items first, then those only on the server, as
			// kube's strategicpatch orders them), a JSON merge patch replaces it.
			p4 := patch(types.StrategicMergePatchType, `{"metadata":{"finalizers":["b.example.com/y"],"labels":{"s":"1"}}}`)
			if !slices.Equal(p4.Finalizers, []string{"b.example.com/y", "a.example.com/x"}) || p4.Labels["s"] != "1" || p4.Labels["m"] != "2" {
				t.Errorf("strategic merge patch: finalizers %v labels %v; want [b.example.com/y a.example.com/x], s=1 m=2", p4.Finalizers, p4.Labels)
			}
			p5 := patch(types.MergePatchType, `{"metadata":{"finalizers":["c.example.com/z"]}}`)
			if !slices.Equal(p5.Finalizers, []string{"c.example.com/z"}) {
				t.Errorf("merge patch of a list: finalizers %v, want [c.example.com/z]", p5.Finalizers)
			}
			p6 := patch(types.StrategicMergePatchType, `{"metadata":{"$deleteFromPrimitiveList/finalizers":["c.example.com/z"],"labels":{"s":null}}}`)
			if len(p6.Finalizers) != 0 {
				t.Errorf("strategic $deleteFromPrimitiveList: finalizers %v, want none", p6.Finalizers)
			}
			if _, ok := p6.Labels["s"]; ok {
				t.Errorf("strategic patch with null: label s still there: %v", p6.Labels)
			}

			// A patch that changes nothing writes nothing.
			p7 := patch(types.MergePatchType, `{"metadata":{"labels":{"m":"2"}}}`)
			if p7.ResourceVersion != p6.ResourceVersion {
				t.Errorf("no-op patch changed resourceVersion %s -> %s", p6.ResourceVersion, p7.ResourceVersion)
			}

			// Patch of a missing object is 404.
			if _, err := nsc.Patch(ctx, uniq("patch-missing"), types.MergePatchType, []byte(`{}`), metav1.PatchOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("patch of a missing namespace: got %v, want 404", err)
			}
			// Patch bodies are JSON whatever the client's content type; responses follow Accept.
			for _, e := range f.rec.since(m) {
				if e.Status != 0 && !strings.HasPrefix(e.RespContentType, f.ct) {
					t.Errorf("%s %s -> %d: response Content-Type %q, want %s", e.Method, e.URL, e.Status, e.RespContentType, f.ct)
				}
			}
		})
	}
}

func TestDelete(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			name := uniq("delete")
			created := mustCreate(t, f, newNS(name, nil))
			m := f.rec.mark()

			// dryRun: nothing changes.
			if err := nsc.Delete(ctx, name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Fatalf("dry-run delete: %v", err)
			}
			if g, err := nsc.Get(ctx, name, metav1.GetOptions{}); err != nil || g.DeletionTimestamp != nil || g.ResourceVersion != created.ResourceVersion {
				t.Errorf("after a dry-run delete: %v %+v", err, g)
			}
			// A wrong uid precondition is a conflict.
			wrong := types.UID("00000000-0000-0000-0000-000000000000")
			err := nsc.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}})
			if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed: UID in precondition") {
				t.Errorf("delete with a wrong uid precondition: got %v, want 409 \"Precondition failed: UID in precondition: ...\"", err)
			}

			hold(t, name)
			before := time.Now().Add(-2 * time.Second)
			if err := nsc.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &created.UID}}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			// Content held by a finalizer keeps the namespace Terminating.
			g, err := nsc.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get after delete: %v (with spec.finalizers [kubernetes] it must still exist)", err)
			}
			if g.Status.Phase != corev1.NamespaceTerminating || g.DeletionTimestamp == nil || g.DeletionTimestamp.Time.Before(before) {
				t.Errorf("after delete: phase %q deletionTimestamp %v, want Terminating and now", g.Status.Phase, g.DeletionTimestamp)
			}
			if g.ResourceVersion == created.ResourceVersion || g.UID != created.UID {
				t.Errorf("after delete: rv %s (was %s) uid %s", g.ResourceVersion, created.ResourceVersion, g.UID)
			}
			if !slices.Equal(g.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) {
				t.Errorf("after delete: spec.finalizers %v", g.Spec.Finalizers)
			}
			// kube: deleting a namespace that is already terminating is a conflict while
			// spec.finalizers is not empty.
			err = nsc.Delete(ctx, name, metav1.DeleteOptions{})
			if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "The system is ensuring all content is removed from this namespace.") {
				t.Errorf("second delete: got %v, want 409 \"... The system is ensuring all content is removed from this namespace. ...\"", err)
			}
			// A terminating namespace cannot get new content but is still updatable.
			g2, err := nsc.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"after":"delete"}}}`), metav1.PatchOptions{})
			if err != nil || g2.Status.Phase != corev1.NamespaceTerminating || g2.DeletionTimestamp == nil {
				t.Errorf("patch of a terminating namespace: %v %+v", err, g2)
			}
			if err := nsc.Delete(ctx, uniq("delete-missing"), metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("delete of a missing namespace: got %v, want 404", err)
			}
			checkWire(t, f.rec.since(m), f.ct)
		})
	}
}

func TestErrors(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 20*time.Second)
			nsc := f.cs.CoreV1().Namespaces()
			m := f.rec.mark()

			missing := uniq("missing")
			_, err := nsc.Get(ctx, missing, metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("get of a missing namespace: got %v, want 404", err)
			}
			st := statusOf(t, err)
			if st.Status != metav1.StatusFailure || st.Code != 404 || st.Reason != metav1.StatusReasonNotFound ||
				st.Message != `namespaces "`+missing+`" not found` || st.Details == nil || st.Details.Name != missing || st.Details.Kind != "namespaces" {
				t.Errorf("not-found status: %+v details %+v", st, st.Details)
			}

			name := uniq("dup")
			mustCreate(t, f, newNS(name, nil))
			_, err = nsc.Create(ctx, newNS(name, nil), metav1.CreateOptions{})
			if !apierrors.IsAlreadyExists(err) {
				t.Fatalf("duplicate create: got %v, want 409 AlreadyExists", err)
			}
			st = statusOf(t, err)
			if st.Code != 409 || st.Message != `namespaces "`+name+`" already exists` || st.Details == nil || st.Details.Name != name || st.Details.Kind != "namespaces" {
				t.Errorf("already-exists status: %+v details %+v", st, st.Details)
			}

			bad := "Bad_Name-" + runID
			_, err = nsc.Create(ctx, newNS(bad, nil), metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create %q: got %v, want 422 Invalid", bad, err)
			}
			st = statusOf(t, err)
			wantPrefix := `Namespace "` + bad + `" is invalid: metadata.name: Invalid value: "` + bad + `": a lowercase RFC 1123 label must consist of`
			if st.Code != 422 || !strings.HasPrefix(st.Message, wantPrefix) || st.Details == nil || st.Details.Kind != "Namespace" || st.Details.Name != bad {
				t.Errorf("invalid status: %+v details %+v\nwant message prefix %q", st, st.Details, wantPrefix)
			}
			cause := false
			if st.Details != nil {
				for _, c := range st.Details.Causes {
					if c.Field == "metadata.name" && c.Type == metav1.CauseTypeFieldValueInvalid {
						cause = true
					}
				}
			}
			if !cause {
				t.Errorf("invalid status: no FieldValueInvalid cause on metadata.name: %+v", st.Details)
			}

			// Every error above came back in the client's format (protobuf Status for
			// the protobuf client) and decoded into a full Status.
			ex := f.rec.since(m)
			errs := 0
			for _, e := range ex {
				if e.Status >= 400 {
					errs++
				}
			}
			if errs != 3 {
				t.Errorf("%d error responses recorded, want 3: %+v", errs, ex)
			}
			checkWire(t, ex, f.ct)
			_ = context.Background
		})
	}
}

// The namespace controller empties a deleted namespace and removes it, as
// kube-controller-manager's does.
func TestNamespaceDeletionCompletes(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			ctx := ctxT(t, 30*time.Second)
			name := mustCreate(t, f, newNS(uniq("gone"), nil)).Name
			cms := f.cs.CoreV1().ConfigMaps(name)
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{}); err != nil {
				t.Fatalf("configmap: %v", err)
			}
			if err := f.cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, err := f.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("namespace %s still there after 20s (err %v)", name, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if l, err := cms.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
				t.Errorf("configmaps left in %s: %v %v", name, err, l)
			}
		})
	}
}
