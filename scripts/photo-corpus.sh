#!/usr/bin/env bash
# Real photographs of barcodes for the decoder tests and bench/camera.py (issue 13), installed like every other
# dependency: from the package registries this project uses, pinned by SHA-256, unpacked into $1 (default
# .venv/photos). Nothing of it is committed; tests/data/photos/README.md says what each set is and its licence.
#   zxing-blackbox/  ZXing's QR "blackbox" photos with their expected text (npm: zxing-typescript 0.1.2, Apache-2.0)
#   zxing-benchmark/ ZXing's Android camera frames, 1D and 2D (Debian: zxing 3.4.1+ds source, Apache-2.0)
set -euo pipefail
dest=${1:-.venv/photos}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() {  # url sha256 file
    curl -fsSL --retry 3 -m 300 -o "$tmp/$3" "$1"
    echo "$2  $tmp/$3" | sha256sum -c --quiet - || { echo "photo corpus: $3 does not match its SHA-256" >&2; exit 1; }
}

fetch https://registry.npmjs.org/zxing-typescript/-/zxing-typescript-0.1.2.tgz \
      e9c9dd0000be5d0bc276fd9e64a314678adf3a3908490df693dde37231abf88f zxing-typescript.tgz
fetch http://deb.debian.org/debian/pool/main/z/zxing/zxing_3.4.1+ds.orig.tar.xz \
      94add6dafaf68a57de0e16d3ea7028023449adac60312f5876eb1d09f27846ff zxing-orig.tar.xz

rm -rf "$dest.new" && mkdir -p "$dest.new/zxing-blackbox" "$dest.new/zxing-benchmark"
tar -xzf "$tmp/zxing-typescript.tgz" -C "$tmp" package/LICENSE package/src/test/core/resources/blackbox
cp -r "$tmp"/package/src/test/core/resources/blackbox/qrcode-* "$dest.new/zxing-blackbox/"
cp "$tmp/package/LICENSE" "$dest.new/zxing-blackbox/LICENSE"
tar -xJf "$tmp/zxing-orig.tar.xz" -C "$tmp" zxing-zxing-3.4.1/LICENSE zxing-zxing-3.4.1/NOTICE \
    zxing-zxing-3.4.1/core/src/test/resources/benchmark
cp -r "$tmp"/zxing-zxing-3.4.1/core/src/test/resources/benchmark/android-* "$dest.new/zxing-benchmark/"
cp "$tmp"/zxing-zxing-3.4.1/{LICENSE,NOTICE} "$dest.new/zxing-benchmark/"
rm -rf "$dest" && mv "$dest.new" "$dest"
echo "photo corpus: $(find "$dest" -name '*.png' -o -name '*.jpg' | wc -l) photographs in $dest"
