# Lookout Makefile. `make test` is the test command CI runs (.ci/run).
GO        ?= go
BIN       ?= bin/lookout
# The agent alone (cmd/lookout-agent): static, without symbol tables and
# without the protobuf runtime (tag lookout_noproto: hollywood patch 6,
# wire.Any), so its resident code is as small as possible; `lookout bench`
# measures it when it sits beside $(BIN).
AGENT_BIN ?= bin/lookout-agent
AGENT_TAGS := lookout_noproto
# Packages the agent runs only at start-up or once per connection (config
# loading, TLS handshakes and certificates, formatting, logging setup) are
# compiled without inlining in the slim agent: inlining copies a callee's
# body into every caller, and every page of code, used or not, is resident
# (the kernel maps a binary's pages 64 KiB around each one touched). This
# takes 0.5 MB off the binary and about 0.5 MiB off its RSS; the per-report
# path (our packages, hollywood, drpc, net, runtime) keeps inlining, and the
# CPU per collection did not change measurably (BENCHMARKS.md).
AGENT_NOINLINE := crypto/... vendor/golang.org/x/crypto/... go.yaml.in/... github.com/go-viper/... \
	github.com/knadh/... github.com/mitchellh/... encoding/... fmt regexp/... math/big log/slog/...
AGENT_GCFLAGS := $(foreach p,$(AGENT_NOINLINE),-gcflags=$(p)=-l)
# `make test` builds both binaries too, so a broken release build (these
# flags included) fails CI.
RACE_PKGS := ./internal/... ./model/... ./wire/... ./configs/... ./rules/... ./store/... ./agent/... ./actors/... ./notify/... ./pki/... ./web/... ./views/... ./app/... ./cmd/...
# Packages that start real OS processes (slower; run without -race).
PROC_PKGS := ./e2e/... ./acceptance/... ./cluster/... ./bench/...

.PHONY: build test test-unit test-proc vet generate check-generated fuzz-smoke bench clean

build:
	$(GO) build -o $(BIN) ./cmd/lookout
	CGO_ENABLED=0 $(GO) build -tags $(AGENT_TAGS) -trimpath $(AGENT_GCFLAGS) -ldflags="-s -w" -o $(AGENT_BIN) ./cmd/lookout-agent

generate:
	$(GO) tool templ generate

# check-generated fails when the committed *_templ.go files are stale.
check-generated: generate
	git diff --exit-code -- '*_templ.go'

vet:
	$(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	cd third_party/hollywood && $(GO) test -race -count=1 ./actor/ ./remote/
	cd third_party/hollywood && $(GO) test -race -count=1 -tags $(AGENT_TAGS) ./actor/ ./remote/

test-proc:
	$(GO) test -count=1 -timeout 20m $$($(GO) list $(PROC_PKGS) 2>/dev/null)

fuzz-smoke:
	bash scripts/fuzz-smoke.sh
	FUZZMODULE=third_party/hollywood bash scripts/fuzz-smoke.sh ./remote/
	FUZZMODULE=third_party/hollywood FUZZTAGS=$(AGENT_TAGS) bash scripts/fuzz-smoke.sh ./remote/

test: vet build test-unit fuzz-smoke test-proc

# bench regenerates the figures of BENCHMARKS.md into bench.out.md
# (real master process under load, agent footprint, pipeline and dashboard
# Go benchmarks); copy them into BENCHMARKS.md with the date and load.
bench: build
	{ $(BIN) bench --agents 100  --interval 1s    --duration 15s --agent=false; \
	  $(BIN) bench --agents 1000 --interval 250ms --duration 15s --agent=false; \
	  $(BIN) bench --agents 1000 --interval 100ms --duration 15s --agent=false; \
	  $(BIN) bench --agents 1000 --interval 50ms  --duration 40s --agent=false; \
	  $(BIN) bench --agents 1100 --interval 50ms  --duration 40s --agent=false; \
	  $(BIN) bench --agents 1250 --interval 50ms  --duration 40s --agent=false; \
	  $(BIN) bench --agents 2000 --interval 2s    --duration 15s --agent=false; \
	  $(BIN) bench --agents 500  --interval 500ms --duration 15s --agent=false; \
	  $(BIN) bench --agents 2000 --interval 2s    --duration 40s --agent=false; \
	  $(BIN) bench --agents 10000 --interval 10s  --duration 40s --agent=false; \
	  $(BIN) bench --master=false; \
	  $(GO) test -count=1 -run TestMemoryPerHost -v ./bench; \
	  $(GO) test -run '^$$' -bench IngestPipeline -benchtime 20000x -count 3 ./bench; \
	  $(GO) test -run '^$$' -bench 'RenderOverview1000|SSEFanout1000' -benchmem ./web; } > bench.out.md

clean:
	rm -rf bin
