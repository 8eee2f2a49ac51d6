#!/usr/bin/env bash
# Prove that the benchmark harness works: the quick comparison (a small corpus, short budgets,
# no assertion on any timing), the quick thread-scaling run, and the pytest-benchmark suites
# run once each as plain tests.
# Peers are optional: one that does not install is reported absent, and this still exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

# The requirements of the installed dicodec's `bench` extra, one per line.
bench_requirements() {
    python -c '
from importlib.metadata import requires
for line in requires("dicodec") or []:
    requirement, _, marker = line.partition(";")
    if "extra == \"bench\"" in marker.replace("'"'"'", "\""):
        print(requirement.strip())'
}

pip_install() {
    python -m pip install --quiet --disable-pip-version-check "$@"
}

if ! pip_install ".[bench]"; then
    # A peer without a wheel for this platform must not cost the others: one by one.
    pip_install .
    for requirement in $(bench_requirements); do
        pip_install "$requirement" \
            || echo "ci/bench.sh: $requirement did not install; the harness will report it absent" >&2
    done
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
python benchmarks/compare.py --quick --out "$out"
python benchmarks/scaling.py --quick --out "$out"
python -m pytest benchmarks/ --benchmark-disable -q
