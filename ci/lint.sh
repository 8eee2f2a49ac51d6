#!/usr/bin/env bash
# Static checks: clippy (pedantic, from the workspace lints) on the library crates with
# warnings denied, ruff on the Python code, and stubtest on the native module's stubs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy --manifest-path native/Cargo.toml -p dicodec-core -p dicodec-python --lib -- -D warnings
python -m ruff check python tests benchmarks
python -m mypy.stubtest dicodec._native
