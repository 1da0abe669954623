# tempc build. `make run` and `make test` install what is missing (HiGHS
# included, built from source by scripts/install-highs.sh) and are idempotent.

SHELL := /bin/bash
# Go lives in /usr/local/go on a fresh machine, which need not be on PATH.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
# HiGHS installs under /usr/local by default.
PREFIX ?= /usr/local
export PKG_CONFIG_PATH := $(PREFIX)/lib/pkgconfig:$(PREFIX)/lib64/pkgconfig:$(PKG_CONFIG_PATH)
export LD_LIBRARY_PATH := $(PREFIX)/lib:$(PREFIX)/lib64:$(LD_LIBRARY_PATH)

GO    ?= go
BIN   := bin/tempc
MODEL ?= llama2-7b

# The packages that must build and test without cgo: only ilp/highs calls
# HiGHS (and the driver, CLI and root package that use it). make test vets
# them all with CGO_ENABLED=0 and runs the quick ones so.
PURE := ./ir/... ./frontend/... ./wafer/... ./partition/... ./costmodel/... \
	./plan/... ./lower/... ./validate/... ./ilp ./heuristics ./chakra/...

.PHONY: all deps build test run bench fmt vet clean golden

all: build

# deps: the HiGHS solver (skipped when pkg-config already finds it) and the
# Go modules.
deps:
	@PREFIX=$(PREFIX) bash scripts/install-highs.sh
	@$(GO) mod download

# The binary's version (tempc --version, and the compiler field of the plans
# it writes): the commit it was built from.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)

build: deps
	$(GO) build -ldflags "-X github.com/tempc/tempc.version=$(VERSION)" -o $(BIN) ./cmd/tempc

vet: deps
	$(GO) vet ./...

# The driver package runs whole-step simulations and a small evaluation
# twice (some 5 minutes on 2 cores beside the other packages): its limit
# is raised above go test's 10-minute default so that a slow machine
# fails on a real hang only.
test: deps
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet $(PURE)
	CGO_ENABLED=0 $(GO) test ./ilp ./lower ./plan ./ir ./partition ./wafer/...
	$(GO) test -timeout 20m ./...
	cd examples/quickstart && $(GO) vet .

# run: the main job: compile the model's training step for the wafer (plan
# written to bin/plan.json, trace to bin/trace.json), then replay the plan in
# the bundled simulator.
WAFER ?= temp48
run: build
	./$(BIN) compile --model $(MODEL) --wafer $(WAFER) -o bin/plan.json --trace bin/trace.json
	./$(BIN) simulate bin/plan.json

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# golden: regenerate the golden files under testdata/ (review the diff).
golden: deps
	UPDATE_GOLDEN=1 $(GO) test ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
