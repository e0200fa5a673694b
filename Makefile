# Latchkey: two commands for a newcomer on a fresh Debian machine.
#   make serve   installs missing system packages, builds, and starts Latchkey on the embedded default
#   make test    installs what the tests need (system packages, Python peers, Chromium, PostgreSQL), builds, and runs
#                every test; the store suites also run against a throwaway PostgreSQL (.ci/postgres.sh), stopped
#                and removed afterwards, even when tests fail

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
BUILD_CONFIG ?= debug
BIN := .build/$(BUILD_CONFIG)/latchkey

# Debian packages: to build, and the real peers the tests run against.
BUILD_PACKAGES := libcurl4-openssl-dev libsqlite3-dev libssl-dev pkg-config
TEST_PACKAGES := chromium chromium-driver postgresql nginx-light
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test build test-unit test-interop test-with-postgres deps deps-test validate fuzz clean

serve: deps build
	$(BIN) serve

build:
	$(SWIFT) build -c $(BUILD_CONFIG) --product latchkey

test: deps deps-test
	$(SWIFT) build --build-tests
	.ci/postgres.sh run $(MAKE) test-unit test-interop

# The unit tests alone, with the PostgreSQL store suites (needs a build with --build-tests).
test-with-postgres:
	.ci/postgres.sh run $(MAKE) test-unit

# Each test run is watched (.ci/watchdog.sh): one still running after its limit (a run takes about a minute here, the
# interop suite about ten) prints its threads' backtraces and fails, instead of holding CI until CI's own timeout.
UNIT_LIMIT ?= 900
INTEROP_LIMIT ?= 2400

# With LATCHKEY_TEST_POSTGRES_URL set, the store suites run again on their own against PostgreSQL: run alongside
# everything else, their server load on two cores made the timing-bound HTTP tests miss their bounds.
test-unit:
	.ci/watchdog.sh $(UNIT_LIMIT) env -u LATCHKEY_TEST_POSTGRES_URL $(SWIFT) test --skip-build
	@if [ -n "$$LATCHKEY_TEST_POSTGRES_URL" ]; then echo "store suites on SQLite and PostgreSQL:"; \
	  .ci/watchdog.sh $(UNIT_LIMIT) $(SWIFT) test --skip-build --filter LatchkeyStoreTests; fi

# Proxied and tool calls run on the event-loop client by default; the proxy, streaming, tools, MCP, metering and
# refresh suites run again with the proxy on libcurl (LATCHKEY_PROXY_CLIENT=curl), so that both clients keep passing them.
PROXY_SUITES = test_proxy_and_tools.py test_proxy_streaming.py test_mcp.py test_managed_credentials.py test_refresh_and_revoke.py

test-interop:
	cd Tests/Interop && ../../.ci/watchdog.sh $(INTEROP_LIMIT) env LATCHKEY_BIN=$(CURDIR)/.build/debug/latchkey $(PYTHON) -m pytest -q -p no:cacheprovider
	@echo "the proxy's suites again, with proxied calls on libcurl:"
	cd Tests/Interop && ../../.ci/watchdog.sh $(INTEROP_LIMIT) env LATCHKEY_PROXY_CLIENT=curl LATCHKEY_BIN=$(CURDIR)/.build/debug/latchkey $(PYTHON) -m pytest -q -p no:cacheprovider $(PROXY_SUITES)

validate: build
	$(BIN) providers validate providers/

# By hand: libFuzzer on each parser that reads what strangers send (Sources/LatchkeyFuzzing), FUZZ_SECONDS each, from
# the committed corpus (Tests/Fuzz/corpus). New interesting inputs go to .build-fuzz/found; a crash is written to
# Tests/Fuzz/crashes/TARGET/, which `make test` replays from then on (commit it with its fix). Exit 1 when any target
# crashed. FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= manifest proxy-path callback-query token-response json-body webhook-signature owner-reference
fuzz: deps
	$(SWIFT) build --product latchkey-fuzz --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/found/$$t Tests/Fuzz/crashes/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan-suppressions.txt LATCHKEY_FUZZ_TARGET=$$t .build-fuzz/debug/latchkey-fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=Tests/Fuzz/crashes/$$t/ .build-fuzz/found/$$t Tests/Fuzz/corpus/$$t > .build-fuzz/$$t.log 2>&1 \
	    || failed="$$failed $$t"; \
	  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE|ERROR|fuzz finding" .build-fuzz/$$t.log | head -5; \
	done; \
	if [ -n "$$failed" ]; then echo "crashed:$$failed (see .build-fuzz/TARGET.log and Tests/Fuzz/crashes)"; exit 1; fi

# Installs only the Debian packages that are missing (apt-get update runs only when something is).
deps:
	@missing=""; for p in $(BUILD_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

deps-test:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@$(PYTHON) -c "import authlib, flask, selenium, requests, pytest, mcp, yaml, schemathesis" 2>/dev/null || \
	  $(PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt

clean:
	rm -rf .build
