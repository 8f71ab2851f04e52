#!/bin/sh
# The e2e.images fixture: builds the images the end-to-end tests boot
# (tiny, tiny-disk, debian-12) once, into the store given as $1/images, so
# that each test starts from them (lib.sh, CRANGE_TEST_IMAGES) instead of
# building them again. It runs in the host's network namespace because the
# debian-12 recipe downloads Debian packages; no VM is started.
#
# Usage: images.sh STATE_DIR           (as root, from ctest)
set -eu
: "${CRANGE_BIN:?CRANGE_BIN is not set (run through ctest)}"
state=${1:?usage: images.sh STATE_DIR}
for img in tiny tiny-disk debian-12; do
    "$CRANGE_BIN" --state "$state" image build "$img"
done
"$CRANGE_BIN" --state "$state" image list
