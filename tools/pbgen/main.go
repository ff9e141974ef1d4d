// Command pbgen is vkube's build-time generator for the protobuf wire format.
//
//	pbgen shapes SYMBOLS OUT.c   the per-message JSON shape table (apiserver/codec/protobuf.h)
//	pbgen golden OUTDIR          golden protobuf and JSON test data made by the Go client's codecs
//
// SYMBOLS lists "full.proto.Name c_symbol" for every message descriptor protoc-c emitted.
// The shapes come from the Go types of the pinned k8s.io/api (reflection over their
// struct tags): JSON name, Go struct order, pointer or value, omitempty/omitzero,
// inline embedding, and the types whose JSON is special. Nothing upstream is copied;
// the output is a build artefact under build/gen.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The API groups vkube serves (DESIGN.md section 3: generate only what is served).
var adders = []func(*runtime.Scheme) error{
	admissionregistrationv1.AddToScheme, apidiscoveryv2.AddToScheme, appsv1.AddToScheme,
	authenticationv1.AddToScheme, authorizationv1.AddToScheme, autoscalingv1.AddToScheme,
	autoscalingv2.AddToScheme, batchv1.AddToScheme, certificatesv1.AddToScheme,
	coordinationv1.AddToScheme, corev1.AddToScheme, discoveryv1.AddToScheme,
	eventsv1.AddToScheme, flowcontrolv1.AddToScheme, networkingv1.AddToScheme,
	nodev1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme, resourcev1.AddToScheme,
	schedulingv1.AddToScheme, storagev1.AddToScheme, storagemigrationv1.AddToScheme,
	apiextv1.AddToScheme, metav1.AddMetaToScheme, metav1beta1.AddMetaToScheme,
}

// Special JSON forms; the numbers match enum vk_pb_special in apiserver/codec/protobuf.h.
var specials = map[reflect.Type]string{
	reflect.TypeOf(metav1.Time{}):                           "VK_PB_SP_TIME",
	reflect.TypeOf(metav1.MicroTime{}):                      "VK_PB_SP_MICROTIME",
	reflect.TypeOf(metav1.Duration{}):                       "VK_PB_SP_DURATION",
	reflect.TypeOf(resource.Quantity{}):                     "VK_PB_SP_QUANTITY",
	reflect.TypeOf(intstr.IntOrString{}):                    "VK_PB_SP_INTORSTR",
	reflect.TypeOf(runtime.RawExtension{}):                  "VK_PB_SP_RAWJSON",
	reflect.TypeOf(metav1.FieldsV1{}):                       "VK_PB_SP_RAWJSON",
	reflect.TypeOf(apiextv1.JSON{}):                         "VK_PB_SP_RAWJSON",
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrBool{}):        "VK_PB_SP_PROPS_OR_BOOL",
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrArray{}):       "VK_PB_SP_PROPS_OR_ARRAY",
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrStringArray{}): "VK_PB_SP_PROPS_OR_STRARRAY",
}

type field struct {
	json  string // "" for inline
	num   int
	kind  string
	flags []string
}

type shape struct {
	name    string
	fields  []field
	special string
	wrapper bool
}

var shapes = map[string]*shape{}

func protoName(t reflect.Type) string {
	p := strings.NewReplacer("/", ".", "-", "_").Replace(t.PkgPath())
	return p + "." + t.Name()
}

func protoNum(tag string) (int, bool) {
	if tag == "" || tag == "-" {
		return 0, false
	}
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	return n, err == nil
}

