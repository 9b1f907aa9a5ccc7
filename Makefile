# rigor — see README.md. Every target works on a fresh machine with Go and python3.
GO      ?= go
BIN     ?= bin/rigor
PKGS    ?= ./...

.PHONY: all build test test-short lint bench demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/rigor

# The test command: README, .ci/run and developers all use this one.
test: lint
	$(GO) test -race -count=1 -timeout 40m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Benchmarks against the peers named in the issues; writes BENCHMARKS.md figures.
bench: build
	bash scripts/bench.sh

demo: build
	bash scripts/demo.sh

clean:
	rm -rf bin
