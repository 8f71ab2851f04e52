/*
 * scenario.c: cr_scenario_load (scenario.h). Finds the scenario folder,
 * digests its files, and evaluates scenario.lua once per team (eval.h), each
 * time in a fresh sandbox that is closed once the team is converted and
 * validated; or, with only_team, for that one team. runtime.c evaluates one
 * team the same way and keeps the state.
 *
 * Team 1 runs first: when the caller leaves the team count to the scenario,
 * only its scenario{} declaration can say how many teams follow.
 */
#include "scenario.h"

#include "err.h"
#include "eval.h"
#include "util.h"

#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- The digest -------------------------------------------------------- */

typedef struct file_list {
    char **rel;
    size_t n, cap;
} file_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the relative paths of regular files and symlinks under ROOT/REL,
 * without following symlinks and skipping names that start with '.'. */
static int collect(file_list *fl, const char *root, const char *rel)
{
    int rc = 0;
    char *path = rel ? cr_path_join(root, rel) : cr_xstrdup(root);
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d) {
        rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *child = rel ? cr_xasprintf("%s/%s", rel, e->d_name) : cr_xstrdup(e->d_name);
        char *full = cr_path_join(root, child);
        struct stat st;
        if (lstat(full, &st) < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = collect(fl, root, child);
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            cr_grow(&fl->rel, &fl->cap, fl->n + 1, sizeof *fl->rel);
            fl->rel[fl->n++] = child;
            child = NULL;
        }
        free(child);
        free(full);
    }
cleanup:
    if (d)
        closedir(d);
    free(path);
    return rc;
}

static void hash_u64(crypto_generichash_state *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
    crypto_generichash_update(h, b, sizeof b);
}

static void hash_bytes(crypto_generichash_state *h, const void *p, size_t n)
{
    hash_u64(h, n);
    crypto_generichash_update(h, p, n);
}

/* Hashes one entry: a kind byte ('f' file, 'l' symlink), the framed path and
 * the framed content (a symlink's content is its target). */
static int hash_entry(crypto_generichash_state *h, const char *root, const char *rel)
{
    int rc = 0, fd = -1;
    char *full = cr_path_join(root, rel);
    struct stat st;
    unsigned char chunk[65536];
    if (lstat(full, &st) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
        goto cleanup;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(full, target, sizeof target);
        if (n < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
            goto cleanup;
        }
        crypto_generichash_update(h, (const unsigned char *)"l", 1);
        hash_bytes(h, rel, strlen(rel));
        hash_bytes(h, target, (size_t)n);
        goto cleanup;
    }
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
        goto cleanup;
    }
    crypto_generichash_update(h, (const unsigned char *)"f", 1);
    hash_bytes(h, rel, strlen(rel));
    hash_u64(h, (uint64_t)st.st_size);
    uint64_t left = (uint64_t)st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, chunk, left < sizeof chunk ? (size_t)left : sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", full, n < 0 ? strerror(errno) : "changed while being read");
            goto cleanup;
        }
        crypto_generichash_update(h, chunk, (size_t)n);
        left -= (uint64_t)n;
    }
cleanup:
    if (fd >= 0)
        close(fd);
    free(full);
    return rc;
}

/* BLAKE2b-256 over every file of the folder, in path order. */
static int digest_folder(unsigned char out[32], const char *dir)
{
    file_list fl = {0};
    crypto_generichash_state h;
    int rc = collect(&fl, dir, NULL);
    if (rc < 0)
        goto cleanup;
    qsort(fl.rel, fl.n, sizeof *fl.rel, cmp_str);
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const unsigned char *)"crange.digest.v1", 17);
    for (size_t i = 0; i < fl.n && rc == 0; i++)
        rc = hash_entry(&h, dir, fl.rel[i]);
    if (rc == 0)
        crypto_generichash_final(&h, out, 32);
cleanup:
    for (size_t i = 0; i < fl.n; i++)
        free(fl.rel[i]);
    free(fl.rel);
    return rc;
}

/* ---- Roles are the same for every team ------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool strv_eq(char **a, char **b)
{
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return (!a || !a[i]) && (!b || !b[i]);
}

static bool role_eq(const cr_role *a, const cr_role *b)
{
    if (!str_eq(a->image, b->image) || !strv_eq(a->packages, b->packages) || a->n_steps != b->n_steps)
        return false;
    for (size_t i = 0; i < a->n_steps; i++) {
        const cr_step *x = &a->steps[i], *y = &b->steps[i];
        if (x->kind != y->kind || x->mode != y->mode || !str_eq(x->dest, y->dest) || !str_eq(x->src, y->src) ||
            x->content_len != y->content_len || (x->content_len && memcmp(x->content, y->content, x->content_len)) ||
            !strv_eq(x->argv, y->argv))
            return false;
    }
    return true;
}

/*
 * A role becomes one template layer that every team's VMs share, so a role
 * that a team's script declares differently (a per-team value in a file or
 * a command) cannot be honoured: refused at the role, with the team.
 */
