// Package clientgo drives a running vkube through client-go: the typed clientset with
// its default content type (protobuf), a JSON-configured typed clientset, the dynamic
// client and a shared informer. The tests read KUBECONFIG from the environment;
// tests/e2e/test_clientgo.sh starts the server and runs them.
//
// Every assertion is kube-apiserver's behaviour (v1.37), not vkube's idea of it.
package clientgo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	protobufCT = "application/vnd.kubernetes.protobuf"
	jsonCT     = "application/json"
	// runLabel marks every namespace these tests create.
	runLabel = "conformance.vkube.dev/run"
)

// exchange is one HTTP request/response as the client saw it.
type exchange struct {
	Method, URL, ReqContentType, Accept string
	Status                              int
	RespContentType                     string
}

// recorder wraps a client's transport and records every exchange.
type recorder struct {
	mu  sync.Mutex
	log []exchange
}

type recordingRT struct {
	rec  *recorder
	next http.RoundTripper
}

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	e := exchange{Method: req.Method, URL: req.URL.RequestURI(), ReqContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept")}
	if resp != nil {
		e.Status = resp.StatusCode
		e.RespContentType = resp.Header.Get("Content-Type")
	}
	r.rec.mu.Lock()
	r.rec.log = append(r.rec.log, e)
	r.rec.mu.Unlock()
	return resp, err
}

// mark returns the current length of the log, for since().
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

func (r *recorder) since(m int) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log[m:]...)
}

// flavor is one way of talking to the server through the typed clientset.
type flavor struct {
	name string
	cs   kubernetes.Interface
	rec  *recorder
	ct   string // the media type requests and responses must carry
}

var (
	baseConfig *rest.Config
	runID      string
	pbFlavor   flavor
	jsonFlavor flavor
	dyn        dynamic.Interface
)

func flavors() []flavor { return []flavor{pbFlavor, jsonFlavor} }

// newConfig is a copy of the kubeconfig's rest.Config with a recorder and no client
// side rate limit (client-go's default 5 QPS would serialize the concurrency test).
func newConfig(rec *recorder) *rest.Config {
	c := rest.CopyConfig(baseConfig)
	c.QPS = -1
	c.Burst = 0
	c.UserAgent = "vkube-conformance-clientgo"
	if rec != nil {
		c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &recordingRT{rec: rec, next: rt} }
	}
	return c
}

func TestMain(m *testing.M) {
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		fmt.Fprintln(os.Stderr, "KUBECONFIG is not set; these tests need a running vkube")
		os.Exit(2)
	}
	var err error
	baseConfig, err = clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig %s: %v\n", kc, err)
		os.Exit(2)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	runID = hex.EncodeToString(b)

	pbRec := &recorder{}
	pb, err := kubernetes.NewForConfig(newConfig(pbRec)) // ContentType unset: typed clients prefer protobuf
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pbFlavor = flavor{name: "protobuf", cs: pb, rec: pbRec, ct: protobufCT}

	jsonRec := &recorder{}
	jc := newConfig(jsonRec)
	jc.ContentType = jsonCT
	js, err := kubernetes.NewForConfig(jc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	jsonFlavor = flavor{name: "json", cs: js, rec: jsonRec, ct: jsonCT}

	dyn, err = dynamic.NewForConfig(newConfig(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// uniq returns a namespace name unique to this run and test: cg-<tag>-<run>-<n>.
var uniqMu sync.Mutex
var uniqN int

func uniq(tag string) string {
	uniqMu.Lock()
	uniqN++
	n := uniqN
	uniqMu.Unlock()
	name := fmt.Sprintf("cg-%s-%s-%d", tag, runID, n)
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// statusOf returns the metav1.Status carried by an API error, failing the test when
// err is not one (client-go could not decode the server's Status).
func statusOf(t *testing.T, err error) metav1.Status {
	t.Helper()
	var se apierrors.APIStatus
	if err == nil {
		t.Fatalf("expected an API error, got nil")
	}
	if !asAPIStatus(err, &se) {
		t.Fatalf("error is not an API status (%T): %v", err, err)
	}
	return se.Status()
}

func asAPIStatus(err error, out *apierrors.APIStatus) bool {
	for e := err; e != nil; {
		if s, ok := e.(apierrors.APIStatus); ok {
			*out = s
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// checkWire asserts that every exchange in ex used media type ct for
// the request body (when there is one) and the response.
func checkWire(t *testing.T, ex []exchange, ct string) {
	t.Helper()
	if len(ex) == 0 {
		t.Errorf("no HTTP exchanges recorded")
	}
	for _, e := range ex {
		// PATCH bodies carry their patch type (JSON in every flavor); others the client's type.
		if e.ReqContentType != "" && e.Method != "PATCH" && !strings.HasPrefix(e.ReqContentType, ct) {
			t.Errorf("%s %s: request Content-Type %q, want %s", e.Method, e.URL, e.ReqContentType, ct)
		}
		if e.Status != 0 && !strings.HasPrefix(e.RespContentType, ct) {
			t.Errorf("%s %s -> %d: response Content-Type %q, want %s (Accept was %q)", e.Method, e.URL, e.Status, e.RespContentType, ct, e.Accept)
		}
	}
}

// hold keeps namespace ns Terminating once it is deleted, as content that a finalizer
// holds does in kube: a ConfigMap with a finalizer of ours. The namespace controller
// can then not finish until the test's cleanup lets the ConfigMap go.
func hold(t *testing.T, ns string) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	cms := pbFlavor.cs.CoreV1().ConfigMaps(ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cg-hold", Finalizers: []string{"vkube.dev/hold"}}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("hold %s: %v", ns, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cms.Patch(ctx, "cg-hold", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("release %s: %v", ns, err)
		}
	})
}