func visit(t reflect.Type) {
	for t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && t.Name() == "") ||
		t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return
	}
	name := protoName(t)
	if _, ok := shapes[name]; ok {
		return
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		// A named slice (metav1.Verbs, authenticationv1.ExtraValue): a message {items}.
		shapes[name] = &shape{name: name, wrapper: true}
		visit(t.Elem())
		return
	}
	if t.Kind() != reflect.Struct {
		return
	}
	s := &shape{name: name, special: specials[t]}
	shapes[name] = s
	if s.special != "" {
		if strings.HasPrefix(s.special, "VK_PB_SP_PROPS") {
			visit(reflect.TypeOf(apiextv1.JSONSchemaProps{}))
		}
		return
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		num, ok := protoNum(sf.Tag.Get("protobuf"))
		if !ok {
			if !sf.Anonymous && sf.Tag.Get("json") != "-" && sf.IsExported() {
				fmt.Fprintf(os.Stderr, "pbgen: %s.%s has no protobuf tag; not on the wire\n",
					name, sf.Name)
			}
			continue
		}
		jt := strings.Split(sf.Tag.Get("json"), ",")
		f := field{json: jt[0], num: num}
		inline := false
		for _, o := range jt[1:] {
			switch o {
			case "omitempty":
				f.flags = append(f.flags, "VK_PB_F_OMITEMPTY")
			case "omitzero":
				f.flags = append(f.flags, "VK_PB_F_OMITZERO")
			case "inline":
				inline = true
			}
		}
		if sf.Anonymous && f.json == "" {
			inline = true
		}
		if inline {
			f.json = ""
			f.flags = append(f.flags, "VK_PB_F_INLINE")
		}
		if f.json == "-" {
			f.json = ""
			f.flags = append(f.flags, "VK_PB_F_NOJSON")
		} else if f.json == "" && !inline {
			f.json = sf.Name
		}
		ft := sf.Type
		switch {
		case ft.Kind() == reflect.Pointer:
			f.kind = "VK_PB_K_PTR"
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8:
			f.kind = "VK_PB_K_BYTES"
		case ft.Kind() == reflect.Slice && strings.Contains(sf.Tag.Get("protobuf"), ",rep,"):
			f.kind = "VK_PB_K_SLICE"
		case ft.Kind() == reflect.Slice:
			f.kind = "VK_PB_K_WRAP"
		case ft.Kind() == reflect.Map:
			f.kind = "VK_PB_K_MAP"
			if ft.Elem().Kind() == reflect.Pointer {
				fmt.Fprintf(os.Stderr, "pbgen: %s.%s: map of pointers\n", name, sf.Name)
			}
		default:
			f.kind = "VK_PB_K_VAL"
		}
		s.fields = append(s.fields, f)
		visit(ft)
	}
}

func readSymbols(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 2 {
			m[w[0]] = w[1]
		}
	}
	return m, sc.Err()
}

