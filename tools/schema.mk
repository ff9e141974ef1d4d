# Schema generation (DESIGN.md section 3), included by the Makefile.
#
# 1. Go's module tools fetch the pinned k8s.io modules (the pin is tools/pbgen/go.mod,
#    kept at KUBE_VERSION's v0.<minor>.<patch>); their generated.proto files are copied
#    into one include root, build/schema/proto/<module path>/..., the layout their
#    imports expect. With the module cache warm this needs no network.
# 2. protoc-c compiles the served groups' protos into build/gen/proto.
# 3. tools/pbgen (Go, reflection over the same modules) writes build/gen/pb_types.c:
#    one entry per message descriptor, sorted by name, with the Go JSON shape of each
#    field. It also writes golden test data (build/gen/testdata) with the Go codecs.
# 4. The generated C is one archive, build/gen/libvk_gen.a, shared by the release and
#    the sanitized builds (it is descriptors and tables: no sanitizer needed).
#
# Provides: GEN_LIB (link it after the module archives), GEN_TESTDATA (a test's
# order-only prerequisite), targets `schema` and `schema-clean`.
# Expects from the Makefile: CC, PKG_CFLAGS, DEFS.

GEN        := build/gen
SCHEMA     := build/schema
PBGEN_DIR  := tools/pbgen
PBGEN      := build/tools/pbgen
GEN_LIB    := $(GEN)/libvk_gen.a
GEN_TESTDATA := $(GEN)/testdata/index.txt
# Modules whose generated.proto files are fetched.
SCHEMA_MODULES := k8s.io/api k8s.io/apimachinery k8s.io/apiextensions-apiserver
SCHEMA_GO  := cd $(PBGEN_DIR) && GOFLAGS="-mod=readonly -buildvcs=false" go

# The served API groups' protos (and what they import). Compiling all 67 upstream
# protos takes about four times as long and links 1.9 MB instead of 0.6 MB.
PROTO_FILES := \
  $(patsubst %,k8s.io/apimachinery/pkg/%/generated.proto,api/resource apis/meta/v1 \
      apis/meta/v1beta1 runtime runtime/schema util/intstr) \
  $(patsubst %,k8s.io/api/%/generated.proto,admissionregistration/v1 apidiscovery/v2 \
      apps/v1 authentication/v1 authorization/v1 autoscaling/v1 autoscaling/v2 batch/v1 \
      certificates/v1 coordination/v1 core/v1 discovery/v1 events/v1 flowcontrol/v1 \
      networking/v1 node/v1 policy/v1 rbac/v1 resource/v1 scheduling/v1 \
      scheduling/v1alpha3 storage/v1 storagemigration/v1) \
  k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/generated.proto
# (scheduling/v1alpha3 is not served; batch/v1 imports it.)

GEN_PB_C  := $(PROTO_FILES:%.proto=$(GEN)/proto/%.pb-c.c)
GEN_PB_H  := $(PROTO_FILES:%.proto=$(GEN)/proto/%.pb-c.h)
GEN_SRC   := $(GEN_PB_C) $(GEN)/pb_types.c
GEN_OBJ   := $(GEN_SRC:$(GEN)/%.c=$(GEN)/obj/%.o)
# Generated C is clean under the project's warnings; -Os as DESIGN suggests.
GEN_CFLAGS = -std=c11 -Os -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
             -Wno-unused-parameter $(DEFS) -I. -I$(GEN)/proto $(PKG_CFLAGS) -MMD -MP

.PHONY: schema schema-clean
schema: $(GEN_LIB) $(GEN_TESTDATA)

# 1. Fetch: go list downloads (or finds in the module cache) each pinned module.
$(SCHEMA)/fetch.stamp: $(PBGEN_DIR)/go.mod $(PBGEN_DIR)/go.sum
	@rm -rf $(SCHEMA)/proto && mkdir -p $(SCHEMA)/proto
	@$(SCHEMA_GO) list -m -f '{{.Path}} {{.Dir}}' $(SCHEMA_MODULES) > $(CURDIR)/$(SCHEMA)/modules.txt
	@while read mod dir; do \
	    test -d "$$dir" || { echo "schema: $$mod not downloaded" >&2; exit 1; }; \
	    (cd "$$dir" && find . -name generated.proto) | while read f; do \
	        mkdir -p "$(SCHEMA)/proto/$$mod/$$(dirname $$f)" && \
	        cp "$$dir/$$f" "$(SCHEMA)/proto/$$mod/$$f" && \
	        chmod u+w "$(SCHEMA)/proto/$$mod/$$f" || exit 1; \
	    done; \
	done < $(SCHEMA)/modules.txt
	@echo "schema: $$(find $(SCHEMA)/proto -name '*.proto' | wc -l) protos from $$(cut -d' ' -f1 $(SCHEMA)/modules.txt | tr '\n' ' ')"
	@touch $@

# 2. protoc-c: one run writes every .pb-c.[ch]; its "import is unused" chatter is dropped.
$(GEN)/proto.stamp: $(SCHEMA)/fetch.stamp tools/schema.mk
	@rm -rf $(GEN)/proto && mkdir -p $(GEN)/proto
	@cd $(SCHEMA)/proto && protoc-c --c_out=$(CURDIR)/$(GEN)/proto $(PROTO_FILES) \
	    2>$(CURDIR)/$(GEN)/protoc.log || { cat $(CURDIR)/$(GEN)/protoc.log; exit 1; }
	@grep -v 'is unused' $(GEN)/protoc.log >&2 || true
	@touch $@
$(GEN_PB_C) $(GEN_PB_H): $(GEN)/proto.stamp ;

# 3. pbgen: the type table and golden test data.
$(PBGEN): $(wildcard $(PBGEN_DIR)/*.go) $(PBGEN_DIR)/go.mod $(PBGEN_DIR)/go.sum
	@mkdir -p $(@D)
	$(SCHEMA_GO) build -o $(CURDIR)/$@ .

$(GEN)/pb_symbols.txt: $(GEN)/proto.stamp tools/pbsyms.sh
	@tools/pbsyms.sh $(GEN_PB_C) > $@

$(GEN)/pb_types.c: $(GEN)/pb_symbols.txt $(PBGEN)
	$(PBGEN) shapes $< $@ 2>$(GEN)/pbgen.log || { cat $(GEN)/pbgen.log; exit 1; }

$(GEN_TESTDATA): $(PBGEN)
	@rm -rf $(@D)
	$(PBGEN) golden $(@D)

# 4. One archive for both builds.
$(GEN)/obj/%.o: $(GEN)/%.c | $(GEN)/proto.stamp
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(CC) $(GEN_CFLAGS) -c -o $@ $<
$(GEN)/obj/pb_types.o: apiserver/codec/protobuf.h

$(GEN_LIB): $(GEN_OBJ)
	@rm -f $@; ar rcs $@ $^

schema-clean:
	rm -rf $(GEN) $(SCHEMA) $(PBGEN)

-include $(GEN_OBJ:.o=.d)
