#!/bin/sh
# The test command: installs the dependencies, builds crange twice (normal,
# and with AddressSanitizer + UndefinedBehaviorSanitizer), runs the unit
# tests in both builds, runs each libFuzzer target of tests/fuzz for a short
# time (a third build, with clang), then the end-to-end tests on a real
# libvirtd and QEMU (TCG), each in a private network and mount namespace it
# makes itself.
#
# Usage: sh tests/run.sh      (as root: namespaces, libvirtd, bridges)
# Environment: CRANGE_TEST_E2E=0 skips the end-to-end tests;
# CRANGE_FUZZ_SECONDS sets how long each fuzz target runs (default 20).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/run.sh: run as root (it makes network namespaces and runs libvirtd)" >&2; exit 1; }

sh tests/deps.sh
jobs=$(nproc)

echo "== build"
# Every option the tests need is set here, not taken from the cache: the demo
# command configures the same build/ with the tests off, and a cached
# CRANGE_TESTS=OFF once made this script pass having run nothing.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRANGE_TESTS=ON -DCRANGE_E2E=ON >/dev/null
cmake --build build -j "$jobs"

echo "== build with ASan/UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCRANGE_SANITIZE=ON -DCRANGE_TESTS=ON -DCRANGE_E2E=OFF >/dev/null
cmake --build build-asan -j "$jobs"

echo "== unit tests (ASan/UBSan)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --no-tests=error --output-on-failure -j "$jobs")

echo "== unit tests"
(cd build && ctest -L unit --no-tests=error --output-on-failure -j "$jobs")

echo "== fuzzing (libFuzzer, ${CRANGE_FUZZ_SECONDS:-20} s a target; tests/fuzz)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCRANGE_FUZZ=ON -DCRANGE_TESTS=OFF \
    -DCRANGE_FUZZ_SECONDS="${CRANGE_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j "$jobs"
(cd build-fuzz && ctest -L fuzz --no-tests=error --output-on-failure -j "$jobs")

if [ "${CRANGE_TEST_E2E:-1}" != 0 ]; then
    echo "== end-to-end tests (real libvirtd + QEMU/TCG in private namespaces)"
    (cd build && ctest -L e2e --no-tests=error --output-on-failure)
fi
echo "== all tests passed"