func genShapes(symPath, out string) error {
	sch := runtime.NewScheme()
	for _, add := range adders {
		if err := add(sch); err != nil {
			return err
		}
	}
	for _, t := range sch.AllKnownTypes() {
		visit(t)
	}
	for t := range specials { // some (Duration) no served kind uses
		visit(t)
	}
	syms, err := readSymbols(symPath)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	sort.Strings(names) // byte order, as strcmp
	var b bytes.Buffer
	fmt.Fprintf(&b, "/* Generated by tools/pbgen from the pinned k8s.io modules. Do not edit. */\n")
	fmt.Fprintf(&b, "#include \"apiserver/codec/protobuf.h\"\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "extern const ProtobufCMessageDescriptor %s;\n", syms[n])
	}
	missing := 0
	for i, n := range names {
		s := shapes[n]
		if s == nil || len(s.fields) == 0 {
			continue
		}
		fmt.Fprintf(&b, "static const vk_pb_field F%d[] = {\n", i)
		for _, f := range s.fields {
			flags := "0"
			if len(f.flags) > 0 {
				flags = strings.Join(f.flags, " | ")
			}
			js := "NULL"
			if f.json != "" {
				js = strconv.Quote(f.json)
			}
			fmt.Fprintf(&b, "    {%s, %d, %s, %s},\n", js, f.num, f.kind, flags)
		}
		fmt.Fprintf(&b, "};\n")
		idx := make([]int, len(s.fields))
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(x, y int) bool { return s.fields[idx[x]].num < s.fields[idx[y]].num })
		fmt.Fprintf(&b, "static const uint8_t O%d[] = {", i)
		for _, j := range idx {
			fmt.Fprintf(&b, "%d,", j)
		}
		fmt.Fprintf(&b, "};\n")
		if len(s.fields) > 255 {
			return fmt.Errorf("%s: too many fields", n)
		}
	}
	fmt.Fprintf(&b, "\nconst vk_pb_type vk_pb_types[] = {\n")
	for i, n := range names {
		s := shapes[n]
		fields, order, nf, sp, fl := "NULL", "NULL", 0, "VK_PB_SP_NONE", "0"
		if s != nil {
			if len(s.fields) > 0 {
				fields, order, nf = fmt.Sprintf("F%d", i), fmt.Sprintf("O%d", i), len(s.fields)
			}
			if s.special != "" {
				sp = s.special
			}
			if s.wrapper {
				fl = "VK_PB_T_WRAPPER"
			}
		} else if !strings.HasSuffix(n, "Entry") {
			missing++
		}
		fmt.Fprintf(&b, "    {%q, &%s, %s, %s, %d, %s, %s},\n", n, syms[n], fields, order, nf, sp, fl)
	}
	fmt.Fprintf(&b, "};\nconst size_t vk_pb_ntypes = %d;\n", len(names))
	for n := range shapes {
		if _, ok := syms[n]; !ok {
			fmt.Fprintf(os.Stderr, "pbgen: Go type %s has no compiled descriptor\n", n)
		}
	}
	fmt.Fprintf(os.Stderr, "pbgen: %d descriptors, %d Go shapes, %d messages without a Go type\n",
		len(names), len(shapes), missing)
	return os.WriteFile(out, b.Bytes(), 0o644)
}

// Golden objects: JSON as a client would send it. The Go codecs turn each into the
// protobuf body (envelope included) and into the JSON kube would serve for it.
type golden struct {
	name string
	gvk  schema.GroupVersionKind
	json string
}

func gvk(g, v, k string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: g, Version: v, Kind: k}
}

func genGolden(dir string) error {
	sch := runtime.NewScheme()
	for _, add := range adders {
		if err := add(sch); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ser := protobuf.NewSerializer(sch, sch)
	var index bytes.Buffer
	for _, g := range goldens {
		obj, err := sch.New(g.gvk)
		if err != nil {
			return fmt.Errorf("%s: %v", g.name, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(g.json)); err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return fmt.Errorf("%s: %v", g.name, err)
		}
		obj.GetObjectKind().SetGroupVersionKind(g.gvk)
		var pb bytes.Buffer
		if err := ser.Encode(obj, &pb); err != nil {
			return fmt.Errorf("%s: %v", g.name, err)
		}
		gv := g.gvk
		back, _, err := ser.Decode(pb.Bytes(), &gv, nil)
		if err != nil {
			return fmt.Errorf("%s: decode: %v", g.name, err)
		}
		js, err := json.Marshal(back)
		if err != nil {
			return err
		}
		files := map[string][]byte{".in.json": compact.Bytes(), ".pb": pb.Bytes(), ".json": js}
		for ext, data := range files {
			if err := os.WriteFile(filepath.Join(dir, g.name+ext), data, 0o644); err != nil {
				return err
			}
		}
		grp := g.gvk.Group
		if grp == "" {
			grp = "-"
		}
		fmt.Fprintf(&index, "%s %s %s %s\n", g.name, grp, g.gvk.Version, g.gvk.Kind)
	}
	return os.WriteFile(filepath.Join(dir, "index.txt"), index.Bytes(), 0o644)
}

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "shapes":
		err = genShapes(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "golden":
		err = genGolden(os.Args[2])
	default:
		err = fmt.Errorf("usage: pbgen shapes SYMBOLS OUT.c | pbgen golden OUTDIR")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pbgen:", err)
		os.Exit(1)
	}
}
