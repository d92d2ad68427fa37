#!/usr/bin/env bash
# Prepares .gpudeps/ for a machine without a package registry (the lent GPU machine): the
# libraries lib/ and its tests need beyond a C++ compiler, CUDA and a LibTorch, as files
# extracted from Debian 12 packages. Run here (Debian, with apt), once; device_check.sh uses
# them there. .gpudeps/ is ignored by git (.git/info/exclude) and travels as a carried path.
#   root/     the packages' files (headers, pkg-config files, static gtest)
#   lib/      the shared libraries to run with (LD_LIBRARY_PATH): FFTW, GLib, pkgconf's own
#   bin/pkg-config  pkgconf, reading only root/'s .pc files with root/ as its sysroot
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
deps=.gpudeps
grep -qx "/$deps/" .git/info/exclude 2>/dev/null || echo "/$deps/" >> .git/info/exclude

packages=(libfftw3-dev libfftw3-double3 libglib2.0-dev libglib2.0-0 libpcre2-dev
          nlohmann-json3-dev libgtest-dev pkgconf-bin libpkgconf3)
rm -rf "$deps" && mkdir -p "$deps/debs" "$deps/root" "$deps/lib" "$deps/bin"
(cd "$deps/debs" && apt-get download "${packages[@]}")
for deb in "$deps"/debs/*.deb; do dpkg -x "$deb" "$deps/root"; done
rm -rf "$deps/debs"

multiarch=usr/lib/x86_64-linux-gnu
for lib in libfftw3.so.3 libglib-2.0.so.0 libpkgconf.so.3; do
  cp -L "$deps/root/$multiarch/$lib" "$deps/lib/"
done
# Only what a build reads: no documentation, no static libraries other than gtest's.
rm -rf "$deps/root/usr/share/doc" "$deps/root/usr/share/man" "$deps/root/usr/share/info"
find "$deps/root" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' -delete
find "$deps/root" -name 'libfftw3[flq]*' -delete
find "$deps/root" -name 'libpcre2-[13]*' -delete

cat > "$deps/bin/pkg-config" <<'SH'
#!/bin/sh
deps=$(cd "$(dirname "$0")/.." && pwd)
export PKG_CONFIG_SYSROOT_DIR="$deps/root"
export PKG_CONFIG_LIBDIR="$deps/root/usr/lib/x86_64-linux-gnu/pkgconfig:$deps/root/usr/share/pkgconfig"
export LD_LIBRARY_PATH="$deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$deps/root/usr/bin/pkgconf" "$@"
SH
chmod +x "$deps/bin/pkg-config"
echo "fetch_deps: $(du -sh "$deps" | cut -f1) in $deps"
