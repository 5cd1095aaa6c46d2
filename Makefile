# sulcus - build, test and set-up.  GNU make.
#
#   make            build ./sulcus
#   make deps       install the Debian packages sulcus needs (no-op when present)
#   make test       deps, build, unit tests (Check), integration tests
#   make asan       the same suite under AddressSanitizer + UBSan (build/asan/)
#   make demo       deps, build, run workflows/demo.cfg
#   make bench      the benchmarks in bench/ (see README)
#   make GPU=1      also the CUDA build: Debian's Darknet source with CUDA
#                   (tools/darknet-gpu.sh) and sulcus-darknet-gpu.so on it

VERSION   := 0.1.0
CC        ?= cc
BUILD     ?= build
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wformat=2 -Wvla
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -I/usr/include/nifti $(WARN) $(if $(CI),-Werror) $(CFLAGS) \
             -DSULCUS_VERSION=$(VERSION) -MMD -MP -include engine/banned.h
LDLIBS    := -lconfig -lsqlite3 -lcrypto -lnifti2 -lznz -lpng -lz -lm

# The Debian packages the project needs to build and test.
DEB_PACKAGES := gcc make pkg-config libconfig-dev libsqlite3-dev libssl-dev check libnifti2-dev libpng-dev mricron-data nifti-bin \
                darknet libopenblas-openmp-dev libdnnl-dev \
                sqlite3 ninja-build hyperfine time procps iproute2 \
                slurm-wlm munge chromium
# GPU=1 also needs these (CUDA itself is not a Debian package: /usr/local/cuda).
GPU_DEB_PACKAGES := g++ patch xz-utils
# make fuzz also needs clang (libFuzzer).
FUZZ_DEB_PACKAGES := clang

