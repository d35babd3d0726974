# janseva - one Makefile for the service, its tools, tests, fuzzers and
# benchmarks. `make help` lists the targets; docs/development.md explains them.
#
#   make run      install what is missing, build, start the sandbox
#   make test     install what is missing, build, run every test (also under
#                 ASan+UBSan), replay and briefly run the fuzzers, check style
#
# Build flavours live side by side: build/rel (default), build/san
# (SANITIZER=address,undefined), build/fuzz (clang + libFuzzer).

ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
SANITIZER ?=
V ?= 0

PKGS := libmicrohttpd libcurl jansson hiredis libsodium libutf8proc libgfshare
TEST_PKGS := cmocka

ifneq ($(SANITIZER),)
FLAVOR := san
SAN_FLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1
else
FLAVOR := rel
SAN_FLAGS :=
OPT := -O2
endif
BUILD := build/$(FLAVOR)

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wformat=2 \
        -Wcast-qual -Wpointer-arith -Wundef -Wvla -Wimplicit-fallthrough -Wwrite-strings \
        -Wold-style-definition
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) $(SAN_FLAGS) -I. -MMD -MP $(PKG_CFLAGS) \
             $(CFLAGS)
LDFLAGS_ALL = $(SAN_FLAGS) $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lpthread -lm

ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say =
endif

LIB_SRC := $(sort $(wildcard core/*.c gateway/*.c groups/*.c moderation/*.c crypto/*.c web/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libjanseva.a
BIN := $(BUILD)/janseva

TOOL_NAMES := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard tools/*/main.c))))
TOOL_BINS := $(TOOL_NAMES:%=$(BUILD)/%)

HARNESS_SRC := $(wildcard tests/harness/*.c)
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:%.c=$(BUILD)/%)
INTEG_SRC := $(sort $(wildcard tests/integration/test_*.c))
INTEG_BINS := $(INTEG_SRC:%.c=$(BUILD)/%)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BUILD := build/fuzz
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all $(filter-out -Wimplicit-fallthrough,$(WARN)) -I. \
              -MMD -MP $(PKG_CFLAGS)

.PHONY: all build tools tests run test check bench fuzz fuzz-smoke fuzz-build deps \
        deps-bench check-style format clean help test-flavor unit integration valgrind

all: build

build: $(BIN) $(TOOL_BINS)

help:
	@sed -n '1,20p' Makefile | sed -n 's/^# \{0,1\}//p'
	@echo "Other targets: build tests unit integration fuzz fuzz-smoke bench valgrind"
	@echo "               check-style format deps clean. V=1 shows commands."

# ---- dependencies (apt-get; scripts/deps.sh says what and why) ----
deps:
	$(Q)scripts/deps.sh build test

deps-bench:
	$(Q)scripts/deps.sh build test bench

# ---- build ----
# The moderation engine runs per post on the hot path (janseva classify, every
# group post): -O3 there measured -5 % instructions/post with the same output
# (docs/benchmarks.md, Moderation). Sanitizer builds keep -O1.
ifeq ($(SANITIZER),)
$(BUILD)/moderation/%.o: OPT := -O3
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/main.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/main.o $(LIB) $(LIBS_ALL)

# tools/NAME/*.c -> build/FLAVOR/NAME (no '%' in the prerequisites: a static
# pattern rule would replace it with the stem)
.SECONDARY:
define TOOL_RULE
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c)) $(LIB)
	$$(call say,LD,$$@)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(LIB) $$(LIBS_ALL)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call TOOL_RULE,$(t))))

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(HARNESS_OBJ) $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(LIB) $(LIBS_ALL) $(TEST_LIBS)

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(HARNESS_OBJ) $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(LIB) $(LIBS_ALL) $(TEST_LIBS)

tests: $(BIN) $(TOOL_BINS) $(UNIT_BINS) $(INTEG_BINS)

# ---- run ----
run: deps
	$(Q)$(MAKE) --no-print-directory build
	$(Q)BUILD=$(BUILD) scripts/run.sh

# ---- tests ----
# test-flavor builds and runs unit + integration tests of one flavour.
test-flavor: tests
	$(Q)scripts/run-tests.sh $(BUILD) unit integration

unit: tests
	$(Q)scripts/run-tests.sh $(BUILD) unit

integration: tests
	$(Q)scripts/run-tests.sh $(BUILD) integration

test: deps
	$(Q)$(MAKE) --no-print-directory check-style
	$(Q)$(MAKE) --no-print-directory test-flavor
	$(Q)$(MAKE) --no-print-directory test-flavor SANITIZER=address,undefined
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	@echo "make test: all passed"

check: test

valgrind: tests
	$(Q)VALGRIND=1 scripts/run-tests.sh $(BUILD) unit

# ---- fuzzing (clang + libFuzzer) ----
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CLANG,$<)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(FUZZ_LIB_OBJ) $(PKG_LIBS) -lpthread -lm

fuzz-build: $(FUZZ_BINS)

# Replay the seed corpus and regressions, then fuzz each target briefly.
fuzz-smoke: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_BINS)

fuzz: deps fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_BINS)

# ---- benchmarks (not part of make test; results in docs/benchmarks.md) ----
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory build
	$(Q)BUILD=$(BUILD) scripts/bench.sh

# ---- style ----
check-style:
	$(Q)scripts/check-style.sh

format:
	$(Q)clang-format -i $(LIB_SRC) $(wildcard */*.h) main.c $(UNIT_SRC) $(INTEG_SRC) \
	    $(HARNESS_SRC) $(wildcard tests/harness/*.h) $(FUZZ_SRC)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
