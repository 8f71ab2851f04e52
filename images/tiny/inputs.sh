#!/bin/sh
# The Debian packages this recipe is made of (their versions change the recipe hash).
dpkg-query -W linux-image-cloud-amd64 busybox-static qemu-guest-agent 2>/dev/null
ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -n 1
# Shared sources outside the recipe folder.
sha256sum "$(dirname "$0")/../common/crange-reseed.c" | cut -d' ' -f1
