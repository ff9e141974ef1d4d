// Command openapi is vkube's build-time generator for the OpenAPI documents the server
// serves at /openapi/v2 and /openapi/v3 (see tools/openapi.mk).
//
//	openapi <openapi-spec dir> <out.c> <served group-version>...
//	openapi resources <discovery dir> <out.c> <served group-version>...   (resources.go)
//	openapi patchmeta <openapi-spec dir> <out.c> <served group-version>...  (patchmeta.go)
//
// The input is api/openapi-spec of the pinned k8s.io/kubernetes module: swagger.json
// (v2) and v3/*_openapi.json (one document per path prefix). Group-versions are given in
// URL form: api/v1, apis/apps/v1. The tool keeps the v3 documents of the served
// group-versions, their groups (apis/<group>) and api, apis and version; it prunes the v2
// document to the same paths and the definitions and parameters they reach. Each
// document is re-encoded the way kube-apiserver encodes it (kube-openapi's spec types and
// encoding/json), so its hash, the uppercase hex SHA-512 of the JSON, is what a
// kube-apiserver serving the same set would report. The v2 document is also converted to
// its gnostic protobuf form, as kube-openapi's handler does. Everything is gzip-compressed
// and written as one C file of byte arrays and a table (apiserver/openapi.h).
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

type blob struct {
	raw []byte
	gz  []byte
}

type doc struct {
	key  string // "api/v1"; "" for the v3 root
	hash string // uppercase hex SHA-512 of the JSON
	json blob
	pb   *blob
}

var v3Proto = os.Getenv("OPENAPI_V3_PROTO") == "1"

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "openapi: "+format+"\n", a...)
	os.Exit(1)
}

func hashOf(b []byte) string { return fmt.Sprintf("%X", sha512.Sum512(b)) }

func compress(b []byte) blob {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		die("%v", err)
	}
	if _, err := w.Write(b); err != nil {
		die("%v", err)
	}
	if err := w.Close(); err != nil {
		die("%v", err)
	}
	return blob{raw: b, gz: out.Bytes()}
}

// sameJSON reports whether a and b decode to the same value: the re-encoding through
// kube-openapi's types must not lose anything.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// v3Key maps a file name such as apis__apps__v1_openapi.json to apis/apps/v1.
func v3Key(name string) (string, bool) {
	if !strings.HasSuffix(name, "_openapi.json") {
		return "", false
	}
	return strings.ReplaceAll(strings.TrimSuffix(name, "_openapi.json"), "__", "/"), true
}

func loadV3(dir string, keep map[string]bool) []doc {
	ents, err := os.ReadDir(filepath.Join(dir, "v3"))
	if err != nil {
		die("%v", err)
	}
	var docs []doc
	for _, e := range ents {
		key, ok := v3Key(e.Name())
		if !ok || !keep[key] {
			continue
		}
		in, err := os.ReadFile(filepath.Join(dir, "v3", e.Name()))
		if err != nil {
			die("%v", err)
		}
		var s spec3.OpenAPI
		if err := json.Unmarshal(in, &s); err != nil {
			die("%s: %v", e.Name(), err)
		}
		out, err := json.Marshal(&s)
		if err != nil {
			die("%s: %v", e.Name(), err)
		}
		if !sameJSON(in, out) {
			die("%s: re-encoding through spec3.OpenAPI changed the document", e.Name())
		}
		d := doc{key: key, hash: hashOf(out), json: compress(out)}
		if v3Proto {
			pd, err := openapi_v3.ParseDocument(out)
			if err != nil {
				die("%s: gnostic: %v", e.Name(), err)
			}
			pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(pd)
			if err != nil {
				die("%s: %v", e.Name(), err)
			}
			b := compress(pb)
			d.pb = &b
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].key < docs[j].key })
	for k := range keep {
		i := sort.Search(len(docs), func(i int) bool { return docs[i].key >= k })
		if i == len(docs) || docs[i].key != k {
			die("no v3 document for %s in %s", k, dir)
		}
	}
	return docs
}

