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
	@if $(BIN) sandbox ls --url http://$(SANDBOX) >/dev/null 2>&1; then \
		echo "make run: something already answers on $(SANDBOX) (another make run?): stop it first" >&2; exit 1; fi
	@setsid $(BIN) sandbox --listen $(SANDBOX) --dir var/sandbox \
		--credentials-file config/examples/quickstart.credentials --conversation-type quickstart & \
	sandbox=$$!; trap 'kill $$sandbox 2>/dev/null; wait $$sandbox 2>/dev/null' EXIT; trap 'exit 130' INT TERM HUP; \
	for i in $$(seq 100); do \
		if ! kill -0 $$sandbox 2>/dev/null; then echo "make run: the sandbox did not start (is $(SANDBOX) in use?)" >&2; exit 1; fi; \
		$(BIN) sandbox ls --url http://$(SANDBOX) >/dev/null 2>&1 && break; \
		sleep 0.1; \
	done; \
	echo "archivist: drop files into var/inbox; in another shell:"; \
	echo "  export ARCHIVIST_CONFIG=$(CURDIR)/config/examples/quickstart.yml"; \
	echo "  $(BIN) status; $(BIN) queue --all; $(BIN) sandbox ls --url http://$(SANDBOX)"; \
	$(BIN) run --config config/examples/quickstart.yml

clean:
	rm -rf bin var dist

# Installation as a systemd service (see systemd/README.md). DESTDIR stages into a folder (for
# packages); PREFIX is where the files end up on the target system, and the installed unit's
# ExecStart= and Documentation= are rewritten to match it. Packagers: PREFIX=/usr.
# The configuration always goes to /etc/archivist, and only if there is none yet.
PREFIX  ?= /usr/local
DESTDIR ?=
ARCHIVIST_UNITDIR     = $(PREFIX)/lib/systemd/system
ARCHIVIST_SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
ARCHIVIST_DOCDIR      = $(PREFIX)/share/doc/archivist

.PHONY: install uninstall

install: build
	install -D -m 0755 $(BIN) "$(DESTDIR)$(PREFIX)/bin/archivist"
	install -d -m 0755 "$(DESTDIR)$(ARCHIVIST_UNITDIR)"
	sed -e 's|/usr/bin/archivist|$(PREFIX)/bin/archivist|g' \
	    -e 's|/usr/share/doc/archivist|$(ARCHIVIST_DOCDIR)|g' \
	    systemd/archivist.service > "$(DESTDIR)$(ARCHIVIST_UNITDIR)/archivist.service"
	chmod 0644 "$(DESTDIR)$(ARCHIVIST_UNITDIR)/archivist.service"
	install -D -m 0644 systemd/sysusers.d/archivist.conf "$(DESTDIR)$(ARCHIVIST_SYSUSERSDIR)/archivist.conf"
	install -D -m 0644 README.md "$(DESTDIR)$(ARCHIVIST_DOCDIR)/README.md"
	install -D -m 0644 systemd/README.md "$(DESTDIR)$(ARCHIVIST_DOCDIR)/systemd.md"
	install -D -m 0644 systemd/archivist.yml "$(DESTDIR)$(ARCHIVIST_DOCDIR)/archivist.yml.example"
	@if [ -e "$(DESTDIR)/etc/archivist/archivist.yml" ]; then \
		echo "kept $(DESTDIR)/etc/archivist/archivist.yml (the new example is $(DESTDIR)$(ARCHIVIST_DOCDIR)/archivist.yml.example)"; \
	else \
		echo install -D -m 0644 systemd/archivist.yml "$(DESTDIR)/etc/archivist/archivist.yml"; \
		install -D -m 0644 systemd/archivist.yml "$(DESTDIR)/etc/archivist/archivist.yml"; \
	fi
	@echo "next: systemd-sysusers; systemctl daemon-reload; put the credentials in /etc/archivist; systemctl enable --now archivist (see systemd/README.md)"

# Removes what install put in place except /etc/archivist and /var/lib/archivist (the journal):
# configuration and records outlive the program.
uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/archivist" \
	      "$(DESTDIR)$(ARCHIVIST_UNITDIR)/archivist.service" \
	      "$(DESTDIR)$(ARCHIVIST_SYSUSERSDIR)/archivist.conf" \
	      "$(DESTDIR)$(ARCHIVIST_DOCDIR)/README.md" \
	      "$(DESTDIR)$(ARCHIVIST_DOCDIR)/systemd.md" \
	      "$(DESTDIR)$(ARCHIVIST_DOCDIR)/archivist.yml.example"
	rmdir "$(DESTDIR)$(ARCHIVIST_DOCDIR)" 2>/dev/null || true

