/*
 * scenario.h: loads a scenario folder (scenario.lua and its files) into the
 * C model of model.h, running the Lua code in a sandbox, once per team.
 *
 * The C core never touches a Lua stack: it calls cr_scenario_load() and reads
 * the returned model.
 */
#ifndef CRANGE_SCENARIO_H
#define CRANGE_SCENARIO_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_SECRET_LEN 32

typedef struct cr_load_opts {
    /* Number of teams to evaluate; 0 means the scenario's own default
     * (scenario{ teams = N }, or 1 when it names none). */
    int teams;

    /* 0: evaluate every team. N: evaluate team N only (1 <= N <= the team
     * count), for callers that need one team's answers and hints (submit,
     * hint): the others' Lua never runs. The returned scenario still has the
     * full team count in n_teams and team N in teams[N - 1]; the other
     * entries are left empty (number 0, nothing declared), and the checks
     * across teams (a role is the same for every team) are skipped. The
     * scenario-wide fields come from team N's run, as in runtime.h. */
    int only_team;

    /* The range secret that per-team vars derive from (CR_SECRET_LEN bytes).
     * NULL: a fixed, public secret, fine for validate and plan previews. */
    const unsigned char *secret;

    /* Whether an image name is known; NULL skips the check. */
    bool (*image_known)(const char *name, void *ctx);
    void *image_ctx;

    /* Sandbox limits per Lua state; 0 picks the defaults
     * (CR_LUA_DEFAULT_MEMORY bytes, CR_LUA_DEFAULT_INSTRUCTIONS VM instructions). */
    size_t memory_limit;
    uint64_t instruction_limit;
} cr_load_opts;

#define CR_LUA_DEFAULT_MEMORY (64u * 1024 * 1024)
#define CR_LUA_DEFAULT_INSTRUCTIONS 50000000ull

/*
 * Loads PATH (a scenario folder, or the scenario.lua inside one), evaluates it
 * for teams 1..N (or opts->only_team), validates every evaluated team's model,
 * and fills the scenario digest, which covers the folder's files only and so
 * is the same whichever teams are evaluated.
 *
 * On success *out is a new scenario the caller frees with cr_scenario_free().
 * On failure *out is NULL and the message reads "scenario.lua:LINE: ..."
 * (the file relative to the scenario folder), or names the path when the
 * folder itself is unusable. Returns 0, CR_ENOTFOUND, CR_EINVAL or CR_ELIMIT.
 */
int cr_scenario_load(cr_scenario **out, const char *path, const cr_load_opts *opts);

/* The digest cr_scenario_load puts in cr_scenario.digest (BLAKE2b-256 over
 * the names and contents of the folder's files, dot names skipped, symlinks
 * not followed), without evaluating anything: the cheap way to tell whether
 * a folder still holds the scenario a range was brought up with. The folder
 * is read through cr_scenario_files_list, so what it refuses is refused here
 * too. DIR must be a folder: returns 0, CR_ENOTFOUND when nothing is at DIR,
 * CR_EINVAL when it is not a folder or holds what cr_scenario_files_list
 * refuses, or CR_ERROR (unreadable), the message naming the path. */
int cr_scenario_digest(unsigned char out[32], const char *dir);

/* ---- The folder's files -------------------------------------------------
 *
 * Every reader of a scenario folder's files (the digest, hence every
 * cr_scenario_load: validate, lint, plan, up, the catalog, scoring; and the
 * snapshot `up` stores in range.db) should take them from
 * cr_scenario_files_list, which is where the rules below are kept.
 *
 * Names starting with '.' are skipped at every level (.git among them), as
 * the digest always did. Refused, with CR_EINVAL and a message naming the
 * entry relative to the folder ("files/x: ..."):
 *   - a symbolic link that is absolute, or resolves (through "..", or other
 *     links met on the way) outside the folder, into a .git folder, or loops;
 *   - a symbolic link to a folder (copying the folder it names would store
 *     its files twice, and "d -> ." endlessly);
 *   - a symbolic link to, or an entry that is, anything but a regular file,
 *     a folder or a link (a FIFO would block whoever reads it);
 *   - more than CR_SCENARIO_MAX_FILES files, links and folders;
 *   - a file (or a link's file) over CR_SCENARIO_MAX_FILE_BYTES, or files
 *     adding up to more than CR_SCENARIO_MAX_TOTAL_BYTES; a link's file is
 *     counted again, as the snapshot stores a copy of it under the link's name.
 * A link to nothing (yet) is allowed: it has no content to read.
 */

/* The largest scenario in scenarios/ has 19 files and 88 KiB, its largest
 * file 29 KiB; these caps leave far more room than that, and bound what
 * range.db and the memory of `up` take for the snapshot (a 200 MiB file had
 * taken 435 MiB of memory and a 210 MiB range.db). */
#define CR_SCENARIO_MAX_FILES 1000
#define CR_SCENARIO_MAX_FILE_BYTES (16u << 20)
#define CR_SCENARIO_MAX_TOTAL_BYTES (64u << 20)

typedef struct cr_scenario_file {
    char *path;       /* relative to the folder, '/'-separated */
    char *target;     /* a symbolic link's target as stored in the link; NULL for a regular file */
    bool has_content; /* a regular file, or a link to one; false for a link to nothing */
    uint64_t size;    /* the content's size when listed; 0 without content */
} cr_scenario_file;

typedef struct cr_scenario_files {
    cr_scenario_file *files; /* sorted by path (strcmp); owned, freed by cr_scenario_files_clear */
    size_t n;
    uint64_t total; /* the sum of the sizes */
} cr_scenario_files;

/* Lists the files and symbolic links of the scenario folder DIR under the
 * rules above. On success *out (zeroed first) holds them; on failure it is
 * empty. Returns 0, CR_EINVAL (refused) or CR_ERROR (unreadable). */
int cr_scenario_files_list(cr_scenario_files *out, const char *dir);

/* Frees what *fl holds and zeroes it. NULL is fine. */
void cr_scenario_files_clear(cr_scenario_files *fl);

/* Reads the content of F, an entry of cr_scenario_files_list(DIR), into a
 * new NUL-terminated buffer *data (the caller frees) of *len bytes. The
 * size cap is checked again on the open file, so a file grown since the
 * listing is refused rather than read. Returns 0, CR_EINVAL (no content:
 * a link to nothing; or no longer a regular file within the cap) or
 * CR_ERROR; on failure *data is NULL. */
int cr_scenario_file_read(char **data, size_t *len, const char *dir, const cr_scenario_file *f);

/* Where a symbolic link at LINK (a path relative to ROOT) holding TARGET
 * leads, resolved component by component as the kernel would, following
 * the links met on the way. A lexical check is not enough: with "d -> ."
 * the target "../d/../x" of files/e leaves. The rule for scenario folders;
 * the catalog applies it to a whole repository. */
typedef enum cr_link_verdict {
    CR_LINK_INSIDE,   /* stays inside ROOT (whether or not anything is there) */
    CR_LINK_OUTSIDE,  /* absolute, or leaves ROOT, or cannot be followed (unreadable link) */
    CR_LINK_INTO_GIT, /* ends inside a folder named .git */
    CR_LINK_LOOPS,    /* more than CR_LINK_MAX_HOPS links to follow, as the kernel's ELOOP */
} cr_link_verdict;

#define CR_LINK_MAX_HOPS 40 /* the kernel's MAXSYMLINKS */

cr_link_verdict cr_scenario_link_check(const char *root, const char *link, const char *target);

#endif
