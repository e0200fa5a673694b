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

.PHONY: serve test build test-unit test-interop test-with-postgres deps deps-test validate clean

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

# With LATCHKEY_TEST_POSTGRES_URL set, the store suites run again on their own against PostgreSQL: run alongside
# everything else, their server load on two cores made the timing-bound HTTP tests miss their bounds.
test-unit:
	env -u LATCHKEY_TEST_POSTGRES_URL $(SWIFT) test --skip-build
	@if [ -n "$$LATCHKEY_TEST_POSTGRES_URL" ]; then echo "store suites on SQLite and PostgreSQL:"; \
	  $(SWIFT) test --skip-build --filter LatchkeyStoreTests; fi

test-interop:
	cd Tests/Interop && LATCHKEY_BIN=$(CURDIR)/.build/debug/latchkey $(PYTHON) -m pytest -q -p no:cacheprovider

validate: build
	$(BIN) providers validate providers/

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