# The Darknet stages' library (stages/dn.h): links libdarknet, oneDNN and
# OpenBLAS, loaded only inside stage processes.  It carries its own copy of
# the two engine modules it uses.  OpenBLAS is Debian's OpenMP build, so
# that oneDNN, OpenBLAS and our loops share one pool of threads (Debian's
# default build brings a pthread pool of its own, and the two pools then
# starve each other).
DARKNET_DIR := /usr/lib/darknet
OPENBLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
DN_SRC     := $(wildcard stages/dn/*.c) engine/err.c engine/strbuf.c stages/rng.c
DN_OBJ     := $(patsubst %.c,$(BUILD)/pic/%.o,$(DN_SRC))
DN_CFLAGS  := -O3 -fno-trapping-math -fPIC -fvisibility=hidden -fopenmp -isystem $(DARKNET_DIR)/include -I/usr/include/x86_64-linux-gnu/openblas-openmp
DN_LDLIBS  := -fopenmp -L$(DARKNET_DIR) -Wl,-rpath,$(DARKNET_DIR) -ldarknet -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR) \
              -lopenblas -ldnnl -lcrypto -lm

# GPU=1: the same library on a CUDA Darknet built from Debian's source
# package (tools/darknet-gpu.sh, into $(BUILD)/gpu/).  Our files are
# compiled again with -DGPU: darknet.h's structs differ with it.  The
# library finds libdarknet-cuda.so through its rpath, from $(BUILD)/ and
# from the copy beside ./sulcus.
CUDA        ?= /usr/local/cuda
GPU_DIR     := $(BUILD)/gpu
DN_GPU_OBJ  := $(patsubst %.c,$(GPU_DIR)/pic/%.o,$(DN_SRC))
DN_GPU_CFLAGS := $(subst -isystem $(DARKNET_DIR)/include,-isystem $(GPU_DIR)/darknet-src/include,$(DN_CFLAGS)) \
                 -DGPU -isystem $(CUDA)/include
DN_GPU_LDLIBS := -fopenmp -L$(GPU_DIR) -Wl,-rpath,'$$ORIGIN/gpu' -Wl,-rpath,'$$ORIGIN/$(GPU_DIR)' -ldarknet-cuda \
                 -L$(CUDA)/lib64 -Wl,-rpath,$(CUDA)/lib64 -lcudart \
                 -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR) -lopenblas -ldnnl -lcrypto -lm

ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c))
STAGES_SRC := $(wildcard stages/*.c)
LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(ENGINE_SRC) $(STAGES_SRC)) $(BUILD)/gen/migrations.o \
              $(BUILD)/gen/report_generic.o
TEST_SRC   := $(wildcard tests/check_*.c)
TEST_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(TEST_SRC))
MIGRATIONS := db/schema.sql $(sort $(wildcard db/migrate-*.sql))

.PHONY: all deps test unit integration asan demo bench clean fuzz readme-kinds
.DELETE_ON_ERROR:

all: sulcus sulcus-darknet.so $(if $(filter 1,$(GPU)),sulcus-darknet-gpu.so $(BUILD)/sulcus-darknet-gpu.so)

sulcus: $(BUILD)/sulcus
	cp $< $@

# Beside ./sulcus, where stages/dnload.c looks for it.
sulcus-darknet.so: $(BUILD)/sulcus-darknet.so
	cp $< $@

$(BUILD)/sulcus-darknet.so: $(DN_OBJ) Makefile
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -o $@ $(DN_OBJ) $(DN_LDLIBS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DN_CFLAGS) -c -o $@ $<

sulcus-darknet-gpu.so: $(BUILD)/sulcus-darknet-gpu.so
	cp $< $@

$(GPU_DIR)/libdarknet-cuda.so: tools/darknet-gpu.sh $(wildcard patches/darknet/*.patch)
	CUDA=$(CUDA) sh tools/darknet-gpu.sh $(GPU_DIR)

$(BUILD)/sulcus-darknet-gpu.so: $(DN_GPU_OBJ) $(GPU_DIR)/libdarknet-cuda.so
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -o $@ $(DN_GPU_OBJ) $(DN_GPU_LDLIBS)

$(GPU_DIR)/pic/%.o: %.c | $(GPU_DIR)/libdarknet-cuda.so
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DN_GPU_CFLAGS) -c -o $@ $<

$(BUILD)/sulcus: $(BUILD)/engine/main.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The tests' build of the engine: the same objects, but fault.c with its
# fault injection compiled in (engine/fault.h).  ./sulcus has none of it.
$(BUILD)/sulcus-faults: $(BUILD)/engine/main.o $(filter-out $(BUILD)/engine/fault.o,$(LIB_OBJ)) \
                        $(BUILD)/faults/engine/fault.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/faults/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DSUL_FAULTS -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The schema and migrations, embedded as C strings (db.c applies them).
$(BUILD)/gen/migrations.c: $(MIGRATIONS) Makefile
	@mkdir -p $(dir $@)
	@{ echo '/* generated from $(MIGRATIONS) by the Makefile */'; \
	   echo 'const char *const sul_migrations[] = {'; \
	   for f in $(MIGRATIONS); do \
	     sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $$f; echo '    ,'; \
	   done; \
	   echo '};'; \
	   echo 'const int sul_nmigrations = sizeof(sul_migrations) / sizeof(sul_migrations[0]);'; } > $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Wno-missing-variable-declarations -c -o $@ $<

# The generic report spec, embedded as a C string (engine/report.h): what
# `sulcus report` shows for a workflow without a spec of its own beside it.
$(BUILD)/gen/report_generic.c: db/report-generic.cfg Makefile
	@mkdir -p $(dir $@)
	@{ echo '/* generated from db/report-generic.cfg by the Makefile */'; \
	   echo 'const char sul_report_generic_spec[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' db/report-generic.cfg; \
	   echo '    ;'; } > $@

$(BUILD)/gen/report_generic.o: $(BUILD)/gen/report_generic.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

# The unit-test suites: every SUL_SUITE(NAME) that starts a line of
# tests/check_*.c, so that a new test file is found without registering it.
$(BUILD)/gen/suites.c: $(TEST_SRC) Makefile
	@mkdir -p $(dir $@)
	@names=$$(sed -n 's/^SUL_SUITE(\([a-z0-9_]*\))$$/suite_\1/p' $(TEST_SRC)); \
	{ echo '/* generated from tests/check_*.c by the Makefile */'; echo '#include <check.h>'; \
	  for n in $$names; do echo "Suite *$$n(void);"; done; \
	  echo 'extern Suite *(*const sul_test_suites[])(void);'; \
	  echo 'Suite *(*const sul_test_suites[])(void) = {'; \
	  for n in $$names; do echo "    $$n,"; done; echo '    0,'; echo '};'; } > $@

$(BUILD)/gen/suites.o: $(BUILD)/gen/suites.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The test binary has every kind, and a schema probe of its own (tests/check_kinds.c).
$(BUILD)/check_sulcus: $(TEST_OBJ) $(BUILD)/gen/suites.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

deps:
	@missing=""; for p in $(DEB_PACKAGES) $(if $(filter 1,$(GPU)),$(GPU_DEB_PACKAGES)) $(EXTRA_DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "make deps: installing$$missing (waiting up to 10 minutes if another apt holds its lock)"; \
	  $$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    --no-install-recommends $$missing; \
	fi

unit: $(BUILD)/check_sulcus $(BUILD)/sulcus $(BUILD)/sulcus-darknet.so
	SULCUS_TEST_BIN=$(abspath $(BUILD)/sulcus) $(BUILD)/check_sulcus

integration: $(BUILD)/sulcus $(BUILD)/sulcus-faults $(BUILD)/sulcus-darknet.so $(BUILD)/mkslices $(BUILD)/dncompare
	SULCUS=$(abspath $(BUILD)/sulcus) SULCUS_FAULTS=$(abspath $(BUILD)/sulcus-faults) MKSLICES=$(abspath $(BUILD)/mkslices) DNCOMPARE=$(abspath $(BUILD)/dncompare) \
	  sh tests/run-integration.sh

# Test data for the Darknet stages (tests/mkslices.c).
$(BUILD)/mkslices: $(BUILD)/tests/mkslices.o $(BUILD)/stages/pngio.o $(BUILD)/stages/rng.o $(BUILD)/engine/err.o \
                   $(BUILD)/engine/strbuf.o $(BUILD)/engine/fsutil.o $(BUILD)/engine/fault.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lpng -lz -lm

# The machine's measured peak rate, for bench/darknet.sh.  Its own flags:
# it picks AVX-512 or AVX2 kernels at run time.
$(BUILD)/fmapeak: bench/fmapeak.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fopenmp -o $@ $< -fopenmp

# The CUDA build against the CPU build (tests/t8001, t8002).  It finds the
# libraries beside itself, as sulcus does.
$(BUILD)/dncompare: $(BUILD)/tests/dncompare.o $(BUILD)/stages/dnload.o $(BUILD)/stages/heatmap.o $(BUILD)/engine/err.o \
                    $(BUILD)/engine/strbuf.o $(BUILD)/engine/fsutil.o $(BUILD)/engine/fault.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -ldl -lm

test: deps
	$(MAKE) all
	$(MAKE) unit integration

asan: deps
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):use_tls=0 \
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" unit integration

# make fuzz: the libFuzzer targets of tests/fuzz/ (the workflow loader and
# --set; the NIfTI and PNG readers), built with clang, AddressSanitizer and
# UBSan into build/fuzz/, each run FUZZ_SECONDS (default 120) from a corpus
# seeded with workflows/, cfg/ and real images (tests/fuzz/run.sh).  Not
# part of `make test`: its time is open-ended by nature.
FUZZ_SECONDS ?= 120
fuzz:
	$(MAKE) deps EXTRA_DEB_PACKAGES="$(FUZZ_DEB_PACKAGES)"
	$(MAKE) BUILD=build/fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  build/fuzz/fuzz_workflow build/fuzz/fuzz_images build/fuzz/mkslices
	sh tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/fuzz_util.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LDLIBS)

demo: deps
	$(MAKE) all
	./sulcus run workflows/demo.cfg
	./sulcus report workflows/demo.cfg --out report
	@echo; echo "The models, best first (sulcus query -f db/queries/models.sql):"
	@./sulcus query -f db/queries/models.sql
	@echo; echo "Report: $(abspath report)/index.html"

bench: all
	sh bench/plan.sh

# README.md's reference of the kinds, from the binary (t3007 compares them).
readme-kinds: $(BUILD)/sulcus
	sh tools/readme-kinds.sh $(abspath $(BUILD)/sulcus)

clean:
	rm -rf build sulcus sulcus-darknet.so sulcus-darknet-gpu.so

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
