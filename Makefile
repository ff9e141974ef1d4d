# vkube build. `make` builds build/vkube; `make test` runs every suite; `make run` starts a server.
# Sources are found per directory, so adding a module is adding files.

KUBE_VERSION ?= v1.37.2
VK_COMMIT    := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
VK_TREE      := $(shell test -z "$$(git status --porcelain 2>/dev/null)" && echo clean || echo dirty)
BUILD_DATE   := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

CC      ?= cc
PKGS    := openssl libnghttp2 libuv lmdb jansson libprotobuf-c yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay -lhttp_parser -lm -lpthread

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
           -Wno-missing-field-initializers -Werror
DEFS    := -D_GNU_SOURCE -DVK_KUBE_VERSION='"$(KUBE_VERSION)"'
BUILD_DEFS := -DVK_COMMIT='"$(VK_COMMIT)"' -DVK_TREE='"$(VK_TREE)"' -DVK_BUILD_DATE='"$(BUILD_DATE)"'
INC     := -I. $(PKG_CFLAGS)
CFLAGS_BASE = -std=c11 $(WARN) $(DEFS) $(INC) -MMD -MP
REL_CFLAGS  = $(CFLAGS_BASE) -O2 -g
ASAN_CFLAGS = $(CFLAGS_BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -DVK_TESTING
ASAN_LDFLAGS := -fsanitize=address,undefined

# One archive per module; dependencies point one way:
# common <- storage <- apiserver (registry) <- controllers.
MODULES  := common storage apiserver controllers
src_of    = $(filter-out apiserver/main.c,$(shell find $(1) -name '*.c' 2>/dev/null | sort))
LIB_SRC  := $(foreach m,$(MODULES),$(call src_of,$(m)))
MAIN_SRC := apiserver/main.c
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TESTLIB_SRC := $(sort $(wildcard tests/unit/support/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

REL  := build/rel
ASAN := build/asan
LIBS_REL  := $(patsubst %,$(REL)/libvk_%.a,controllers apiserver storage common)
LIBS_ASAN := $(patsubst %,$(ASAN)/libvk_%.a,controllers apiserver storage common)
# Build-time schema generation: protobuf descriptors and type tables (build/gen).
include tools/schema.mk
LIBS_REL  += $(GEN_LIB)
LIBS_ASAN += $(GEN_LIB)
# Build-time OpenAPI documents (/openapi/v2, /openapi/v3), embedded gzip-compressed.
include tools/openapi.mk
LIBS_REL  += $(OPENAPI_LIB)
LIBS_ASAN += $(OPENAPI_LIB)
REL_OBJ  := $(LIB_SRC:%.c=$(REL)/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=$(ASAN)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(ASAN)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(REL)/bench/%)

.PHONY: FORCE all deps run test unit e2e fuzz bench soak clean format check-format \
        conformance-build conformance conformance-report conformance-smoke
all: build/vkube

deps:
	@tools/deps.sh

build/vkube: $(REL)/vkube
	cp $< $@.tmp && mv -f $@.tmp $@

$(REL)/vkube: $(REL)/apiserver/main.o $(LIBS_REL)
	$(CC) -o $@ $^ $(PKG_LIBS)

$(ASAN)/vkube: $(ASAN)/apiserver/main.o $(LIBS_ASAN)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# libvk.a is the modules' archives in link order (apiserver first).
define module_lib
$(REL)/libvk_$(1).a: $(patsubst %.c,$(REL)/%.o,$(call src_of,$(1)))
	@rm -f $$@; ar rcs $$@ $$^
$(ASAN)/libvk_$(1).a: $(patsubst %.c,$(ASAN)/%.o,$(call src_of,$(1)))
	@rm -f $$@; ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

# Only version.c carries the commit and date, so a new commit rebuilds one file.
$(REL)/apiserver/version.o $(ASAN)/apiserver/version.o: DEFS += $(BUILD_DEFS)
$(REL)/apiserver/version.o $(ASAN)/apiserver/version.o: FORCE
FORCE:

$(REL)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -c -o $@ $<
$(ASAN)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

# A unit test links only the modules it may depend on: test_common* common,
# test_storage* storage and common, every other test all of them.
T_COMMON  := $(filter $(ASAN)/tests/test_common%,$(UNIT_BIN))
T_STORAGE := $(filter $(ASAN)/tests/test_storage%,$(UNIT_BIN))
T_ALL     := $(filter-out $(T_COMMON) $(T_STORAGE),$(UNIT_BIN))
$(T_COMMON): $(ASAN)/tests/%: tests/unit/%.c $(ASAN)/libvk_common.a
$(T_STORAGE): $(ASAN)/tests/%: tests/unit/%.c $(ASAN)/libvk_storage.a $(ASAN)/libvk_common.a
$(T_ALL): $(ASAN)/tests/%: tests/unit/%.c $(TESTLIB_SRC:%.c=$(ASAN)/%.o) $(LIBS_ASAN)
$(ASAN)/tests/test_protobuf: | $(GEN_TESTDATA)
$(UNIT_BIN):
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(ASAN_LDFLAGS) $(PKG_LIBS) -lcmocka

$(REL)/bench/%: bench/%.c $(LIBS_REL)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)

# Everything `make test` needs, installed then built.
test: deps
	@tools/deps.sh test
	@$(MAKE) --no-print-directory build/vkube $(ASAN)/vkube $(UNIT_BIN) $(FUZZ_BIN)
	@tests/run.sh

run: deps
	@$(MAKE) --no-print-directory build/vkube
	build/vkube server $(ARGS)

# libFuzzer targets (clang): the modules compiled once with fuzzer instrumentation, each
# target linked from them. `make test` builds them and runs each for a few seconds
# (FUZZ_SMOKE_SECONDS); `make fuzz` runs them for FUZZ_SECONDS (60) each.
FUZZ_CFLAGS = -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(DEFS) $(INC) \
              -Wno-unused-parameter -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "CC (fuzz) $<"
	@clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_BIN): build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) $(GEN_LIB) $(OPENAPI_LIB)
	@mkdir -p $(@D)
	@echo "LINK $@"
	@clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(DEFS) $(INC) -Wno-unused-parameter \
	    -o $@ $^ $(PKG_LIBS)
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do echo "== $$f"; $$f -max_total_time=$${FUZZ_SECONDS:-60} || exit 1; done

