#!/bin/sh
# Runs one libFuzzer target for SECONDS from a scratch copy of its seed
# corpus, and prints its executions per second and the corpus it grew.
# Usage: run.sh TARGET SEEDS SECONDS [extra libFuzzer flags]
set -eu
target=$1 seeds=$2 seconds=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$seeds" ] && cp -R "$seeds/." "$work/corpus/"
# -rss_limit_mb: a target that grows without bound is a finding too.
"$target" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$PWD/crash-$(basename "$target")-" "$@" "$work/corpus" 2>"$work/log" || {
    tail -n 60 "$work/log" >&2
    exit 1
}
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' "$work/log" || true