// v3Root is GET /openapi/v3 as kube-openapi's handler3 writes it.
func v3Root(docs []doc) doc {
	type gv struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}
	paths := map[string]gv{}
	for _, d := range docs {
		u := url.URL{Path: path.Join("/openapi/v3", d.key), RawQuery: url.Values{"hash": {d.hash}}.Encode()}
		paths[d.key] = gv{u.String()}
	}
	out, err := json.Marshal(struct {
		Paths map[string]gv `json:"paths"`
	}{paths})
	if err != nil {
		die("%v", err)
	}
	return doc{hash: hashOf(out), json: compress(out)}
}

// refs adds every "$ref" target under v to out.
func refs(v any, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "$ref" {
				out[s] = true
			} else {
				refs(x, out)
			}
		}
	case []any:
		for _, x := range t {
			refs(x, out)
		}
	}
}

// servedV2Path: the v2 paths of the served prefixes: /api/, /apis/, /version/, each
// served group's /apis/<g>/ and everything under a served group-version.
func servedV2Path(p string, keep map[string]bool) bool {
	trim := strings.Trim(p, "/")
	if keep[trim] {
		return true
	}
	parts := strings.Split(trim, "/")
	switch {
	case parts[0] == "api" && len(parts) >= 2:
		return keep["api/"+parts[1]]
	case parts[0] == "apis" && len(parts) >= 3:
		return keep["apis/"+parts[1]+"/"+parts[2]]
	}
	return false
}

