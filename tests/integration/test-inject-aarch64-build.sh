#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The aarch64 half of the injector (daemon/helpers/inject.c behind __aarch64__) cannot run here; this
# at least compiles it, and the other target/inject files, for aarch64 with the project's
# warnings as errors, so it does not rot. Needs clang and the arm64 cross libc headers
# (Debian: libc6-dev-arm64-cross); skipped otherwise.
set -euo pipefail

src=${MLOCKD_SOURCE_DIR:?}
build=${MLOCKD_BUILD_DIR:?}
sysinc=/usr/aarch64-linux-gnu/include

command -v clang >/dev/null || { echo "skipping: clang not installed"; exit 77; }
[[ -f $sysinc/sys/ptrace.h ]] || {
        echo "skipping: no aarch64 libc headers in $sysinc (apt-get install libc6-dev-arm64-cross)"
        exit 77
}

tmp=$(mktemp -d /tmp/mlockd-test-inject-aarch64.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

flags=(--target=aarch64-linux-gnu -isystem "$sysinc" -std=gnu11 -D_GNU_SOURCE
        -I"$src" -I"$build" -O2 -Werror -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes
        -Wstrict-prototypes -Wmissing-declarations -Wpointer-arith -Wundef -Wwrite-strings
        -Wnull-dereference -Wimplicit-fallthrough -Wvla -Wno-unused-parameter
        -Wno-missing-field-initializers)
for f in daemon/helpers/inject.c daemon/helpers/inject-job.c daemon/core/target.c; do
        clang "${flags[@]}" -c "$src/$f" -o "$tmp/$(basename "$f").o"
        echo "compiled $f for aarch64"
done
# The aarch64 branch must really have been the one compiled (not the unsupported-architecture
# stub): its static helpers exist in an unoptimised build.
if command -v llvm-nm >/dev/null; then
        clang "${flags[@]}" -O0 -c "$src/daemon/helpers/inject.c" -o "$tmp/inject-O0.o"
        llvm-nm "$tmp/inject-O0.o" | grep -q ' t regs_prepare$' ||
                { echo "FAIL: the aarch64 register code was not compiled"; exit 1; }
fi
if command -v file >/dev/null; then
        file "$tmp/inject.c.o" | grep -q 'ARM aarch64' || { echo "FAIL: not an aarch64 object"; exit 1; }
fi
echo OK
