# Lookout Makefile. `make test` is the test command CI runs (.ci/run).
GO        ?= go
BIN       ?= bin/lookout
RACE_PKGS := ./model/... ./wire/... ./configs/... ./rules/... ./store/... ./agent/... ./actors/... ./notify/... ./pki/... ./web/... ./views/... ./app/... ./cmd/...
# Packages that start real OS processes (slower; run without -race).
PROC_PKGS := ./e2e/... ./acceptance/... ./cluster/... ./bench/...

.PHONY: build test test-unit test-proc vet generate check-generated fuzz-smoke bench clean

build:
	$(GO) build -o $(BIN) ./cmd/lookout

generate:
	$(GO) tool templ generate

# check-generated fails when the committed *_templ.go files are stale.
check-generated: generate
	git diff --exit-code -- '*_templ.go'

vet:
	$(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)

test-proc:
	$(GO) test -count=1 -timeout 20m $$($(GO) list $(PROC_PKGS) 2>/dev/null)

fuzz-smoke:
	bash scripts/fuzz-smoke.sh

test: vet test-unit test-proc fuzz-smoke

bench:
	$(GO) build -o $(BIN) ./cmd/lookout
	$(BIN) bench > BENCHMARKS.out.md

clean:
	rm -rf bin
