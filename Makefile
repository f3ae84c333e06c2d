# Cinema API. `make dev` runs the whole API locally; `make test` is everything CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV       := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)
# Builds never need a database: query metadata is committed in .sqlx/.
export SQLX_OFFLINE := true

PG_SERVER         ?= postgres://postgres@127.0.0.1:5432
DATABASE_URL      ?= $(PG_SERVER)/cinema
DEV_PORT          ?= 9000
DEV_ADMIN_USER    ?= admin
DEV_ADMIN_PASSWORD ?= Cinema\#Admin1
# Local mode only: deployed functions read their key from Secrets Manager.
DEV_JWT_SECRET    ?= local-development-signing-key-never-used-in-aws
EMULATOR_PORT     ?= 5005
EMULATOR_ENV      := AWS_ENDPOINT_URL=http://127.0.0.1:$(EMULATOR_PORT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
# The local Stripe stand-in (localstripe, completed with Stripe.js's card confirmation:
# tests/support/stripe_stand_in.py): make dev sells online against it, make test pays with it.
# Any sk_ key authenticates there; the webhook secret is the one it signs events with.
STRIPE_PORT       ?= 8420
STRIPE_ENV        := STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT)
STRIPE_JS_URL     := http://127.0.0.1:$(STRIPE_PORT)/js.stripe.com/v3/completed.js
DEV_STRIPE_KEYS   := STRIPE_SECRET_KEY=sk_test_local_development,STRIPE_WEBHOOK_SECRET=whsec_local_development,STRIPE_PUBLISHABLE_KEY=pk_test_local_development,STRIPE_JS_URL=$(STRIPE_JS_URL)
# Every function, from the table of functions (xtask/src/table.rs, written out by cargo xtask generate).
FUNCTIONS         := $(shell python3 -c 'import json; print(*(f["name"] for f in json.load(open("functions.json"))))')

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- tools

PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check

# cargo-lambda and zig first, at the versions requirements-dev.txt pins: the arm64 build needs
# only them, and starts while the rest installs.
$(VENV)/.lambda-tools: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PIP) $$(grep -E '^(cargo-lambda|ziglang)==' requirements-dev.txt)
	touch $@

$(VENV)/.installed: $(VENV)/.lambda-tools
	$(PIP) -r requirements-dev.txt
	touch $@

.PHONY: lambda-tools
lambda-tools: $(VENV)/.lambda-tools

.PHONY: tools
tools: $(VENV)/.installed ## Install cargo-lambda, zig, SAM, cfn-lint, moto and localstripe into .venv

# Starts the Stripe stand-in on 127.0.0.1:$(STRIPE_PORT) unless it answers there already; its own
# session, its pid in target/localstripe.pid.
.PHONY: stripe-stand-in
stripe-stand-in: tools
	@mkdir -p target; \
	curl -s -o /dev/null http://127.0.0.1:$(STRIPE_PORT)/js.stripe.com/v3/ || { \
	  setsid $(VENV)/bin/python -m tests.support.stripe_stand_in --port $(STRIPE_PORT) > target/localstripe.log 2>&1 & echo $$! > target/localstripe.pid; \
	  for _ in $$(seq 100); do curl -s -o /dev/null http://127.0.0.1:$(STRIPE_PORT)/js.stripe.com/v3/ && break; sleep 0.2; done; \
	  curl -s -o /dev/null http://127.0.0.1:$(STRIPE_PORT)/js.stripe.com/v3/ || { cat target/localstripe.log; echo "FAIL localstripe did not start"; exit 1; }; }

# ---------------------------------------------------------------- local development