# The Debian package (systemd/deb/nfpm.yaml): a static binary, the unit, the sysusers.d entry,
# /etc/archivist/archivist.yml as a conffile and the docs, into DEB_DIR. nfpm runs with
# `go run` at a pinned version, so it stays out of the daemon's go.mod. DEB_VERSION is the
# tag (v0.1.0 -> 0.1.0) on a tagged commit, else a pre-release of 0.1.0 naming the commit.
# `make test-deb` builds it, installs it into a scratch root with dpkg and runs the binary.
NFPM           ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DEB_DIR        ?= dist
DEB_ARCH       ?= $(shell $(GO) env GOARCH)
DEB_VERSION    ?= $(shell v=$$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null | sed 's/^v//'); \
	[ -n "$$v" ] && echo "$$v" || echo "0.1.0~git$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
DEB_MAINTAINER ?= The archivist authors <maintainers@archivist.invalid>
DEB_BINARY     ?= bin/deb/archivist

.PHONY: deb test-deb

deb:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_ARCH) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o "$(DEB_BINARY)" ./cmd/archivist
	@mkdir -p "$(DEB_DIR)"
	DEB_VERSION='$(DEB_VERSION)' DEB_ARCH='$(DEB_ARCH)' DEB_MAINTAINER='$(DEB_MAINTAINER)' DEB_BINARY='$(DEB_BINARY)' \
		$(NFPM) package --config systemd/deb/nfpm.yaml --packager deb --target "$(DEB_DIR)/"

test-deb:
	$(GO) test -count=1 -run '^TestDebPackage$$' -v ./systemd/

# Benchmarks (docs/benchmarks.md); never part of `make test`. First the Go benchmarks of the
# hot pieces (journal commits, hashing and MIME detection, fileKeys, event encoding), then
# archivist-bench: the real binary against the in-process sandbox on loopback, each figure
# next to a raw baseline measured in the same run. Full size takes several minutes and a few
# GB in $TMPDIR. BENCHFLAGS passes flags to archivist-bench, e.g. BENCHFLAGS="--only rescan".
BENCHPKGS  := ./journal/ ./archive/ ./archive/filekey/ ./archive/globalrelay/
BENCHTIME  ?= 1s
BENCHFLAGS ?=

.PHONY: bench bench-quick bench-scale

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) $(BENCHPKGS)
	$(GO) run ./cmd/archivist-bench $(BENCHFLAGS)

# The same at a small size, to check the harness in about a minute; its ratios are not the
# ones to judge by (the settle time dominates short runs).
bench-quick:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=20x $(BENCHPKGS)
	$(GO) run ./cmd/archivist-bench --rounds 1 --files 500 --big 64MiB --latency-files 20 --latency-interval 100ms \
		--rescan-files 5000 --journal-records 50000 --slack-messages 20000 --slack-channels 20 --slack-files 20 \
		--chat-messages 5000 $(BENCHFLAGS)

# Cost as the years pass: 1,000,000 archived files in the tree and the journal (about 4 GB of
# small files and 1M inodes in $$TMPDIR; SCALEFILES to change): start-up, full rescans, idle
# memory, `archivist status`, journal bytes per file. Takes several minutes.
SCALEFILES ?= 1000000
bench-scale:
	$(GO) run ./cmd/archivist-bench --only scale --scale-files $(SCALEFILES) $(BENCHFLAGS)

# The status page in a real headless Chromium (Debian's chromium package, installed here when
# missing): every page rendered and checked, a screenshot of each kept in ARTIFACTS.
ARTIFACTS ?= $(CURDIR)/var/artifacts
.PHONY: test-browser
test-browser:
	bash .ci/install-packages chromium fonts-dejavu-core
	ARCHIVIST_CHROMIUM="$$(command -v chromium)" ARCHIVIST_ARTIFACTS="$(ARTIFACTS)" \
		$(GO) test -count=1 -run '^TestBrowser$$' -v ./cmd/archivist/statuspage/

# Fuzzing of the transcript parsers and of the journal's record decoding (their seed corpora
# run in make test as ordinary tests). FUZZTIME per target.
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	for target in FuzzNative FuzzGenesys FuzzJSON; do \
		$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./archive/transcript/ || exit 1; \
	done
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRecord$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./journal/

# The unit under a real systemd (systemd/README.md, "The real systemd test"): boots systemd as
# PID 1 in a container (systemd-nspawn) on a minimal Debian root, installs the .deb there and
# checks start (Type=notify), LoadCredential=, archiving into the sandbox on the host's
# loopback, a good and a bad reload, the watchdog and the stop. Needs root; not part of
# make test. ARCHIVIST_SYSTEMD_INSTALL=make installs with make install instead of the .deb.
.PHONY: test-systemd
test-systemd:
	bash .ci/install-packages systemd-container mmdebstrap
	MAKE='$(MAKE)' GO='$(GO)' ARCHIVIST_SYSTEMD_INSTALL='$(ARCHIVIST_SYSTEMD_INSTALL)' \
	ARCHIVIST_SYSTEMD_CACHE='$(ARCHIVIST_SYSTEMD_CACHE)' ARCHIVIST_SYSTEMD_KEEP='$(ARCHIVIST_SYSTEMD_KEEP)' \
		timeout --foreground --signal=TERM --kill-after=60 900 bash systemd/test-systemd.sh
