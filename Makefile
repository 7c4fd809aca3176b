# ignigen: see README.md. `make test` is the test command; CI (.ci/run) also runs
# `make integration`, `make ha-test` and `make boot-test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ignigen/ignigen/internal/cli.Version=$(VERSION)

.PHONY: build test bench fuzz golden example integration ha-test boot-test tools boot-tools ci clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ignigen ./cmd/ignigen

# The tagged suites need root and real tools to run, but must always compile and vet.
TAGS    := integration hatest boottest

test:
	@unformatted=$$(gofmt -l cmd internal scripts); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -count=1 ./...

# The whole `ignigen build` command as its own process (wall, CPU, peak RSS; README
# "Performance"), then the compiler alone.
bench:
	$(GO) test -run '^$$' -bench Command -benchtime 3x ./cmd/ignigen/
	$(GO) test -run '^$$' -bench . -benchtime 5x ./internal/build/

# Each go test -fuzz target for FUZZTIME (scripts/fuzz.sh); crashers land in testdata/fuzz/.
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Refresh testdata/*/golden and testdata/invalid/*.golden after a reviewed change.
golden:
	$(GO) test ./internal/build/ -run Golden -update
	$(GO) test ./internal/cli/ -run Invalid -update

# Build the embedded example cluster into out/.
example: build
	bin/ignigen init > example-topology.yaml
	bin/ignigen build example-topology.yaml -o out

tools:
	scripts/tools.sh all

# Real consumers (Ignition, Quadlet, systemd, HAProxy, keepalived, kubeadm, QEMU) check every output
# (README "Integration suite"). The consumer checks run as a test binary so their one line per
# check and node and the final "N passed, N failed" print as they happen; then the QEMU delivery tests.
integration: tools
	$(GO) test -tags integration -c -o bin/integration.test ./internal/integration/
	@status=0; \
	(cd internal/integration && ../../bin/integration.test -test.timeout 20m) || status=1; \
	$(GO) test -tags integration -count=1 -timeout 40m -v ./internal/delivery/ || status=1; \
	exit $$status

# A real etcd + kube-apiserver control plane behind the generated VIP loses a node (root).
ha-test: tools
	$(GO) test -tags hatest -count=1 -timeout 25m -v ./internal/hatest/

# The example cluster boots for real: five systemd-nspawn nodes with real systemd as PID 1, their
# roots made by the real Ignition from the generated configs (root; README "Boot test").
boot-tools:
	scripts/tools.sh apt
	scripts/tools.sh boot

boot-test: tools boot-tools
	$(GO) test -tags boottest -count=1 -timeout 60m -v ./internal/boottest/

ci: test integration ha-test boot-test

clean:
	rm -rf bin out example-topology.yaml
