#!/usr/bin/env bash
# libami installs as a usable library: headers, static and shared libraries, a pkg-config file
# and a CMake package. Installs into a temporary prefix and builds two small consumers, one with
# pkg-config and one with find_package(openami), then runs them.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$AMI_BUILD_DIR" --prefix "$tmp/prefix" >/dev/null

cat >"$tmp/consumer.c" <<'C'
#include <ami/ami.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    if (strcmp(ami_version(), AMI_VERSION_STRING) != 0)
        return 1;
    if (ami_crc16_x25("123456789", 9) != 0x906E)
        return 2;
    puts(ami_strerror(AMI_E_TRUNCATED));
    return 0;
}
C

# Consumers of a sanitizer build need the same compiler and the sanitizer runtime.
cc=${AMI_CC:-cc}
san=${AMI_SANITIZE:+-fsanitize=$AMI_SANITIZE}

libdir=$(find "$tmp/prefix" -name ami.pc -printf '%h\n' | head -n1)
test -n "$libdir" || { echo "install: no ami.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$libdir"
# shellcheck disable=SC2046
"$cc" $san -o "$tmp/pc_consumer" "$tmp/consumer.c" $(pkg-config --cflags --libs ami) \
    -Wl,-rpath,"$(pkg-config --variable=libdir ami)"
test "$("$tmp/pc_consumer")" = "input truncated"

mkdir -p "$tmp/cm"
cp "$tmp/consumer.c" "$tmp/cm/"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(openami REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE openami::ami)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
test "$(LD_LIBRARY_PATH="$libdir/.." "$tmp/cm/build/consumer")" = "input truncated"
echo "install: pkg-config and CMake consumers built and ran"
