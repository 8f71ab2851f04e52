#!/bin/sh
# The inputs of the debian-12 recipe besides its own files (which crange
# hashes itself): the host tools that make the image, and the date of the
# Debian archive the packages come from, as the host's apt last saw it
# (the Date of each bookworm Release file). So an archive update (a point
# release, a security fix) makes the recipe stale and `crange image build`
# rebuilds it; running apt-get update on the host is what notices one.
dpkg-query -W mmdebstrap e2fsprogs qemu-utils libc6-dev gcc 2>/dev/null
echo "mirror ${CRANGE_DEBIAN_MIRROR:-http://deb.debian.org/debian} ${CRANGE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
for f in /var/lib/apt/lists/*_dists_bookworm*_InRelease; do
    [ -r "$f" ] || continue
    printf '%s %s\n' "${f##*/}" "$(sed -n 's/^Date: //p' "$f" | head -n 1)"
done
# Shared sources outside the recipe folder.
sha256sum "$(dirname "$0")/../common/crange-reseed.c" | cut -d' ' -f1