bench: deps
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory build/vkube $(BENCH_BIN)
	@bench/run.sh

# The upstream conformance suite (conformance/README in README.md's "Conformance").
# conformance-build: e2e.test, kubectl and ginkgo of KUBE_VERSION into build/conformance,
# from the Go module proxy (module conformance/e2e; ~25 min cold on 2 cores).
# conformance: starts vkube and runs the suite (FOCUS=, SKIP=, CONTENT_TYPE=json,
# MODE=standalone, PROCS=, TIMEOUT=, PHASES=), then writes docs/CONFORMANCE.md.
CONFORMANCE_REPORT ?= docs/CONFORMANCE.md
conformance-build:
	@conformance/build.sh

conformance: build/vkube
	@rc=0; conformance/run.sh || rc=$$?; \
	  $(MAKE) --no-print-directory conformance-report; exit $$rc

# The fixed fast subset (conformance/smoke.txt), in parallel; report in build/conformance/smoke.
conformance-smoke: build/vkube
	@conformance/smoke.sh

conformance-report:
	@mkdir -p build/conformance && cd conformance && go build -o ../build/conformance/report ./report
	@build/conformance/report -results "$${RESULTS:-build/conformance/results/latest}" \
	    -out "$(CONFORMANCE_REPORT)" -note "$${REPORT_NOTE:-}"

# Long crash-safety soak: the kill -9 test for many more rounds (make test runs 25).
soak: $(ASAN)/tests/test_storage_crash
	VK_CRASH_ROUNDS=$${ROUNDS:-500} $(ASAN)/tests/test_storage_crash

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(REL)/apiserver/main.d $(ASAN)/apiserver/main.d

-include $(FUZZ_OBJ:.o=.d)
