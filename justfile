# Scrollr realtime. `just dev` brings the system up; `just test` runs every check and test.
set shell := ["bash", "-euo", "pipefail", "-c"]
export PATH := justfile_directory() + "/.venv/bin:" + justfile_directory() + "/node_modules/.bin:" + env_var("PATH")

default: dev

# Install what is missing (Debian packages as root, .venv, node_modules).
bootstrap:
    ./scripts/bootstrap

# Build the dashboard, its SharedWorker and the extension with esbuild.
web: bootstrap
    node web/build.mjs

# Start the whole system on embedded defaults and print where to look (it builds the extension for
# the port it uses). The port and DATABASE_URL are checked before anything is built, so a second
# `just dev` on a busy port leaves the running one's dashboard and extension alone.
dev: bootstrap
    scrollr-dev --preflight
    node web/build.mjs
    exec scrollr-dev

# Lint, type-check and run the whole test suite.
test: web lint
    npm test
    pytest

# The fast layer: lint, node tests and in-process Python tests (no servers, browsers or benchmarks).
test-fast: web lint
    npm test
    pytest -m unit

# ruff (lint + format) and mypy on Python; tsc on TypeScript.
lint:
    ruff check .
    ruff format --check .
    mypy
    tsc --noEmit -p tsconfig.json

# Renew requirements.lock (hashed) from pyproject.toml's ranges; bootstrap installs exactly it.
lock: bootstrap
    pip-compile -q --extra dev --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# Regenerate web/shared/tables.ts from the relay's table registry (services/relay/scrollr_relay/tables.py).
tables: bootstrap
    python -m scrollr_relay.tables > web/shared/tables.ts

# Format the code in place.
fmt:
    ruff format .
    ruff check --fix .

# Fan-out benchmark: relay vs nginx+nchan on the same loads, in one run (prints a table).
bench: bootstrap
    python bench/run.py

# Idle commit-to-relay latency of the change emitter.
bench-cdc: bootstrap
    python bench/cdc_latency.py

# What each Redis topology costs a publish (and what WAIT for a replica would add).
bench-bus: bootstrap
    python bench/bus_topologies.py
