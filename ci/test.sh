#!/usr/bin/env bash
# Install dicodec with its test extras, then run every test: the Rust core's (cargo test)
# and the Python package's (pytest). This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check ".[test]"
cargo test --manifest-path native/Cargo.toml --release
python -m mypy.stubtest dicodec._native
python -m pytest
# The benchmark harness in its quick mode: proves it works (no timing is asserted).
bash ci/bench.sh
