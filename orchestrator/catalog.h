/*
 * catalog.h: the scenario catalog. Scenario authors share scenarios as git
 * repositories; the catalog clones them with libgit2 (never the git CLI),
 * pins each to one commit, validates every scenario in it, and hands the
 * pinned folders to `crange up catalog:NAME[/SUB]`. It also says where a
 * scenario came from (its provenance), for catalog entries and plain paths.
 *
 * A repository holds one scenario (scenario.lua at its root), many
 * (scenarios/<sub>/scenario.lua), or both.
 *
 * Layout under the state folder:
 *   catalog/<name>.json          the entry: URL, ref, pinned commit, scenarios.
 *                                An entry exists exactly when this file does.
 *   catalog/<name>/              a clone: a normal work tree checked out at the
 *                                pinned commit, detached HEAD, remote "origin"
 *   catalog/.at/<name>-<commit>/ an older commit materialised for `up --at`
 *   catalog/.lock                flock(2) held by every operation below
 *   catalog/.tmp-*               work in progress (debris after a crash)
 *
 * Crash safety: an add clones and validates in catalog/.tmp-*, renames the
 * folder into place, then writes <name>.json atomically (the commit point); a
 * failed add leaves nothing behind. An update validates the new commit in a
 * .tmp folder before it moves anything, and rewrites <name>.json last.
 * Debris of an interrupted operation is removed by the next change, and a
 * clone whose work tree is not at its entry's commit (an update interrupted
 * between checkout and commit point, or hand edits) is checked out again by
 * cr_catalog_resolve.
 *
 * Every function initialises libgit2 for its own duration
 * (git_libgit2_init/shutdown are reference counted). Errors follow err.h:
 * 0 or a negative CR_E* code with one message set, one line.
 *
 * Credentials: ssh URLs authenticate with ssh-agent; https URLs with the
 * token in $CRANGE_GIT_TOKEN (user $CRANGE_GIT_USER, default
 * "x-access-token"), offered only where cr_catalog_token_verdict() allows,
 * i.e. over https to the host in $CRANGE_GIT_TOKEN_HOST; while a token is
 * set, redirects to another host are refused. Each method is tried once per
 * connection. A URL with a password in it is refused (it would be recorded
 * and printed). Nothing secret is written to disk.
 */
#ifndef CRANGE_CATALOG_H
#define CRANGE_CATALOG_H

#include "model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry is pinned to; only a branch can move (cr_catalog_update). */
typedef enum cr_ref_kind {
    CR_REF_BRANCH = 1,
    CR_REF_TAG,
    CR_REF_COMMIT,
} cr_ref_kind;

/* "branch", "tag" or "commit" (static strings). */
const char *cr_ref_kind_name(cr_ref_kind kind);

/* One scenario of an entry, as found and validated at the pinned commit. */
typedef struct cr_catalog_scenario {
    char *sub;        /* NULL for the root scenario, else the folder name under scenarios/ */
    char *path;       /* the folder relative to the repository root: "." or "scenarios/<sub>" */
    char *id;         /* scenario{ id } */
    cr_text title;    /* scenario{ title }, both languages */
} cr_catalog_scenario;

typedef struct cr_catalog_entry {
    char *name;           /* [a-z][a-z0-9-]{0,30} */
    char *url;            /* as cloned: a URL, or the absolute path of a local repository */
    char *ref;            /* branch or tag name, or the 40-hex commit for CR_REF_COMMIT */
    cr_ref_kind ref_kind;
    char *commit;         /* the pinned commit, 40 hex */
    char *commit_time;    /* the commit's committer time, ISO 8601 UTC */
    char *commit_message; /* the commit's full message */
    char *added_at;       /* ISO 8601 UTC */
    char *updated_at;     /* when the pin last moved (= added_at until then) */
    cr_catalog_scenario *scenarios; /* sorted: the root one first, then by sub */
    size_t n_scenarios;
    char *dir;            /* absolute path of the clone's work tree */
} cr_catalog_entry;

