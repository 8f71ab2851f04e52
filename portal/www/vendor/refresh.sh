#!/bin/sh
# Refreshes the vendored browser code of the portal from the npm registry:
# xterm.js (the terminal in the page) and its fit addon, at the versions
# pinned below. The files are committed and compiled into crange, so the
# build never needs the network; run this only to move a pin, then rebuild,
# run the portal tests and commit the result.
#
# Usage: sh portal/www/vendor/refresh.sh
set -eu
XTERM=6.0.0
FIT=0.11.0

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "@xterm/xterm@$XTERM" "@xterm/addon-fit@$FIT" >/dev/null
mkdir xterm fit
tar xzf "xterm-xterm-$XTERM.tgz" -C xterm
tar xzf "xterm-addon-fit-$FIT.tgz" -C fit

out=$here/xterm
mkdir -p "$out"
# The UMD builds (globals Terminal and FitAddon.FitAddon), without their
# source-map comments: the maps are not shipped.
sed '/^\/\/# sourceMappingURL=/d' xterm/package/lib/xterm.js >"$out/xterm.js"
sed '/^\/\/# sourceMappingURL=/d' fit/package/lib/addon-fit.js >"$out/addon-fit.js"
cp xterm/package/css/xterm.css "$out/xterm.css"
cp xterm/package/LICENSE "$out/LICENSE"
cp fit/package/LICENSE "$out/LICENSE-addon-fit"
{
    echo "@xterm/xterm@$XTERM $(npm view "@xterm/xterm@$XTERM" dist.integrity)"
    echo "@xterm/addon-fit@$FIT $(npm view "@xterm/addon-fit@$FIT" dist.integrity)"
} >"$out/VERSIONS"
echo "vendored: $(cut -d' ' -f1 "$out/VERSIONS" | tr '\n' ' ')"
