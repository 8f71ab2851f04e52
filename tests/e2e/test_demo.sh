#!/bin/sh
# The README's demo command works as a newcomer runs it: it builds crange in
# its own folder, finds libvirtd running, builds the tiny image, brings the
# demo up and shows its status.
. "$(dirname "$0")/lib.sh"
track_range demo

out=$(CRANGE_BUILD="$WORK/build" sh "$CRANGE_SOURCE/scenarios/demo/run.sh" 2>&1) || fail "the demo command failed: $out"
assert_contains "$out" "range demo is up" "the demo command brings the range up"
assert_contains "$out" "ready" "the demo command shows agents ready"
st=$(crange --json status demo)
assert_eq 6 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running")] | length')" "6 demo VMs run"