/* Free functions accept NULL. An entry owns everything reachable from it. */
void cr_catalog_entry_free(cr_catalog_entry *e);
void cr_catalog_list_free(cr_catalog_entry **list, size_t n);

/* The entry as JSON (the shape of <name>.json plus "dir" and each scenario's
 * "ref", e.g. "catalog:labs/web"). A new reference. */
json_t *cr_catalog_entry_json(const cr_catalog_entry *e);

/* Whether the git token may be offered to a server, and if not, why. */
typedef enum cr_token_verdict {
    CR_TOKEN_OFFER = 0,  /* https, and the URL's host and port are TOKEN_HOST's */
    CR_TOKEN_NO_HOST,    /* TOKEN_HOST is NULL or empty */
    CR_TOKEN_BAD_HOST,   /* TOKEN_HOST is not HOST, HOST:PORT, [IPV6] or [IPV6]:PORT */
    CR_TOKEN_NOT_HTTPS,  /* the URL is not https:// (http, ssh, file, ...) */
    CR_TOKEN_BAD_URL,    /* the URL's host cannot be told for certain */
    CR_TOKEN_OTHER_HOST, /* another host, or another port */
} cr_token_verdict;

/*
 * The rule for $CRANGE_GIT_TOKEN: offered to URL only when it is https and
 * its host is TOKEN_HOST ($CRANGE_GIT_TOKEN_HOST), compared exactly and
 * without case; user information is not the host (https://a.example@b.example/
 * is b.example). A port absent on either side is 443. An authority that
 * parsers could read differently (two '@'; '?', '#', '\', a space or a byte
 * outside ASCII anywhere in it; '%' in the host) is CR_TOKEN_BAD_URL.
 * URL may be NULL.
 */
cr_token_verdict cr_catalog_token_verdict(const char *url, const char *token_host);

/* <state_dir>/catalog (a new string). */
char *cr_catalog_dir(const char *state_dir);

/*
 * Clones SOURCE (an https/ssh/file URL, or the path of a local repository)
 * into the catalog as NAME (NULL: the source's basename without ".git"),
 * pinned to REF (NULL: the remote's HEAD branch; else a branch, a tag, or a
 * full or abbreviated commit). Checks every symlink of the tree with
 * cr_scenario_link_check (none may point outside the repository, into a
 * .git folder, or loop) and validates every scenario with
 * cr_scenario_load(); the message of a bad scenario names its file relative
 * to the repository ("scenarios/x/scenario.lua:3: ...").
 *
 * On success *out is the new entry (caller frees); on failure *out is NULL
 * and the catalog is as before. Returns 0, CR_EINVAL (bad name, ref,
 * repository or scenario), CR_EEXISTS (NAME is taken), CR_ENOTFOUND (no such
 * path or ref) or CR_ERROR (clone failed: unreachable, authentication).
 */
int cr_catalog_add(cr_catalog_entry **out, const char *state_dir, const char *source, const char *name,
                   const char *ref);

/* Every entry, sorted by name. *out is a new array of *n entries (free with
 * cr_catalog_list_free); an absent catalog is an empty list. */
int cr_catalog_list(cr_catalog_entry ***out, size_t *n, const char *state_dir);

/* One entry (caller frees); CR_ENOTFOUND when there is none. */
int cr_catalog_get(cr_catalog_entry **out, const char *state_dir, const char *name);

/*
 * Fetches NAME's origin and fast-forwards the pin to its branch's new head,
 * after validating the new commit as cr_catalog_add does.
 *
 * Refuses (CR_EINVAL, catalog unchanged) when the entry is pinned to a tag
 * or commit, when the branch's history was rewritten (the pinned commit is
 * not an ancestor of the new head: both commits are named), or when the new
 * commit does not validate. Fails with CR_ENOTFOUND when the branch is gone.
 *
 * On success *out is the entry as now pinned, and *previous (if previous is
 * not NULL) the commit pinned before, 40 hex; both the caller's to free.
 * They are equal when there was nothing new.
 */
int cr_catalog_update(cr_catalog_entry **out, char **previous, const char *state_dir, const char *name);

/* Removes NAME's entry, clone and materialised older commits. */
int cr_catalog_remove(const char *state_dir, const char *name);

