/*
 * commands.c: the command table: names, synopses and help texts. The names
 * are an interface (scripts, CI and later issues rely on them).
 */
#include "cli.h"
#include "commands.h"

#include <stddef.h>

const cr_command cr_commands[] = {
    {"validate", cr_cmd_validate, "validate PATH [--teams N]",
     "Check a scenario: runs it in the sandbox for every team and validates the result.",
     "Options:\n"
     "  --teams N        evaluate N teams (default: the scenario's own)\n"
     "Errors name the place: scenario.lua:LINE: what is wrong.\n"},
    {"plan", cr_cmd_plan, "plan PATH [--teams N] [--name RANGE] [--show-secrets]",
     "Show the fully resolved range per team (networks, bridges, VMs, MACs, addresses) without touching libvirt.",
     "Options:\n"
     "  --teams N        plan N teams (default: the scenario's own)\n"
     "  --name RANGE     derive names for this range; an existing range's own per-team values are shown\n"
     "  --show-secrets   include secret per-team values\n"},
    {"up", cr_cmd_up, "up [PATH] --name RANGE [--teams N] [--timeout S] [--paused] [--no-provision]",
     "Create or complete a range: one isolated copy of the scenario per team. A reconcile: run it again after a "
     "failure or a kill and it finishes the job; on a complete range it changes nothing.",
     "Options:\n"
     "  --name RANGE     the range's name (lowercase letters, digits, '-'; at most 24)\n"
     "  --teams N        number of teams (default: recorded for the range, else the scenario's own)\n"
     "  --timeout S      seconds to wait for each guest agent (default 600)\n"
     "  --paused         start VMs paused and skip provisioning (control-plane benchmarks)\n"
     "  --no-provision   start VMs but do not wait for agents or provision\n"
     "PATH may be left out for an existing range: its recorded scenario is used.\n"},
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
    {"doctor", cr_cmd_doctor, "doctor [--no-probe]",
     "Check this host: libvirt, TCG, whether KVM really works (a timed probe boot), the state folder, tools.",
     "Options:\n"
     "  --no-probe       skip the probe boots\n"},
    {"image build", cr_cmd_image_build, "image build NAME [--force]",
     "Build an image from its recipe (images/NAME/build.sh) into the image store; unchanged recipes are not "
     "rebuilt.",
     "Options:\n"
     "  --force          rebuild even when the recipe has not changed\n"},
    {"image list", cr_cmd_image_list, "image list", "List recipes and built images: state, size, hash, build date.",
     NULL},
    {"image verify", cr_cmd_image_verify, "image verify NAME", "Check a built image's files against its checksums.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
