#!/usr/bin/env bash
# Install dicodec with its test extras, then run every test: the Rust core's (cargo test),
# the static checks (ci/lint.sh), the Python package's (pytest) and the benchmark harness's
# quick mode. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check ".[test]"
# Console scripts of the extras (cmake, which the Rust tests' libjpeg-turbo build needs) on PATH.
PATH="$(python -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
cargo test --manifest-path native/Cargo.toml --release
bash ci/lint.sh
python -m pytest
# The benchmark harness in its quick mode: proves it works (no timing is asserted).
bash ci/bench.sh