/* ---- Provenance --------------------------------------------------------- */

typedef enum cr_provenance_kind {
    CR_PROV_PATH = 1, /* a folder outside any git work tree (or in one without commits) */
    CR_PROV_GIT,      /* a folder inside a git work tree */
    CR_PROV_CATALOG,  /* a catalog entry */
} cr_provenance_kind;

/* "path", "git" or "catalog" (static strings). */
const char *cr_provenance_kind_name(cr_provenance_kind kind);

/*
 * Where a scenario folder came from. Zero-initialise; every string is owned
 * by the struct and released by cr_provenance_clear(). NULL means "does not
 * apply" (see each field).
 */
typedef struct cr_provenance {
    cr_provenance_kind kind;
    char *name;         /* catalog: the entry's name */
    char *url;          /* catalog: the entry's URL; git: origin's URL, NULL without one */
    char *ref;          /* catalog: the pinned ref, or the --at argument as given;
                         * git: the checked-out branch, NULL when HEAD is detached */
    char *commit;       /* catalog, git: 40 hex */
    bool dirty;         /* git: git status shows changes (modified, staged, deleted or
                         * untracked, not ignored) inside the folder */
    char *subpath;      /* catalog, git: the folder relative to the repository root, "." for the root */
    char *content_hash; /* the content_hash given to cr_provenance_for_path, else NULL */
} cr_provenance;

/* Frees the strings and zeroes *prov. Accepts NULL. */
void cr_provenance_clear(cr_provenance *prov);

/* JSON object with "kind" and the fields that apply. A new reference. */
json_t *cr_provenance_json(const cr_provenance *prov);

/* One line for people, e.g. "catalog:labs/web at main (1a2b3c4d5e6f) from
 * https://...". A new string. */
char *cr_provenance_describe(const cr_provenance *prov);

/* The inverse of cr_provenance_json: fills *prov (caller clears) from a
 * stored object. CR_EINVAL when it is not one. */
int cr_provenance_from_json(cr_provenance *prov, const json_t *j);

/* For kind catalog: the reference that resolves to the same scenario,
 * "catalog:NAME" or "catalog:NAME/SUB" (a new string); NULL otherwise. */
char *cr_provenance_catalog_ref(const cr_provenance *prov);

/* Whether S is a catalog reference ("catalog:..."). */
bool cr_catalog_is_ref(const char *s);

/*
 * Resolves REF ("catalog:NAME" or "catalog:NAME/SUB") to the scenario folder
 * to load. NAME alone names the root scenario, or the only one of the
 * repository; SUB names scenarios/SUB.
 *
 * AT_COMMIT NULL: the pinned work tree (checked out again first if it does
 * not match the entry). Otherwise a commit of the clone (full or abbreviated
 * hex, or a tag): its tree is materialised once under
 * catalog/.at/<name>-<commit>/ (its symlinks checked) and that copy is used;
 * the pin does not move. `crange scenario update` fetches newer commits.
 *
 * On success *dir is a new absolute path (caller frees) and *prov, if not
 * NULL, is filled (caller clears). Returns 0, CR_EINVAL (bad reference, bad
 * tree) or CR_ENOTFOUND (no such entry, scenario or commit).
 */
int cr_catalog_resolve(char **dir, cr_provenance *prov, const char *state_dir, const char *ref,
                       const char *at_commit);

/*
 * The provenance of a plain scenario folder DIR. Inside a git work tree
 * (found by searching upwards from DIR) with at least one commit: kind git,
 * origin's URL, HEAD's commit and branch, the folder's path in the work tree,
 * and whether it has uncommitted changes. Otherwise kind path.
 * CONTENT_HASH (e.g. the scenario digest in hex; may be NULL) is copied into
 * prov->content_hash for every kind, since it is what identifies the content
 * of an uncommitted path.
 *
 * *prov is overwritten (not cleared first). Returns 0, or CR_ENOTFOUND when
 * DIR does not exist.
 */
int cr_provenance_for_path(cr_provenance *prov, const char *dir, const char *content_hash);

#endif
