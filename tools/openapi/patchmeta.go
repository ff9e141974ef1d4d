package main

// The "patchmeta" mode: what strategic merge patch needs to know of every served kind.
//
//	openapi patchmeta <openapi-spec dir> <out.c> <served group-version>...
//
// The input is api/openapi-spec/swagger.json of the pinned k8s.io/kubernetes module. The
// output is the table apiserver/codec/patchmeta.h declares: for each definition reachable
// from a served kind (x-kubernetes-group-version-kind), the properties whose value is an
// object, a map or a list, with their x-kubernetes-patch-strategy and
// x-kubernetes-patch-merge-key; and the kinds with their root definitions. Properties
// holding a primitive (a string, a number, or a definition of a primitive type such as
// Quantity or Time) are left out: a patch never merges into them.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type pmSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 string               `json:"type"`
	Format               string               `json:"format"`
	Items                *pmSchema            `json:"items"`
	AdditionalProperties *pmSchema            `json:"additionalProperties"`
	Properties           map[string]*pmSchema `json:"properties"`
	AllOf                []*pmSchema          `json:"allOf"`
	Strategy             string               `json:"x-kubernetes-patch-strategy"`
	MergeKey             string               `json:"x-kubernetes-patch-merge-key"`
	GVK                  []struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
	} `json:"x-kubernetes-group-version-kind"`
}

type pmGen struct {
	defs  map[string]*pmSchema
	index map[string]int // definition name -> table index
	order []string
}

func refName(ref string) string { return strings.TrimPrefix(ref, "#/definitions/") }

// deref follows a single allOf wrapper, as kube's generators write a $ref with siblings.
func deref(s *pmSchema) *pmSchema {
	if s != nil && s.Ref == "" && len(s.AllOf) == 1 {
		return s.AllOf[0]
	}
	return s
}

// isObject says whether a definition is a Go struct that JSON encodes as an object (not
// Quantity, Time, IntOrString and the like, which are strings).
func (g *pmGen) isObject(name string) bool {
	d := g.defs[name]
	if d == nil {
		die("patchmeta: no definition %s", name)
	}
	return d.Type == "" || d.Type == "object"
}

func (g *pmGen) add(name string) int {
	if i, ok := g.index[name]; ok {
		return i
	}
	i := len(g.order)
	g.index[name] = i
	g.order = append(g.order, name)
	d := g.defs[name]
	for _, p := range sortedKeys(d.Properties) {
		g.visit(deref(d.Properties[p]))
	}
	return i
}

func (g *pmGen) visit(s *pmSchema) {
	if s == nil {
		return
	}
	if s.Ref != "" {
		if n := refName(s.Ref); g.isObject(n) {
			g.add(n)
		}
		return
	}
	g.visit(deref(s.Items))
	g.visit(deref(s.AdditionalProperties))
}

func sortedKeys(m map[string]*pmSchema) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// goKind names a list element's Go kind (reflect.Kind), as kube's errors print it.
func (g *pmGen) goKind(s *pmSchema) (string, int) {
	switch {
	case s == nil:
		return "interface", -1
	case s.Ref != "":
		n := refName(s.Ref)
		if g.isObject(n) {
			return "struct", g.index[n]
		}
		return "struct", -1 // Quantity, Time, IntOrString: structs that encode as strings
	case s.Type == "array":
		return "slice", -1
	case s.Type == "object":
		return "map", -1
	case s.Type == "integer" && s.Format == "int32":
		return "int32", -1
	case s.Type == "integer":
		return "int64", -1
	case s.Type == "number":
		return "float64", -1
	case s.Type == "boolean":
		return "bool", -1
	case s.Type == "string" && s.Format == "byte":
		return "slice", -1
	}
	return "string", -1
}

func cstrOrNull(s string) string {
	if s == "" {
		return "NULL"
	}
	return cstr(s)
}

