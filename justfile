# Scrollr realtime. `just dev` brings the system up; `just test` runs every check and test.
set shell := ["bash", "-euo", "pipefail", "-c"]
export PATH := justfile_directory() + "/.venv/bin:" + env_var("PATH")

default: dev

# Install what is missing (Debian packages as root, .venv, node_modules).
bootstrap:
    ./scripts/bootstrap

# Start the whole system on embedded defaults and print where to look.
dev: bootstrap
    scrollr-dev

# Lint, type-check and run the whole test suite.
test: bootstrap lint
    pytest

# ruff (lint + format) and mypy on Python.
lint:
    ruff check .
    ruff format --check .
    mypy

# Format the code in place.
fmt:
    ruff format .
    ruff check --fix .
