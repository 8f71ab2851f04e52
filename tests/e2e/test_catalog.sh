#!/bin/sh
# End to end, the scenario catalog and lint: a scenario repository is added
# from a file:// URL, a range brought up from it records its commit, an
# update moves the pin but not the running range, --at re-runs an older
# commit, and `scenario lint --solve` passes on the demo and fails, naming
# the objective, on a copy whose solution is incomplete.
. "$(dirname "$0")/lib.sh"
track_range cat
track_range old

command -v git >/dev/null || fail "git is not installed (tests/deps.sh installs it; the test uses it to make repositories)"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid

# A scenario repository with the demo at its root, pushed to a bare remote.
git init -q --bare -b main "$WORK/remote.git"
git init -q -b main "$WORK/src"
cp -R "$DEMO/." "$WORK/src/"
git -C "$WORK/src" add -A
git -C "$WORK/src" commit -q -m "first"
git -C "$WORK/src" push -q "$WORK/remote.git" main
commit_a=$(git -C "$WORK/src" rev-parse HEAD)

crange image build tiny >/dev/null
crange scenario add "file://$WORK/remote.git" --name labs >/dev/null
assert_eq "$commit_a" "$(crange --json scenario list | jq -r '.[0].commit')" "the catalog pins the first commit"

crange up catalog:labs --name cat --teams 1 --paused >/dev/null
st=$(crange --json status cat)
assert_eq catalog "$(printf '%s\n' "$st" | jq -r .provenance.kind)" "the range records its catalog origin"
assert_eq "$commit_a" "$(printf '%s\n' "$st" | jq -r .provenance.commit)" "the range records the commit"
assert_eq "$commit_a" "$(crange --json score cat | jq -r .scenario.provenance.commit)" "the scoreboard shows the commit"
crange report cat --format json -o "$WORK/cat.json" >/dev/null
assert_eq "$commit_a" "$(jq -r .range.scenario.provenance.commit "$WORK/cat.json")" "the report shows the commit"

# A new commit upstream; update moves the pin.
sed -i 's/Demo: a web server behind a router/Demo v2/' "$WORK/src/scenario.lua"
git -C "$WORK/src" commit -q -am "second"
git -C "$WORK/src" push -q "$WORK/remote.git" main
commit_b=$(git -C "$WORK/src" rev-parse HEAD)
crange scenario update labs >/dev/null
assert_eq "$commit_b" "$(crange --json scenario list | jq -r '.[0].commit')" "update moves the pin to the new commit"

# The running range stays at its commit when brought up again.
crange up --name cat --paused >/dev/null
assert_eq "$commit_a" "$(crange --json status cat | jq -r .provenance.commit)" "a running range stays at its recorded commit"

# --at re-runs the older commit in a new range.
crange up catalog:labs --name old --teams 1 --at "$commit_a" --paused >/dev/null
assert_eq "$commit_a" "$(crange --json status old | jq -r .provenance.commit)" "--at brings up the older commit"
assert_eq "Demo: a web server behind a router" "$(crange --json list | jq -r '.[] | select(.range == "old") | .title')" \
    "--at uses the older commit's content"
crange down old --purge >/dev/null
crange down cat --purge >/dev/null

# Bad input leaves the catalog unchanged.
before=$(crange --json scenario list)
err=$(expect_fail crange scenario add "file://$WORK/nonexistent.git" --name nope)
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "an unreachable URL gives one line"
err=$(expect_fail crange scenario add "file://$WORK/remote.git" --name labs)
assert_contains "$err" "labs" "a used name is refused, naming it"
assert_eq "$before" "$(crange --json scenario list)" "failed adds leave the catalog unchanged"

# lint --solve proves the demo solvable...
out=$(crange scenario lint "$DEMO" --solve 2>&1) || fail "lint --solve failed on the demo: $out"
assert_contains "$out" "lint passed" "lint --solve passes on scenarios/demo"

# ...and fails, naming the objective, when the solution forgets the banner.
cp -R "$DEMO" "$WORK/broken"
sed -i '/> \/etc\/motd/d' "$WORK/broken/scenario.lua"
err=$(expect_fail crange scenario lint "$WORK/broken" --solve)
assert_contains "$err" "objective 'banner' is not met for team 1 after the reference solution" \
    "lint --solve names the objective the solution does not meet"
assert_eq 0 "$(virsh -q list --all --name | grep -c '^crange\.lint-' || true)" "lint --solve tears its range down"