# The watch router starts each function with `cargo run --bin <name>`, which resolves
# features for the whole workspace: `--workspace` here (and `--bin` for migrate) builds exactly
# those artefacts, so nothing is compiled again when a function starts.
.PHONY: dev
dev: ## Run the whole API locally at http://127.0.0.1:9000 (migrates and creates a dev admin)
	@mkdir -p target; \
	$(MAKE) --no-print-directory tools > target/tools.log 2>&1 & tools=$$!; \
	url=$$(DATABASE_URL='$(DATABASE_URL)' scripts/dev-db.sh); \
	echo "Building every function (one cargo invocation; each answers its first request without compiling)"; \
	cargo build --workspace --bins; \
	wait $$tools || { cat target/tools.log; echo "FAIL make tools"; exit 1; }; \
	$(MAKE) --no-print-directory migrate DATABASE_URL="$$url"; \
	rm -f target/localstripe.pid; $(MAKE) --no-print-directory stripe-stand-in; \
	trap 'kill $$(cat target/localstripe.pid 2>/dev/null) 2>/dev/null || true' EXIT; \
	curl -sf -o /dev/null -X POST http://127.0.0.1:$(STRIPE_PORT)/_config/webhooks/cinema \
	  -d url=http://127.0.0.1:$(DEV_PORT)/payments/stripe -d secret=whsec_local_development; \
	echo; \
	echo "  Cinema API   http://127.0.0.1:$(DEV_PORT)"; \
	echo "  Database     $$(echo "$$url" | sed -E 's#//([^:/@]+):[^@]*@#//\1:***@#')"; \
	echo "  Dev admin    $(DEV_ADMIN_USER) / $(DEV_ADMIN_PASSWORD)"; \
	echo "  Sign in      curl -s -X POST http://127.0.0.1:$(DEV_PORT)/auth/login -d 'username=$(DEV_ADMIN_USER)&password=$(DEV_ADMIN_PASSWORD)'"; \
	echo "  Shop         http://127.0.0.1:$(DEV_PORT)/docs/shop (card 4242 4242 4242 4242; Stripe stand-in on :$(STRIPE_PORT))"; \
	echo "  (a function rebuilds on its next request after its code changes)"; \
	echo; \
	cargo lambda watch -A 127.0.0.1 -P $(DEV_PORT) \
	  --env-var "DATABASE_URL=$$url,JWT_SECRET=$(DEV_JWT_SECRET),RUST_LOG=info,DB_STATEMENT_TIMEOUT_MS=4000,DB_LOCK_TIMEOUT_MS=2000,$(DEV_STRIPE_KEYS),$(STRIPE_ENV)"

.PHONY: migrate
migrate: ## Apply migrations to $DATABASE_URL and create the dev admin if no admin exists
	DATABASE_URL='$(DATABASE_URL)' FIRST_ADMIN_USERNAME='$(DEV_ADMIN_USER)' FIRST_ADMIN_PASSWORD='$(DEV_ADMIN_PASSWORD)' \
	  cargo run --quiet --bin migrate

# ---------------------------------------------------------------- tests

TEST_DB_SERVER := $(PG_SERVER)