func loadV2(dir string, keep map[string]bool) doc {
	in, err := os.ReadFile(filepath.Join(dir, "swagger.json"))
	if err != nil {
		die("%v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(in, &m); err != nil {
		die("swagger.json: %v", err)
	}
	paths, _ := m["paths"].(map[string]any)
	defs, _ := m["definitions"].(map[string]any)
	params, _ := m["parameters"].(map[string]any)
	for p := range paths {
		if !servedV2Path(p, keep) {
			delete(paths, p)
		}
	}
	// The definitions and shared parameters the kept paths reach, transitively.
	reached := map[string]bool{}
	refs(paths, reached)
	for done := map[string]bool{}; ; {
		grew := false
		for r := range reached {
			if done[r] {
				continue
			}
			done[r], grew = true, true
			var target any
			if n, ok := strings.CutPrefix(r, "#/definitions/"); ok {
				target = defs[n]
			} else if n, ok := strings.CutPrefix(r, "#/parameters/"); ok {
				target = params[n]
			} else {
				die("swagger.json: unexpected $ref %q", r)
			}
			if target == nil {
				die("swagger.json: dangling $ref %q", r)
			}
			refs(target, reached)
		}
		if !grew {
			break
		}
	}
	for n := range defs {
		if !reached["#/definitions/"+n] {
			delete(defs, n)
		}
	}
	for n := range params {
		if !reached["#/parameters/"+n] {
			delete(params, n)
		}
	}
	pruned, err := json.Marshal(m)
	if err != nil {
		die("%v", err)
	}
	var s spec.Swagger
	if err := json.Unmarshal(pruned, &s); err != nil {
		die("swagger.json: %v", err)
	}
	out, err := s.MarshalJSON()
	if err != nil {
		die("%v", err)
	}
	if !sameJSON(pruned, out) {
		die("swagger.json: re-encoding through spec.Swagger changed the document")
	}
	pd, err := openapi_v2.ParseDocument(out)
	if err != nil {
		die("swagger.json: gnostic: %v", err)
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(pd)
	if err != nil {
		die("%v", err)
	}
	b := compress(pb)
	fmt.Fprintf(os.Stderr, "openapi: v2: %d of %d paths, %d definitions\n", len(paths),
		countKeys(in, "paths"), len(defs))
	return doc{hash: hashOf(out), json: compress(out), pb: &b}
}

func countKeys(in []byte, field string) int {
	var m map[string]map[string]json.RawMessage
	json.Unmarshal(in, &m)
	return len(m[field])
}

// C output: each blob as a string literal of octal escapes (compilers take these far
// faster than brace lists), sized without the terminating NUL.
func writeBlob(w *bytes.Buffer, name string, b []byte) {
	fmt.Fprintf(w, "static const unsigned char %s[%d] =\n\"", name, len(b))
	for i, c := range b {
		if i > 0 && i%32 == 0 {
			w.WriteString("\"\n\"")
		}
		fmt.Fprintf(w, "\\%03o", c)
	}
	w.WriteString("\";\n")
}

func blobInit(name string, b *blob) string {
	if b == nil {
		return "{NULL, 0, 0}"
	}
	return fmt.Sprintf("{%s, sizeof %s, %d}", name, name, len(b.raw))
}

func docInit(w *bytes.Buffer, prefix string, d doc) string {
	writeBlob(w, prefix+"_json", d.json.gz)
	pb := "NULL"
	if d.pb != nil {
		writeBlob(w, prefix+"_pb", d.pb.gz)
		pb = prefix + "_pb"
	}
	return fmt.Sprintf("{%q, \"%s\", %s, %s}", d.key, d.hash, blobInit(prefix+"_json", &d.json),
		blobInit(pb, d.pb))
}

func main() {
	if len(os.Args) >= 4 && os.Args[1] == "resources" {
		resourcesMain(os.Args[2], os.Args[3], os.Args[4:])
		return
	}
	if len(os.Args) >= 4 && os.Args[1] == "patchmeta" {
		patchmetaMain(os.Args[2], os.Args[3], os.Args[4:])
		return
	}
	if len(os.Args) < 4 {
		die("usage: openapi <openapi-spec dir> <out.c> <group-version>...")
	}
	dir, outPath, gvs := os.Args[1], os.Args[2], os.Args[3:]
	keep := map[string]bool{"api": true, "apis": true, "version": true}
	for _, gv := range gvs {
		p := strings.Split(gv, "/")
		switch {
		case len(p) == 2 && p[0] == "api":
		case len(p) == 3 && p[0] == "apis":
			keep["apis/"+p[1]] = true
		default:
			die("bad group-version %q (want api/v1 or apis/<group>/<version>)", gv)
		}
		keep[gv] = true
	}
	v3 := loadV3(dir, keep)
	root := v3Root(v3)
	v2 := loadV2(dir, keep)

	var w bytes.Buffer
	w.WriteString("/* Generated by tools/openapi from k8s.io/kubernetes api/openapi-spec. Do not edit. */\n")
	w.WriteString("#include <stddef.h>\n\n#include \"apiserver/openapi.h\"\n\n")
	var inits []string
	for i, d := range v3 {
		inits = append(inits, docInit(&w, fmt.Sprintf("v3_%d", i), d))
	}
	rootInit := docInit(&w, "v3_root", root)
	v2Init := docInit(&w, "v2", v2)
	w.WriteString("\nstatic const vk_openapi_doc v3_docs[] = {\n")
	for _, s := range inits {
		fmt.Fprintf(&w, "    %s,\n", s)
	}
	w.WriteString("};\n\n")
	fmt.Fprintf(&w, "const vk_openapi_set vk_openapi_generated = {\n    v3_docs, %d,\n    %s,\n    %s,\n};\n",
		len(v3), rootInit, v2Init)
	if err := os.WriteFile(outPath, w.Bytes(), 0o644); err != nil {
		die("%v", err)
	}

	var raw, gz int
	for _, d := range append(append(v3, root), v2) {
		raw += len(d.json.raw)
		gz += len(d.json.gz)
		if d.pb != nil {
			raw += len(d.pb.raw)
			gz += len(d.pb.gz)
		}
	}
	fmt.Fprintf(os.Stderr, "openapi: %d v3 documents, v2 JSON %d bytes, v2 protobuf %d bytes; %d bytes, %d gzipped\n",
		len(v3), len(v2.json.raw), len(v2.pb.raw), raw, gz)
}
