# OpenAPI documents for /openapi/v2 and /openapi/v3 (DESIGN.md section 3), included by
# the Makefile after tools/schema.mk (it uses GEN and KUBE_VERSION).
#
# 1. Go's module tools fetch k8s.io/kubernetes at KUBE_VERSION (`go mod download` in a
#    throwaway module under build/openapi: the kubernetes module cannot be a requirement
#    of a real module, its go.mod points at ./staging). The zip is about 21 MB (124 MB
#    unpacked in the module cache); with the cache warm this needs no network. Only
#    api/openapi-spec is read.
# 2. tools/openapi (Go, kube-openapi at the version that kubernetes release uses) keeps
#    the v3 documents of OPENAPI_GVS, their groups and api, apis, version; prunes the v2
#    document to the same paths; re-encodes, hashes, converts to gnostic protobuf and
#    gzips them into build/gen/openapi/openapi_data.c (about 2 MB of data). Its
#    `resources` mode turns api/discovery (the legacy discovery documents of every
#    group-version) into build/gen/openapi/api_resources.c: the facts of each served
#    resource (names, kind, scope, verbs, short names, categories, subresources), in
#    kube's order, from which the registry builds what it serves. Its `patchmeta` mode
#    turns swagger.json into build/gen/openapi/patchmeta.c: the patch strategies and merge
#    keys strategic merge patch follows, per definition reachable from a served kind.
# 3. Those files are one archive, OPENAPI_LIB, shared by the release and sanitized builds.
#
# Provides: OPENAPI_LIB (link it after the module archives), OPENAPI_GVS, targets
# `openapi` and `openapi-clean`; adds zlib to PKG_LIBS (replies are inflated for clients
# that do not take gzip). Expects from the Makefile: CC, DEFS, GEN, KUBE_VERSION.

# The group-versions vkube serves, in URL form: the documents kept and listed at
# /openapi/v3, and the paths kept in /openapi/v2. (The protobuf groups of tools/schema.mk,
# less the ones not served.)
OPENAPI_GVS := api/v1 \
  $(patsubst %,apis/%,admissionregistration.k8s.io/v1 apiextensions.k8s.io/v1 apps/v1 \
      authentication.k8s.io/v1 authorization.k8s.io/v1 autoscaling/v1 autoscaling/v2 \
      batch/v1 certificates.k8s.io/v1 coordination.k8s.io/v1 discovery.k8s.io/v1 \
      events.k8s.io/v1 flowcontrol.apiserver.k8s.io/v1 networking.k8s.io/v1 node.k8s.io/v1 \
      policy/v1 rbac.authorization.k8s.io/v1 resource.k8s.io/v1 scheduling.k8s.io/v1 \
      storage.k8s.io/v1 storagemigration.k8s.io/v1)
# 1: also embed the v3 documents' protobuf form (about 0.8 MB more); 0: answer only JSON.
OPENAPI_V3_PROTO ?= 1

OPENAPI_FETCH := build/openapi
OPENAPI_GEN   := $(GEN)/openapi
OPENAPI_TOOL  := build/tools/openapi
OPENAPI_LIB   := $(OPENAPI_GEN)/libvk_openapi.a
OPENAPI_GO    := cd tools/openapi && GOFLAGS="-mod=readonly -buildvcs=false" go
OPENAPI_CFLAGS = -std=c11 -Os -Wall -Wextra -Werror $(DEFS) -I.
PKG_LIBS      += -lz

# The fetch depends on the version, the generation also on the settings; each file is
# rewritten only when its text changes, so make sees a change of either.
OPENAPI_VERSION := $(OPENAPI_FETCH)/version.txt
OPENAPI_CONF    := $(OPENAPI_FETCH)/config.txt
openapi_keep = $(shell mkdir -p $(OPENAPI_FETCH) && \
    (echo '$(2)' | cmp -s - $(1) || echo '$(2)' > $(1)))
$(call openapi_keep,$(OPENAPI_VERSION),$(KUBE_VERSION))
$(call openapi_keep,$(OPENAPI_CONF),$(KUBE_VERSION) v3proto=$(OPENAPI_V3_PROTO) $(OPENAPI_GVS))