static int check_roles_shared(const cr_scenario *s)
{
    const cr_team_model *first = &s->teams[0];
    for (size_t t = 1; t < s->n_teams; t++) {
        const cr_team_model *tm = &s->teams[t];
        for (size_t i = 0; i < tm->n_roles; i++) {
            const cr_role *r = &tm->roles[i];
            const cr_role *r1 = cr_team_role(first, r->name);
            if (!r1)
                return cr_model_error(&r->where, "role '%s' is declared for team %d but not for team 1; "
                                      "a role is the same for every team", r->name, tm->number);
            if (!role_eq(r, r1))
                return cr_model_error(&r->where, "role '%s' differs between team 1 and team %d; a role is the same "
                                      "for every team (per-team values belong in the VM's provision)",
                                      r->name, tm->number);
        }
        for (size_t i = 0; i < first->n_roles; i++)
            if (!cr_team_role(tm, first->roles[i].name))
                return cr_model_error(&first->roles[i].where, "role '%s' is declared for team 1 but not for team %d; "
                                      "a role is the same for every team", first->roles[i].name, tm->number);
    }
    return 0;
}

int cr_scenario_digest(unsigned char out[32], const char *dir)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return cr_error_set(errno == ENOENT || errno == ENOTDIR ? CR_ENOTFOUND : CR_ERROR, "%s: %s", dir,
                            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cr_error_set(CR_EINVAL, "%s: not a scenario folder", dir);
    return digest_folder(out, dir);
}

/* The team count a scenario names for itself: what team 1's run says, as
 * the full load learns it. For a load of team N > 1 only, when the caller
 * leaves the count to the scenario. */
static int default_count(int *count, const char *dir, const cr_load_opts *opts)
{
    cr_scenario *probe = cr_xcalloc(1, sizeof *probe);
    probe->dir = cr_xstrdup(dir);
    probe->teams = cr_xcalloc(1, sizeof *probe->teams);
    probe->n_teams = 1;
    int rc = cr_eval_team(probe, &probe->teams[0], 1, 0, opts, NULL);
    if (rc == 0)
        *count = probe->default_teams;
    cr_scenario_free(probe);
    return rc;
}

int cr_scenario_load(cr_scenario **out, const char *path, const cr_load_opts *opts)
{
    static const cr_load_opts defaults = {0};
    int rc;
    cr_scenario *s = NULL;
    char *dir = NULL;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    int only = opts->only_team;
    rc = cr_eval_dir(&dir, path, opts);
    if (rc < 0)
        goto cleanup;
    int most = opts->teams ? opts->teams : CR_MAX_TEAMS;
    if (only < 0 || only > most) {
        rc = cr_error_set(CR_EINVAL, "%s: no team %d (teams are 1 to %d)", path, only, most);
        goto cleanup;
    }
    s = cr_xcalloc(1, sizeof *s);
    s->dir = dir;
    dir = NULL;
    rc = cr_scenario_digest(s->digest, s->dir);
    if (rc < 0)
        goto cleanup;

    /* The first team evaluated is team 1, unless one other team is asked
     * for; then the count must be known first, since that team's script may
     * read it (and it bounds the team number). */
    int first = only ? only : 1;
    int count = opts->teams;
    if (count == 0 && first > 1) {
        rc = default_count(&count, s->dir, opts);
        if (rc < 0)
            goto cleanup;
        if (count < 1)
            count = 1;
        if (first > count) {
            rc = cr_error_set(CR_EINVAL, "%s: no team %d (the scenario has %d)", path, first, count);
            goto cleanup;
        }
    }
    s->n_teams = count ? (size_t)count : 1;
    s->teams = cr_xcalloc(s->n_teams, sizeof *s->teams);
    rc = cr_eval_team(s, &s->teams[first - 1], first, count, opts, NULL);
    if (rc < 0)
        goto cleanup;
    if (count == 0)
        count = s->default_teams;
    if ((size_t)count > s->n_teams) {
        s->teams = cr_xrealloc(s->teams, (size_t)count * sizeof *s->teams);
        memset(s->teams + s->n_teams, 0, ((size_t)count - s->n_teams) * sizeof *s->teams);
        s->n_teams = (size_t)count;
    }
    if (!only) {
        for (int team = 2; team <= count; team++) {
            rc = cr_eval_team(s, &s->teams[team - 1], team, count, opts, NULL);
            if (rc < 0)
                goto cleanup;
        }
        rc = check_roles_shared(s);
        if (rc < 0)
            goto cleanup;
    }
    /* With only_team, the other entries stay as zeroed: empty, number 0. */
    *out = s;
    s = NULL;
cleanup:
    free(dir);
    cr_scenario_free(s);
    return rc;
}
