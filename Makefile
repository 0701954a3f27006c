# archivist — see README.md. The two commands a new user needs: `make run` and `make test`.

GO       ?= go
BIN      := bin/archivist
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.Version=$(VERSION)
SANDBOX  := 127.0.0.1:8787

.PHONY: all build test test-short lint tidy-check run clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/archivist

# The whole suite with the race detector: unit tests and the end-to-end tests that build the
# real binary and run it against the sandbox on loopback.
test:
	$(GO) test -race -count=1 -timeout 9m ./...

test-short:
	$(GO) test -short -count=1 ./...

lint: tidy-check
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

tidy-check:
	@tmp=$$(mktemp -d); cp go.mod go.sum $$tmp/; $(GO) mod tidy; \
	if ! cmp -s go.mod $$tmp/go.mod || ! cmp -s go.sum $$tmp/go.sum; then \
		echo "go.mod/go.sum were not tidy: 'go mod tidy' changed them (commit the result)"; \
		cp $$tmp/go.mod $$tmp/go.sum .; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

# Quickstart: the sandbox (a local Global Relay emulator) plus the daemon watching ./var/inbox.
# Drop a file into var/inbox, then `bin/archivist sandbox ls --url http://$(SANDBOX)`.
run: build
	@mkdir -p var/inbox var/sandbox && chmod 600 config/examples/quickstart.credentials
	@$(BIN) sandbox --listen $(SANDBOX) --dir var/sandbox \
		--credentials-file config/examples/quickstart.credentials --conversation-type quickstart & \
	sandbox=$$!; trap 'kill $$sandbox 2>/dev/null; wait $$sandbox 2>/dev/null' EXIT INT TERM; \
	echo "archivist: drop files into var/inbox; list what the archive received with:"; \
	echo "  $(BIN) sandbox ls --url http://$(SANDBOX)"; \
	$(BIN) run --config config/examples/quickstart.yml

clean:
	rm -rf bin var