.PHONY: test
test: lambda-tools ## Everything CI runs: unit, router, contract, emulator, AWS fidelity, end-to-end, template and .sqlx checks
	@server=$$(DATABASE_URL='$(TEST_DB_SERVER)/cinema_test' scripts/dev-db.sh); server=$${server%/*}; \
	$(MAKE) --no-print-directory test-all TEST_DB_SERVER="$$server"

.PHONY: test-all
# The arm64 release build is the longest step and needs no database and only cargo-lambda and
# zig. It starts first and runs at the lowest CPU priority (nice 19) through the tools' install,
# the static checks and the tests, using whatever CPU they leave idle (a test waiting on
# PostgreSQL, on a process starting, on the network), so that they run almost as on a quiet
# machine; the AWS-fidelity checks, which run its packages, come last. Its own session (setsid,
# so that it can be stopped as a group) is its own scheduler autogroup where the kernel has them,
# and a nice value counts only inside its autogroup: the autogroup's is set to 19 too, or the
# build would take a core from the tests. The rest of the tools install while clippy compiles,
# which needs none of them.
test-all: lambda-tools
	@mkdir -p target; \
	rm -f target/package.rc; \
	setsid nice -n 19 bash -c 'echo 19 > /proc/self/autogroup 2>/dev/null || true; \
	  $(MAKE) --no-print-directory build > target/package.log 2>&1; echo $$? > target/package.rc' & \
	package=$$!; \
	rm -f target/localstripe.pid; \
	trap 'kill -- -$$package 2>/dev/null || true; kill $$(cat target/moto.pid target/localstripe.pid 2>/dev/null) 2>/dev/null || true' EXIT; \
	echo "== Lambda packages (release, arm64): building in the background at low priority (target/package.log)"; \
	$(MAKE) --no-print-directory tools > target/tools.log 2>&1 & tools=$$!; \
	$(MAKE) --no-print-directory fmt-check sqlx-check PG_SERVER='$(TEST_DB_SERVER)'; \
	$(MAKE) --no-print-directory generated-check; \
	wait $$tools || { cat target/tools.log; echo "FAIL make tools"; exit 1; }; \
	$(MAKE) --no-print-directory py-check template-check openapi-check browser-tools; \
	moto_server -H 127.0.0.1 -p $(EMULATOR_PORT) > target/moto.log 2>&1 & echo $$! > target/moto.pid; \
	for _ in $$(seq 50); do curl -s -o /dev/null http://127.0.0.1:$(EMULATOR_PORT)/ && break; sleep 0.2; done; \
	$(MAKE) --no-print-directory stripe-stand-in; \
	echo "== cargo test (a fresh database per test)"; \
	$(EMULATOR_ENV) $(STRIPE_ENV) DATABASE_URL='$(TEST_DB_SERVER)/cinema_test' cargo test --workspace -- --include-ignored; \
	echo "== end to end"; \
	$(MAKE) --no-print-directory e2e-run TEST_DB_SERVER='$(TEST_DB_SERVER)'; \
	echo "== benchmark harness (smoke run)"; \
	$(MAKE) --no-print-directory bench-smoke PG_SERVER='$(TEST_DB_SERVER)'; \
	echo "== Lambda packages (release, arm64): waiting for the build"; \
	wait $$package || true; \
	if [ "$$(cat target/package.rc 2>/dev/null)" != 0 ]; then tail -n 60 target/package.log; echo "FAIL make build"; exit 1; fi; \
	grep -E '^ *Finished' target/package.log | tail -n 1; \
	$(MAKE) --no-print-directory layout; \
	echo "== AWS fidelity: the packages under qemu in every deployment mode, and a password rotation"; \
	$(MAKE) --no-print-directory aws-fidelity PG_SERVER='$(TEST_DB_SERVER)'

# Headless Chromium (Debian's) and Playwright's driver for the Swagger UI check.
.PHONY: browser-tools
browser-tools:
	@command -v chromium >/dev/null || { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; }
	@[ -d tests/browser/node_modules/playwright-core ] || npm ci --prefix tests/browser --no-audit --no-fund --silent

.PHONY: e2e-run
e2e-run:
	@psql '$(TEST_DB_SERVER)/postgres' -qc 'drop database if exists cinema_e2e' -c 'create database cinema_e2e'
	@DATABASE_URL='$(TEST_DB_SERVER)/cinema_e2e' FIRST_ADMIN_USERNAME=e2e_admin FIRST_ADMIN_PASSWORD='E2e#Admin-Pass1' \
	  BCRYPT_COST=10 cargo run --quiet --bin migrate > target/e2e-migrate.json
	@hostport=$${TEST_DB_SERVER#*@}; \
	$(EMULATOR_ENV) $(STRIPE_ENV) STRIPE_JS_URL=$(STRIPE_JS_URL) DATABASE_HOST=$${hostport%:*} DATABASE_PORT=$${hostport#*:} DATABASE_NAME=cinema_e2e \
	  ADMIN_USERNAME=e2e_admin ADMIN_PASSWORD='E2e#Admin-Pass1' E2E_LOG=target/e2e/watch.log \
	  $(VENV)/bin/python -m tests.e2e

# The query macros, online against a fresh database holding exactly the schema of migrations/,
# write what they describe of each query into SQLX_OFFLINE_DIR (sqlx's own mechanism, the one
# `cargo sqlx prepare` drives): sqlx-prepare makes that directory .sqlx/; sqlx-check compiles
# clippy's pass that way and requires .sqlx/ to be identical, so that one compilation both lints
# and checks the committed query metadata. The macros cannot tell cargo that they read a
# database, so the workspace's sources are touched first to make them run again. The schema is
# applied with psql, one transaction per file as the migrate function applies it, rather than by
# the migrate function: that is compiled from .sqlx/, which may be the very thing out of date.
SQLX_QUERIES := $(CURDIR)/target/sqlx-queries

.PHONY: sqlx-check
sqlx-check: ## Clippy (warnings are errors) with every query described by a fresh database; .sqlx/ must match
	@$(MAKE) --no-print-directory sqlx-online CARGO_ARGS='clippy --workspace --all-targets -- -D warnings'
	@diff -r .sqlx $(SQLX_QUERIES) || { echo "FAIL .sqlx/ is not what the queries describe: run make sqlx-prepare"; exit 1; }

.PHONY: sqlx-prepare
sqlx-prepare: ## Regenerate .sqlx/ after changing a query
	@$(MAKE) --no-print-directory sqlx-online CARGO_ARGS='check --workspace --all-targets'
	rm -rf .sqlx && cp -r $(SQLX_QUERIES) .sqlx

.PHONY: sqlx-online
sqlx-online:
	@url=$$(DATABASE_URL='$(PG_SERVER)/cinema_sqlx' scripts/dev-db.sh); server=$${url%/*}; \
	psql "$$server/postgres" -qc 'drop database if exists cinema_sqlx' -c 'create database cinema_sqlx'; \
	for migration in migrations/*.sql; do psql "$$url" -q -v ON_ERROR_STOP=1 -1 -f "$$migration" >/dev/null; done; \
	rm -rf $(SQLX_QUERIES) && mkdir -p $(SQLX_QUERIES); \
	find shared functions bench -name '*.rs' -exec touch {} +; \
	DATABASE_URL="$$url" SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$(SQLX_QUERIES) cargo $(CARGO_ARGS)

# The arm64 packages under qemu-user-static through a Lambda Runtime API emulator, with the
# rendered template's environment in every deployment mode, and password rotation while an
# instance is warm (tests/aws/README.md). Needs `make package` (or `make build`) first.
.PHONY: aws-fidelity
aws-fidelity: tools ## The arm64 packages answering real events in every deployment mode, and rotation (after make build)
	@PG_SERVER='$(PG_SERVER)' $(VENV)/bin/python -m tests.aws.functions
	@$(VENV)/bin/python -m tests.aws.rotation
	@$(VENV)/bin/python -m tests.aws.first_deploy

# ---------------------------------------------------------------- quality

.PHONY: fmt-check
fmt-check:
	cargo fmt --all --check

# What is derived from the table of functions (xtask/src/table.rs) and the functions' routes:
# the template's functions, the local router, README's table of routes, functions.json.
.PHONY: generate
generate: ## Write everything derived from the table of functions and their routes (after adding a function or route)
	cargo xtask generate

.PHONY: generated-check
generated-check:
	cargo xtask check

# The inner loop: what needs neither the arm64 build, the AWS tools nor a browser.
.PHONY: check
check: ## fmt, the generated files, clippy (warnings are errors), unit and router tests against $(PG_SERVER) and the Stripe stand-in: a few minutes
	@server=$$(DATABASE_URL='$(PG_SERVER)/cinema_test' scripts/dev-db.sh); server=$${server%/*}; \
	rm -f target/localstripe.pid; trap 'kill $$(cat target/localstripe.pid 2>/dev/null) 2>/dev/null || true' EXIT; \
	$(MAKE) --no-print-directory fmt-check generated-check clippy stripe-stand-in && \
	$(STRIPE_ENV) DATABASE_URL="$$server/cinema_test" cargo test --workspace

# The test, benchmark and deployment scripts: no unused imports or names, no undefined ones.
.PHONY: py-check
py-check: tools
	$(VENV)/bin/python -m pyflakes scripts tests bench

.PHONY: template-check
# cfn-lint plain, with informational findings, and with the serverless rules (cfn-lint-serverless);
# sam validate; the offline AWS-fidelity checks of every deployment mode (tests/aws/template_test.py,
# against every route the Routers serve, printed by the docs example); and the template
# scripts/sam_package.py lays out, validated in target/sam-dry-run (never .aws-sam/build).
# Commands name a binary or an example, never a package (-p): features then resolve over the
# whole workspace, as for cargo test, and the dependencies are built once.
ROUTES_JSON := target/routes.json
template-check: tools
	cfn-lint template.yaml
	cfn-lint template.yaml -c I
	cfn-lint template.yaml -a cfn_lint_serverless.rules
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template-file template.yaml
	@mkdir -p target
	cargo run -q --example routes > $(ROUTES_JSON).tmp && mv $(ROUTES_JSON).tmp $(ROUTES_JSON)
	ROUTES_JSON=$(ROUTES_JSON) $(VENV)/bin/python -m tests.aws.template_test
	$(VENV)/bin/python -m scripts.sam_package --dry-run > /dev/null
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template-file target/sam-dry-run/template.yaml

# The OpenAPI document as API tooling reads it: Redocly's recommended rules, every warning an
# error (tests/openapi/redocly.yaml); a TypeScript client generated from it (openapi-typescript
# types, openapi-fetch calls) whose flow (tests/openapi/flow.ts) type-checks under tsc --strict,
# compiled to tests/openapi/build/; and a Python client (openapi-python-client, into
# target/clients/python/) whose flow (tests/clients/flow.py) passes mypy --strict with it. The
# end-to-end run runs both flows against the API.
.PHONY: openapi-check
openapi-check: tools
	@mkdir -p target
	cargo run -q --example openapi > target/openapi.json.tmp && mv target/openapi.json.tmp target/openapi.json
	@[ -x tests/openapi/node_modules/.bin/tsc ] || npm ci --prefix tests/openapi --no-audit --no-fund --silent
	tests/openapi/node_modules/.bin/redocly lint --config tests/openapi/redocly.yaml target/openapi.json 2>&1 | grep -v '[║╔╚]'
	tests/openapi/node_modules/.bin/openapi-typescript target/openapi.json -o tests/openapi/generated/api.d.ts
	tests/openapi/node_modules/.bin/tsc -p tests/openapi/tsconfig.json
	rm -rf target/clients/python
	$(VENV)/bin/openapi-python-client generate --path target/openapi.json --meta none \
	  --output-path target/clients/python/cinema_api_client --config tests/clients/python-client.yaml | grep -iv 'warn' || true
	@[ -f target/clients/python/cinema_api_client/client.py ] || { echo "FAIL the Python client was not generated"; exit 1; }
	MYPYPATH=target/clients/python $(VENV)/bin/mypy --strict --cache-dir target/mypy tests/clients/flow.py target/clients/python/cinema_api_client

.PHONY: lint
lint: fmt-check py-check clippy template-check openapi-check ## rustfmt, pyflakes, clippy (warnings are errors), cfn-lint, sam validate, Redocly, the generated clients type-checked

# The workspace lints (Cargo.toml) hold in CI too: make test runs this.
.PHONY: clippy
clippy:
	cargo clippy --workspace --all-targets -- -D warnings

# ---------------------------------------------------------------- benchmarks

.PHONY: bench
bench: bench-tools ## Every benchmark in one run, each figure next to its limit (BENCHMARKS.md)
	PG_SERVER='$(PG_SERVER)' bench/run.sh

.PHONY: bench-smoke
bench-smoke: bench-tools ## A seconds-long run of every benchmark, so that the harness cannot rot (make test runs it)
	BENCH_SMOKE=1 PG_SERVER='$(PG_SERVER)' bench/run.sh

.PHONY: bench-tools
bench-tools: tools
	@command -v wrk >/dev/null && command -v zip >/dev/null || { apt-get install -y -qq wrk zip >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk zip); }

# ---------------------------------------------------------------- build and deploy

STACK ?= cinema
# The region: REGION if given, else your AWS configuration's (environment or profile), else
# us-east-1. Resolved when a recipe runs, once the tools (boto3, with SAM) are installed.
REGION ?=
AWS_REGION_OF := $(VENV)/bin/python -c 'import boto3; print(boto3.session.Session().region_name or "us-east-1")'

# Template parameters to override, as Key=Value words (make deploy PARAMETERS="AlarmEmail=ops@example.com").
PARAMETERS ?=

.PHONY: migrate-remote
migrate-remote: tools ## Run the deployed migrate function once (stack $STACK), never retried, and print its report
	$(VENV)/bin/python -m scripts.migrate_remote $(STACK) $(or $(REGION),$$($(AWS_REGION_OF)))

.PHONY: build
build: lambda-tools ## Build every function for Lambda (release, arm64) into target/lambda/<function>/
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))

.PHONY: package
package: build ## Lay the arm64 binaries out for sam deploy (.aws-sam/build), as sam build would
	@$(MAKE) --no-print-directory layout

# What make build compiled, laid out (make test builds at low priority, then lays out).
.PHONY: layout
layout: tools
	$(VENV)/bin/python -m scripts.sam_package

# Asks nothing: samconfig.toml holds the answers (stack, bucket, capabilities), the template the
# parameters' defaults.
.PHONY: deploy
deploy: package ## Build once, then sam deploy with samconfig.toml (stack $STACK in $REGION; PARAMETERS="Key=Value ...")
	SAM_CLI_TELEMETRY=0 sam deploy --stack-name $(STACK) --region $(or $(REGION),$$($(AWS_REGION_OF))) --no-confirm-changeset \
	  $(if $(strip $(PARAMETERS)),--parameter-overrides $(PARAMETERS))
