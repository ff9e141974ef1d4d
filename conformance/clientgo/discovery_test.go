package clientgo

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiscoveryServerVersion(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			v, err := f.cs.Discovery().ServerVersion()
			if err != nil {
				t.Fatalf("ServerVersion: %v", err)
			}
			if !strings.HasPrefix(v.GitVersion, "v1.37.") {
				t.Errorf("gitVersion %q, want v1.37.x", v.GitVersion)
			}
			if v.Major != "1" || v.Minor != "37" {
				t.Errorf("major/minor %q/%q, want 1/37", v.Major, v.Minor)
			}
			// kube also fills goVersion and compiler, which a C server cannot honestly;
			// clients (kubectl version, discovery) use gitVersion, major, minor, platform.
			if v.Platform == "" {
				t.Errorf("platform is empty")
			}
		})
	}
}

func TestDiscoveryGroupsAndResources(t *testing.T) {
	for _, f := range flavors() {
		t.Run(f.name, func(t *testing.T) {
			groups, lists, err := f.cs.Discovery().ServerGroupsAndResources()
			if err != nil {
				t.Fatalf("ServerGroupsAndResources: %v", err)
			}
			core := false
			for _, g := range groups {
				if g.Name == "" {
					core = slices.ContainsFunc(g.Versions, func(v metav1.GroupVersionForDiscovery) bool { return v.Version == "v1" })
				}
			}
			if !core {
				t.Errorf("legacy group \"\" with version v1 not in %v", groups)
			}
			found := false
			for _, l := range lists {
				if l.GroupVersion != "v1" {
					continue
				}
				for _, r := range l.APIResources {
					if r.Name != "namespaces" {
						continue
					}
					found = true
					if r.Kind != "Namespace" || r.Namespaced || r.SingularName != "namespace" {
						t.Errorf("namespaces: kind %q namespaced %v singular %q", r.Kind, r.Namespaced, r.SingularName)
					}
					if !slices.Contains(r.ShortNames, "ns") {
						t.Errorf("namespaces: shortNames %v, want ns", r.ShortNames)
					}
					for _, v := range []string{"create", "delete", "get", "list", "patch", "update", "watch"} {
						if !slices.Contains(r.Verbs, v) {
							t.Errorf("namespaces: verbs %v lack %s", r.Verbs, v)
						}
					}
					// client-go reads aggregated discovery (apidiscovery.k8s.io/v2), which
					// carries no storageVersionHash; the legacy document does (below).
					if r.StorageVersionHash != "" {
						t.Errorf("namespaces: storageVersionHash %q from aggregated discovery", r.StorageVersionHash)
					}
				}
			}
			if !found {
				t.Errorf("namespaces not found in v1 resources")
			}
			var legacy metav1.APIResourceList
			raw, err := f.cs.Discovery().RESTClient().Get().AbsPath("/api/v1").SetHeader("Accept", "application/json").DoRaw(context.Background())
			if err != nil || json.Unmarshal(raw, &legacy) != nil {
				t.Fatalf("legacy /api/v1: %v", err)
			}
			for _, r := range legacy.APIResources {
				if r.Name == "namespaces" && r.StorageVersionHash != "Q3oi5N2YM8M=" {
					t.Errorf("legacy namespaces storageVersionHash %q, want kube's Q3oi5N2YM8M=", r.StorageVersionHash)
				}
			}
		})
	}
}