.PHONY: openapi openapi-clean
openapi: $(OPENAPI_LIB)

# 1. Fetch; spec-dir.txt names the api/openapi-spec directory in the module cache.
$(OPENAPI_FETCH)/spec-dir.txt: $(OPENAPI_VERSION)
	@mkdir -p $(OPENAPI_FETCH)/mod
	@printf 'module vkube.local/openapi-fetch\n\ngo 1.26.0\n' > $(OPENAPI_FETCH)/mod/go.mod
	@cd $(OPENAPI_FETCH)/mod && go mod download -json k8s.io/kubernetes@$(KUBE_VERSION) \
	    > ../download.json || { cat ../download.json; exit 1; }
	@dir=$$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$$/\1/p' $(OPENAPI_FETCH)/download.json); \
	    test -f "$$dir/api/openapi-spec/swagger.json" || { echo "openapi: no spec in '$$dir'" >&2; exit 1; }; \
	    echo "$$dir/api/openapi-spec" > $@; \
	    echo "openapi: k8s.io/kubernetes@$(KUBE_VERSION) at $$dir"

# 2. Generate.
$(OPENAPI_TOOL): $(wildcard tools/openapi/*.go) tools/openapi/go.mod tools/openapi/go.sum
	@mkdir -p $(@D)
	$(OPENAPI_GO) build -o $(CURDIR)/$@ .

$(OPENAPI_GEN)/openapi_data.c: $(OPENAPI_FETCH)/spec-dir.txt $(OPENAPI_TOOL) $(OPENAPI_CONF)
	@mkdir -p $(@D)
	@OPENAPI_V3_PROTO=$(OPENAPI_V3_PROTO) $(OPENAPI_TOOL) "$$(cat $<)" $@.tmp $(OPENAPI_GVS) && mv $@.tmp $@

# 3. One archive for both builds.
$(OPENAPI_GEN)/openapi_data.o: $(OPENAPI_GEN)/openapi_data.c apiserver/openapi.h
	@echo "CC $<"
	@$(CC) $(OPENAPI_CFLAGS) -c -o $@ $<

# The discovery facts of the served resources (vk_api_facts, apiserver/registry/resource.h),
# from api/discovery next to api/openapi-spec.
$(OPENAPI_GEN)/api_resources.c: $(OPENAPI_FETCH)/spec-dir.txt $(OPENAPI_TOOL) $(OPENAPI_CONF)
	@mkdir -p $(@D)
	@$(OPENAPI_TOOL) resources "$$(cat $<)/../discovery" $@.tmp $(OPENAPI_GVS) && mv $@.tmp $@

$(OPENAPI_GEN)/api_resources.o: $(OPENAPI_GEN)/api_resources.c apiserver/registry/resource.h
	@echo "CC $<"
	@$(CC) $(OPENAPI_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# Strategic merge patch metadata of the served kinds (vk_pm_defs, apiserver/codec/patchmeta.h):
# patch strategies and merge keys from swagger.json.
$(OPENAPI_GEN)/patchmeta.c: $(OPENAPI_FETCH)/spec-dir.txt $(OPENAPI_TOOL) $(OPENAPI_CONF)
	@mkdir -p $(@D)
	@$(OPENAPI_TOOL) patchmeta "$$(cat $<)" $@.tmp $(OPENAPI_GVS) && mv $@.tmp $@

$(OPENAPI_GEN)/patchmeta.o: $(OPENAPI_GEN)/patchmeta.c apiserver/codec/patchmeta.h
	@echo "CC $<"
	@$(CC) $(OPENAPI_CFLAGS) -c -o $@ $<

$(OPENAPI_LIB): $(OPENAPI_GEN)/openapi_data.o $(OPENAPI_GEN)/api_resources.o $(OPENAPI_GEN)/patchmeta.o
	@rm -f $@; ar rcs $@ $^

openapi-clean:
	rm -rf $(OPENAPI_GEN) $(OPENAPI_FETCH) $(OPENAPI_TOOL)