func patchmetaMain(specDir, outPath string, gvs []string) {
	served := map[string]bool{}
	for _, gv := range gvs {
		p := strings.Split(gv, "/")
		switch {
		case len(p) == 2 && p[0] == "api":
			served["/"+p[1]] = true
		case len(p) == 3 && p[0] == "apis":
			served[p[1]+"/"+p[2]] = true
		default:
			die("patchmeta: bad group-version %s", gv)
		}
	}
	var spec struct {
		Definitions map[string]*pmSchema `json:"definitions"`
	}
	readJSON(filepath.Join(specDir, "swagger.json"), &spec)
	g := &pmGen{defs: spec.Definitions, index: map[string]int{}}

	type kindRoot struct{ group, version, kind, def string }
	var kinds []kindRoot
	for _, name := range sortedKeys(spec.Definitions) {
		for _, k := range spec.Definitions[name].GVK {
			// Objects (with ObjectMeta), not lists, options or events.
			m := spec.Definitions[name].Properties["metadata"]
			if served[k.Group+"/"+k.Version] && m != nil && strings.HasSuffix(deref(m).Ref, ".ObjectMeta") {
				kinds = append(kinds, kindRoot{k.Group, k.Version, k.Kind, name})
			}
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		a, b := kinds[i], kinds[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if a.version != b.version {
			return a.version < b.version
		}
		return a.kind < b.kind
	})
	for _, k := range kinds {
		g.add(k.def)
	}

	var w bytes.Buffer
	w.WriteString("/* Generated by tools/openapi from k8s.io/kubernetes api/openapi-spec/swagger.json.\n" +
		" * Do not edit. */\n#include <stddef.h>\n\n#include \"apiserver/codec/patchmeta.h\"\n\n")
	nfields := 0
	for i, name := range g.order {
		d := g.defs[name]
		var rows []string
		for _, p := range sortedKeys(d.Properties) {
			ps := d.Properties[p]
			s := deref(ps)
			strategy, key := ps.Strategy, ps.MergeKey
			var row string
			switch {
			case s.Ref != "":
				n := refName(s.Ref)
				if !g.isObject(n) {
					continue
				}
				row = fmt.Sprintf("{%s, VK_PM_STRUCT, %d, %s, %s, NULL}", cstr(p), g.index[n],
					cstrOrNull(strategy), cstrOrNull(key))
			case s.Type == "array":
				kind, def := g.goKind(deref(s.Items))
				row = fmt.Sprintf("{%s, VK_PM_SLICE, %d, %s, %s, %s}", cstr(p), def,
					cstrOrNull(strategy), cstrOrNull(key), cstr(kind))
			case s.Type == "object" && s.AdditionalProperties != nil:
				row = fmt.Sprintf("{%s, VK_PM_MAP, -1, %s, %s, NULL}", cstr(p),
					cstrOrNull(strategy), cstrOrNull(key))
			case s.Type == "object":
				// An object property without a definition: a map of anything.
				row = fmt.Sprintf("{%s, VK_PM_MAP, -1, %s, %s, NULL}", cstr(p),
					cstrOrNull(strategy), cstrOrNull(key))
			default:
				continue
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&w, "static const vk_pm_field f%d[] = {\n", i)
		for _, r := range rows {
			fmt.Fprintf(&w, "    %s,\n", r)
		}
		w.WriteString("};\n")
		nfields += len(rows)
	}
	w.WriteString("\nconst vk_pm_def vk_pm_defs[] = {\n")
	for i, name := range g.order {
		d := g.defs[name]
		goName := name[strings.LastIndex(name, ".")+1:]
		n, fields := 0, "NULL"
		for _, p := range sortedKeys(d.Properties) {
			s := deref(d.Properties[p])
			if (s.Ref != "" && g.isObject(refName(s.Ref))) || s.Type == "array" || s.Type == "object" {
				n++
			}
		}
		if n > 0 {
			fields = fmt.Sprintf("f%d", i)
		}
		fmt.Fprintf(&w, "    {%s, %s, %d, %v},\n", cstr(goName), fields, n, len(d.Properties) == 0)
	}
	w.WriteString("};\nconst size_t vk_pm_ndefs = sizeof vk_pm_defs / sizeof vk_pm_defs[0];\n\n")
	w.WriteString("const vk_pm_kind vk_pm_kinds[] = {\n")
	for _, k := range kinds {
		fmt.Fprintf(&w, "    {%s, %s, %s, %d},\n", cstr(k.group), cstr(k.version), cstr(k.kind),
			g.index[k.def])
	}
	w.WriteString("    {NULL, NULL, NULL, -1},\n};\n")
	if err := os.WriteFile(outPath, w.Bytes(), 0o644); err != nil {
		die("%v", err)
	}
	fmt.Fprintf(os.Stderr, "openapi: patch metadata of %d kinds, %d definitions, %d fields\n",
		len(kinds), len(g.order), nfields)
}
