# rigor — see README.md. Every target works on a fresh machine with Go and python3.
GO      ?= go
BIN     ?= bin/rigor
PKGS    ?= ./...

.PHONY: all build test test-short lint bench demo clean tools fuzz-short soak

all: build

build:
	$(GO) build -o $(BIN) ./cmd/rigor

# The test command: README, .ci/run and developers all use this one.
test: lint tools
	$(GO) test -race -count=1 -timeout 40m $(PKGS)

# Every go test -fuzz target for FUZZTIME (5 s) each: CI runs it after test.
fuzz-short:
	bash scripts/fuzz.sh

# The long hardening runs (kill points, load, huge trees, fuzzing):
# RELIABILITY.md has the figures.
soak: tools
	bash scripts/soak.sh

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Programs the tests run against, pinned in the tools module (tools/go.mod):
# an OCI distribution registry and the oras CLI. Rebuilt when the pins change.
tools: bin/tools/registry bin/tools/oras

bin/tools/registry: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$@ github.com/distribution/distribution/v3/cmd/registry

bin/tools/oras: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$@ oras.land/oras/cmd/oras

# Benchmarks against the peers named in the issues; writes BENCHMARKS.md figures.
bench: build
	bash scripts/bench.sh

demo: build
	bash scripts/demo.sh

clean:
	rm -rf bin
