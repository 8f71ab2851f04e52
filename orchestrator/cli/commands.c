/*
 * commands.c: the command table: names, synopses and help texts. The names
 * are an interface (scripts, CI and later issues rely on them).
 */
#include "cli.h"
#include "cmd_catalog.h"
#include "commands.h"
#include "portal.h"

#include <stddef.h>

const cr_command cr_commands[] = {
    {"validate", cr_cmd_validate, "validate PATH [--teams N]",
     "Check a scenario: runs it in the sandbox for every team and validates the result.",
     "Options:\n"
     "  --teams N        evaluate N teams (default: the scenario's own)\n"
     "Errors name the place: scenario.lua:LINE: what is wrong.\n"},
    {"plan", cr_cmd_plan, "plan PATH [--teams N] [--name RANGE] [--hosts all|NAME,...] [--show-secrets]",
     "Show the fully resolved range per team (host, networks, bridges, VMs, MACs, addresses) without changing "
     "anything.",
     "Options:\n"
     "  --teams N        plan N teams (default: the scenario's own)\n"
     "  --name RANGE     derive names for this range; an existing range's own per-team values and hosts are shown\n"
     "  --hosts H        place the teams on these added hosts (crange host list), as up --hosts would; the hosts'\n"
     "                   memory and CPUs are read from libvirt unless host add declared them\n"
     "  --show-secrets   include secret per-team values\n"},
    {"up", cr_cmd_up, "up [PATH|catalog:NAME[/SUB]] --name RANGE [--teams N] [--at COMMIT] [--timeout S] [--paused] [--no-provision] [--boot-window N] [--clone auto|always|never] [--hosts all|NAME,...] [--reschedule]",
     "Create or complete a range: one isolated copy of the scenario per team. A reconcile: run it again after a "
     "failure or a kill and it finishes the job; on a complete range it changes nothing.",
     "Options:\n"
     "  --name RANGE     the range's name (lowercase letters, digits, '-'; at most 24)\n"
     "  --teams N        number of teams (default: recorded for the range, else the scenario's own)\n"
     "  --at COMMIT      a catalog scenario at an older commit (re-run an exercise as it was)\n"
     "  --timeout S      seconds to wait for each guest agent (default 600)\n"
     "  --paused         start VMs paused and skip provisioning (control-plane benchmarks)\n"
     "  --no-provision   start VMs but do not provision them\n"
     "  --boot-window N  guests booting at once; each one whose agent answers lets the next in (default: all\n"
     "                   of them up to 25 per host CPU, else 2 per CPU; 0: all at once)\n"
     "  --clone MODE     instant clones: a VM repeated across teams boots once, as a template saved with its\n"
     "                   memory under <state>/templates, and every team's copy is restored from it in about a\n"
     "                   second (auto, the default: VMs that repeat; always: every new VM; never: boot all);\n"
     "                   each host of --hosts makes its own templates\n"
     "  --hosts H        spread the teams over these added hosts (crange host add), or all: each team on one\n"
     "                   host, placed by its VMs' memory and vCPUs; images and role layers are sent to remote\n"
     "                   hosts through libvirt's storage API. A team stays on its host at later runs\n"
     "  --reschedule     teams on a host that does not answer are rebuilt on the hosts that do; their events\n"
     "                   and scores stay (the move is recorded as team.moved)\n"
     "PATH may be left out for an existing range: its recorded scenario is used (a catalog scenario at its\n"
     "recorded commit). The range records where its scenario came from: catalog entry and commit, git work\n"
     "tree and commit, or an uncommitted path and its content hash (shown by status, score and report).\n"},
    {"status", cr_cmd_status, "status [RANGE]",
     "Per team and VM: state, addresses and whether the guest agent answers.", NULL},
    {"list", cr_cmd_list, "list", "List the ranges of the state folder and those found in libvirt.", NULL},
    {"exec", cr_cmd_exec, "exec RANGE TEAM VM [--timeout S] -- CMD [ARGS...]",
     "Run a command in a guest through the QEMU guest agent; print its output and exit with its code.",
     "Options:\n"
     "  --timeout S      give up after S seconds (default 120; exit 124)\n"
     "Exit 125 means crange itself failed (no such VM, no agent).\n"},
    {"console", cr_cmd_console, "console RANGE TEAM VM [--force] [--linger S]",
     "Attach to a VM's serial console. Ctrl-] detaches.",
     "Options:\n"
     "  --force          take the console over from another session\n"
     "  --linger S       when stdin is not a terminal: keep printing S seconds after it ends (default 3)\n"},
    {"down", cr_cmd_down, "down RANGE [--purge]",
     "Remove every VM, network and overlay of the range, found by libvirt metadata (works without the state "
     "database). The range's database is archived under <state>/archive.",
     "Options:\n"
     "  --purge          delete the range's database instead of archiving it\n"},
    {"revert", cr_cmd_revert, "revert RANGE TEAM VM",
     "Bring one VM back to its starting point: a fresh overlay on its base image, booted and provisioned again as "
     "at `up`. The team's other VMs and its score history are untouched.",
     NULL},
    {"run", cr_cmd_run,
     "run RANGE [--interval S] [--check-timeout S] [--once] [--no-actions] [--action-budget KIB] [--action-rate N]",
     "The exercise engine: every interval, run every team's objective checks inside the VMs, fire injects, and "
     "collect trainee shell commands; everything is recorded as events. A VM that stops (crashed, killed, "
     "powered off) is recorded as vm.stopped and reverted, at most 3 times. Stop with Ctrl-C; restart any time.",
     "Options:\n"
     "  --interval S       seconds between scoring rounds (default 15)\n"
     "  --check-timeout S  time limit of one check (default 10)\n"
     "  --once             run one round and exit (prints what it did)\n"
     "  --no-actions       do not collect trainee commands\n"
     "  --action-budget KIB  trainee command lines a VM may store over the exercise (default 4096 KiB)\n"
     "  --action-rate N    command lines a VM may store a second, after a burst of 10 N (default 10)\n"
     "Command lines beyond these, too long (64 KiB) or malformed are dropped and counted in action.dropped\n"
     "events, so that no VM can fill the host's disk or stop its own log.\n"},
    {"serve", cr_cmd_serve,
     "serve RANGE [--listen ADDR:PORT] [--interval S] [--check-timeout S] [--no-actions] [--action-budget KIB] "
     "[--action-rate N]",
     "The exercise engine (as `crange run`) and the exercise portal in one process: trainees log in per team, "
     "answer flags, take hints and use their VMs' consoles in the browser; the instructor watches the class live.",
     "Options:\n"
     "  --listen ADDR:PORT     where the portal listens (default " CR_PORTAL_LISTEN "; put TLS in front of it,\n"
     "                         see docs/PORTAL.md)\n"
     "  --interval S           seconds between scoring rounds (default 15)\n"
     "  --check-timeout S      time limit of one check (default 10)\n"
     "  --no-actions           do not collect trainee commands\n"
     "  --action-budget KIB    trainee command lines a VM may store (default 4096 KiB; as `run`)\n"
     "  --action-rate N        command lines a VM may store a second (default 10; as `run`)\n"
     "  --set-admin-password   read the instructor's password from standard input, store its argon2id\n"
     "                         hash in the state folder, and exit (no RANGE)\n"
     "Teams log in with the tokens `crange teams RANGE` prints. The HTTP API is portal/openapi.yaml.\n"},
    {"teams", cr_cmd_teams, "teams RANGE [--csv]",
     "The teams' portal logins (team number and token), to hand out; --csv for a spreadsheet or mail merge.",
     NULL},
    {"score", cr_cmd_score, "score RANGE",
     "The scoreboard: points of objectives met and flags solved, minus hint costs; ties go to the team that "
     "reached its score first.",
     NULL},
    {"submit", cr_cmd_submit, "submit RANGE TEAM FLAG ANSWER",
     "Submit a team's answer to a flag. Exits 0 when it is correct, 1 otherwise.", NULL},
    {"hint", cr_cmd_hint, "hint RANGE TEAM OBJECTIVE",
     "Take the next hint of an objective or flag for a team (its cost is taken off the team's score).", NULL},
    {"solve", cr_cmd_solve, "solve RANGE TEAM",
     "Run the scenario's reference solution for a team, then score that team.", NULL},
    {"events", cr_cmd_events, "events RANGE [--team N] [--since T] [--kind PREFIX]",
     "The range's event log: objectives, flags, hints, injects, trainee commands, console sessions.",
     "Options:\n"
     "  --team N         one team only\n"
     "  --since T        10m, 90s, 2h ago, an ISO 8601 UTC time, or epoch milliseconds\n"
     "  --kind PREFIX    e.g. action. or flag.\n"},
    {"report", cr_cmd_report, "report RANGE|FILE.db --format json|csv|html -o FILE",
     "Write an exercise report. HTML is one self-contained page with a per-team timeline plot. RANGE may also be "
     "a range database file, e.g. one archived by `down`.",
     NULL},
    {"scenario add", cr_cmd_scenario_add, "scenario add URL|PATH [--name NAME] [--ref BRANCH|TAG|COMMIT]",
     "Add a scenario repository to the catalog: clone it, pin it to one commit and validate every scenario in it.",
     "Options:\n"
     "  --name NAME      the entry's name (default: the repository's basename without .git)\n"
     "  --ref REF        a branch (followed by `scenario update`), a tag or a commit (both fixed);\n"
     "                   default: the branch the remote's HEAD names\n"
     "URL: https://..., ssh://... or user@host:path, file://...; or the PATH of a local repository.\n"
     "Credentials: for https, $CRANGE_GIT_TOKEN (user $CRANGE_GIT_USER, default x-access-token), offered only\n"
     "over https to the host in $CRANGE_GIT_TOKEN_HOST (HOST, HOST:PORT or [IPV6]:PORT); for ssh, ssh-agent.\n"
     "A URL with a password in it is refused: it would be recorded and printed.\n"
     "A repository holds scenario.lua at its root or scenarios/SUB/scenario.lua (or both);\n"
     "bring one up with: crange up catalog:NAME[/SUB] --name RANGE\n"},
    {"scenario list", cr_cmd_scenario_list, "scenario list [--json]",
     "List the catalog: each repository's URL, ref and pinned commit, and its scenarios with their titles.", NULL},
    {"scenario show", cr_cmd_scenario_show, "scenario show NAME [--json]",
     "Show a catalog entry: URL, ref, pinned commit with its date and message, every scenario with id and titles.",
     NULL},
    {"scenario update", cr_cmd_scenario_update, "scenario update NAME",
     "Fetch an entry's repository and fast-forward its pin to the new head of its branch, after validating it.",
     "Refused, leaving the pin where it is, when the entry is pinned to a tag or a commit (re-add it with another\n"
     "--ref), when the branch's history was rewritten (re-add it to accept the new history), and when the new\n"
     "commit does not validate.\n"},
    {"scenario remove", cr_cmd_scenario_remove, "scenario remove NAME",
     "Remove an entry, its clone and its materialised older commits from the catalog.", NULL},
    {"scenario lint", cr_cmd_scenario_lint, "scenario lint PATH|catalog:NAME[/SUB] [--solve] [--teams N]",
     "Check a scenario for authors' CI: it validates, every objective has a check and every flag an answer, every "
     "image has a recipe, every trainee text has ja and en, per-team values differ, there is a reference "
     "solution. Exits 1 naming each problem.",
     "Options:\n"
     "  --solve          also prove it solvable: bring up 2 teams, check both score 0, run the reference\n"
     "                   solution on team 1, check full marks for team 1 and 0 for team 2, tear down\n"
     "  --teams N        teams to evaluate for the static checks (default: at least 2)\n"},
    {"doctor", cr_cmd_doctor, "doctor [--no-probe] [--host NAME]",
     "Check this host: libvirt, TCG, whether KVM really works (a timed probe boot), the state folder, tools.",
     "Options:\n"
     "  --no-probe       skip the probe boots\n"
     "  --host NAME      check an added host (crange host add) over its libvirt connection instead: libvirt,\n"
     "                   TCG, KVM, memory, and the probe boots with the tiny image sent there\n"},
    {"host add", cr_cmd_host_add,
     "host add NAME URI [--memory GIB] [--cpus N] [--address IP] [--label K=V]... [--no-check]",
     "Add a libvirt host that exercises may spread over (up --hosts), reached through libvirt's remote protocol "
     "(qemu+ssh://, qemu+tls://, qemu+tcp://); crange runs nothing of its own there.",
     "Options:\n"
     "  --memory GIB     memory teams may use there (default: what libvirt reports)\n"
     "  --cpus N         CPUs teams may use there (default: what libvirt reports)\n"
     "  --address IP     the address other hosts reach it at: VXLAN for teams spread over hosts\n"
     "  --label K=V      a label, shown by host list (repeatable)\n"
     "  --no-check       add it even if libvirt does not answer at URI now\n"
     "Hosts are kept in <state>/hosts.json.\n"},
    {"host list", cr_cmd_host_list, "host list",
     "List the added hosts: reachable or not, libvirt and QEMU versions, accelerator offered, CPUs, free memory "
     "and the ranges on each.", NULL},
    {"host remove", cr_cmd_host_remove, "host remove NAME [--force]",
     "Remove a host from the list. Refused while a range that is not down uses it, unless --force (the range "
     "keeps reaching it for down).",
     "Options:\n"
     "  --force          remove it even though ranges use it\n"},
    {"image build", cr_cmd_image_build, "image build NAME [--force]",
     "Build an image from its recipe (images/NAME/build.sh) into the image store; unchanged recipes are not "
     "rebuilt.",
     "Options:\n"
     "  --force          rebuild even when the recipe has not changed\n"},
    {"image list", cr_cmd_image_list, "image list",
     "List recipes and built images (state, size, hash, build date), then the role layers built on them.",
     NULL},
    {"image verify", cr_cmd_image_verify, "image verify NAME", "Check a built image's files against its checksums.",
     NULL},
    {"image prune", cr_cmd_image_prune, "image prune [--dry-run] [--hosts all|NAME,...]",
     "Remove the instant-clone templates (<state>/templates) that no range's VMs sit on; `down` keeps them so "
     "that the next `up` of the same scenario boots nothing. Also removes template VMs and disks that an `up` "
     "stopped while making them left behind (each `up` that makes templates does too). With --hosts, also on "
     "those hosts (crange host list): their templates no VM there sits on, then the shipped images and layers "
     "nothing there uses. A host that does not answer is named, and the exit status is 1.",
     "Options:\n"
     "  --dry-run        only list what would be removed (on a host, the images its unused\n"
     "                   templates sit on are listed once those templates are gone)\n"
     "  --hosts SPEC     also prune these hosts: all, or names separated by commas\n"},
    {NULL, NULL, NULL, NULL, NULL},
};
