#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 60), seeded from the reference data in
# ../shared/data and the bundled samples. Needs cargo-fuzz (installed here if missing); the one
# stable toolchain is asked for nightly flags through RUSTC_BOOTSTRAP, as cargo-fuzz needs them.
# Crashes land in native/fuzz/artifacts/<target>/: add each as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
# Sanitizer flags differ from a normal build: keep their artifacts apart.
export CARGO_TARGET_DIR="$PWD/native/fuzz/target"
# The workspace release profile uses fat LTO, which drops the sanitizer coverage symbols.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

corpus_root="native/fuzz/corpus"
seed() {  # seed <target> <find-pattern...>
    local target="$1"; shift
    mkdir -p "$corpus_root/$target"
    for dir in ../shared/data python/dicodec/samples; do
        [ -d "$dir" ] && find "$dir" -type f "$@" -size -256k -exec cp -n {} "$corpus_root/$target/" \; || true
    done
}
seed scan_file -name '*.dcm'
seed pixel_pipeline -name '*.dcm'
seed decode_rle -path '*rle*'
seed decode_jpeg_lossless -path '*jpeg_lossless*'

cd native/fuzz
for target in scan_file pixel_pipeline decode_rle decode_jpeg_lossless; do
    echo "== $target: ${seconds}s"
    # The scanner's paths all show within a file's first 64 KiB; shorter inputs run many times faster.
    max_len=()
    [ "$target" = scan_file ] && max_len=(-max_len=65536)
    cargo fuzz run "$target" "../../$corpus_root/$target" -- "${max_len[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1
done
