# promoflow — see README.md. Every target works on a fresh Debian machine with Go.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN := bin/promoflow

.PHONY: build up down status demo test test-unit test-faults vet bench clean

build: ## build the promoflow binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/promoflow

up: ## build (once) and start Temporal, MinIO and PostgreSQL on loopback
	scripts/stack.sh up

down: ## stop the local stack (state stays in .stack/)
	scripts/stack.sh down

status: ## show what runs
	scripts/stack.sh status

demo: build ## start the stack and run a daily cycle on the bundled data
	scripts/demo.sh

test: ## vet and all tests (unit and integration) against the real stack
	scripts/test.sh

test-faults: ## faults, bad input and load against a stack instance of its own (docs/faults.md)
	scripts/test-faults.sh

test-unit: ## unit tests only, no servers
	$(GO) test -race -short ./...

vet:
	$(GO) vet ./...

bench: build ## benchmarks: ratios against scikit-learn, scipy and psql \copy, side by side (installs the peers)
	scripts/peers.sh
	scripts/stack.sh up
	. .stack/env && bench/run.sh && bench/ingest.sh && bench/drift.sh && bench/serve.sh
	go test -run '^$$' -bench . -benchtime 3x ./gate

clean:
	rm -rf bin
