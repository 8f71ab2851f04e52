/*
 * scenario.c: cr_scenario_load (scenario.h). Finds the scenario folder,
 * evaluates scenario.lua once per team (eval.h), each time in a fresh
 * sandbox that is closed once the team is converted and validated, or, with
 * only_team, for that one team; and lists, checks and digests the folder's
 * files (cr_scenario_files_list: the one place the rules on links and sizes
 * are kept, for every reader of a scenario folder). runtime.c evaluates one
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- The folder's files (scenario.h) ----------------------------------- */

cr_link_verdict cr_scenario_link_check(const char *root, const char *link, const char *target)
{
    char **stack = NULL; /* the resolved components below ROOT */
    size_t n = 0, cap = 0;
    cr_link_verdict v = target[0] == '/' ? CR_LINK_OUTSIDE : CR_LINK_INSIDE;
    int hops = 0;
    char *rest = NULL;
    /* The link's own folder is where its target starts. */
    char *base = cr_xstrdup(link);
    char *slash = strrchr(base, '/');
    *(slash ? slash : base) = '\0';
    for (char *save = NULL, *c = strtok_r(base, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        cr_grow(&stack, &cap, n + 1, sizeof *stack);
        stack[n++] = cr_xstrdup(c);
    }
    free(base);
    rest = cr_xstrdup(target);
    while (v == CR_LINK_INSIDE && *rest) {
        slash = strchr(rest, '/');
        char *comp = slash ? cr_xstrndup(rest, (size_t)(slash - rest)) : cr_xstrdup(rest);
        char *next = cr_xstrdup(slash ? slash + 1 : "");
        free(rest);
        rest = next;
        if (!*comp || !strcmp(comp, ".")) {
            free(comp);
            continue;
        }
        if (!strcmp(comp, "..")) {
            free(comp);
            if (n == 0)
                v = CR_LINK_OUTSIDE;
            else
                free(stack[--n]);
            continue;
        }
        cr_grow(&stack, &cap, n + 1, sizeof *stack);
        stack[n++] = comp;
        cr_buf path = {0};
        cr_buf_add(&path, root);
        for (size_t i = 0; i < n; i++) {
            cr_buf_add(&path, "/");
            cr_buf_add(&path, stack[i]);
        }
        struct stat st;
        if (lstat(path.data, &st) == 0 && S_ISLNK(st.st_mode)) {
            char to[PATH_MAX];
            ssize_t len = readlink(path.data, to, sizeof to - 1);
            free(stack[--n]);
            if (len <= 0 || to[0] == '/') {
                v = CR_LINK_OUTSIDE;
            } else if (++hops > CR_LINK_MAX_HOPS) {
                v = CR_LINK_LOOPS;
            } else {
                to[len] = '\0';
                char *joined = cr_xasprintf("%s/%s", to, rest);
                free(rest);
                rest = joined;
            }
        }
        cr_buf_free(&path);
    }
    /* A repository's .git holds its configuration (a remote's URL may carry
     * a token) and hooks: nothing a scenario should hand to a guest. */
    for (size_t i = 0; v == CR_LINK_INSIDE && i < n; i++)
        if (!strcmp(stack[i], ".git"))
            v = CR_LINK_INTO_GIT;
    for (size_t i = 0; i < n; i++)
        free(stack[i]);
    free(stack);
    free(rest);
    return v;
}

/* "200.0 MiB", or the exact byte count when one decimal would not show it
 * to be over CAP MiB. */
static void size_text(char out[32], uint64_t bytes, unsigned cap_mib)
{
    double mib = (double)bytes / 1048576.0;
    if (mib < cap_mib + 0.05)
        snprintf(out, 32, "%llu bytes", (unsigned long long)bytes);
    else
        snprintf(out, 32, "%.1f MiB", mib);
}

typedef struct walk {
    const char *root;
    cr_scenario_files *out;
    size_t cap;     /* of out->files */
    size_t entries; /* files, links and folders met so far */
} walk;

/* Adds REL with SIZE bytes of content (HAS_CONTENT) and its link TARGET
 * (NULL for a file) after checking the caps. Takes TARGET. */
static int walk_add(walk *w, const char *rel, char *target, bool has_content, uint64_t size)
{
    char text[32];
    if (size > CR_SCENARIO_MAX_FILE_BYTES) {
        size_text(text, size, CR_SCENARIO_MAX_FILE_BYTES >> 20);
        free(target);
        return cr_error_set(CR_EINVAL, "%s: %s is over the %u MiB a scenario file may have", rel, text,
                            CR_SCENARIO_MAX_FILE_BYTES >> 20);
    }
    if (w->out->total + size > CR_SCENARIO_MAX_TOTAL_BYTES) {
        size_text(text, w->out->total + size, CR_SCENARIO_MAX_TOTAL_BYTES >> 20);
        free(target);
        return cr_error_set(CR_EINVAL,
                            "%s: takes the scenario folder to %s, over the %u MiB a scenario folder may have", rel,
                            text, CR_SCENARIO_MAX_TOTAL_BYTES >> 20);
    }
    cr_grow(&w->out->files, &w->cap, w->out->n + 1, sizeof *w->out->files);
    w->out->files[w->out->n++] = (cr_scenario_file){
        .path = cr_xstrdup(rel), .target = target, .has_content = has_content, .size = size};
    w->out->total += size;
    return 0;
}

/* Checks the symbolic link REL (FULL on disk) and adds it. */
static int walk_link(walk *w, const char *rel, const char *full)
{
    char target[PATH_MAX];
    ssize_t len = readlink(full, target, sizeof target - 1);
    if (len < 0)
        return cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
    target[len] = '\0';
    switch (cr_scenario_link_check(w->root, rel, target)) {
    case CR_LINK_INSIDE:
        break;
    case CR_LINK_OUTSIDE:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' points outside the scenario folder", rel, target);
    case CR_LINK_INTO_GIT:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' points into .git/", rel, target);
    case CR_LINK_LOOPS:
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' loops (more than %d links to follow)", rel, target,
                            CR_LINK_MAX_HOPS);
    }
    /* Now known to stay inside without looping, the link can be followed. */
    struct stat st;
    if (stat(full, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return walk_add(w, rel, cr_xstrdup(target), false, 0);
        return cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' names a folder; link the files in it instead", rel,
                            target);
    if (!S_ISREG(st.st_mode))
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' names something that is not a regular file", rel, target);
    return walk_add(w, rel, cr_xstrdup(target), true, (uint64_t)st.st_size);
}

/* Walks the folder REL of the root ("" for the root itself), its entries in
 * name order so that the entry named by a refusal does not depend on the
 * file system. The folder is closed before descending: a deep tree does not
 * hold a descriptor per level. */
static int walk_dir(walk *w, const char *rel)
{
    int rc = 0;
    char *dir = *rel ? cr_path_join(w->root, rel) : cr_xstrdup(w->root);
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        rc = cr_error_set(CR_ERROR, "%s: %s", dir, strerror(errno));
        goto cleanup;
    }
    /* One name past the cap is enough to refuse; a folder of millions of
     * names is not read whole. */
    while (w->entries + n <= CR_SCENARIO_MAX_FILES && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cr_grow(&names, &cap, n + 1, sizeof *names);
        names[n++] = cr_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *child = *rel ? cr_xasprintf("%s/%s", rel, names[i]) : cr_xstrdup(names[i]);
        char *full = cr_path_join(w->root, child);
        struct stat st;
        if (++w->entries > CR_SCENARIO_MAX_FILES)
            rc = cr_error_set(CR_EINVAL, "%s: more than the %d files and folders a scenario folder may have", child,
                              CR_SCENARIO_MAX_FILES);
        else if (lstat(full, &st) < 0)
            rc = cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk_dir(w, child);
        else if (S_ISREG(st.st_mode))
            rc = walk_add(w, child, NULL, true, (uint64_t)st.st_size);
        else if (S_ISLNK(st.st_mode))
            rc = walk_link(w, child, full);
        else
            rc = cr_error_set(CR_EINVAL, "%s: not a regular file, a folder or a symbolic link", child);
        free(full);
        free(child);
    }
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return rc;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const cr_scenario_file *)a)->path, ((const cr_scenario_file *)b)->path);
}

int cr_scenario_files_list(cr_scenario_files *out, const char *dir)
{
    memset(out, 0, sizeof *out);
    walk w = {.root = dir, .out = out};
    int rc = walk_dir(&w, "");
    if (rc < 0)
        cr_scenario_files_clear(out);
    else
        qsort(out->files, out->n, sizeof *out->files, cmp_file);
    return rc;
}

void cr_scenario_files_clear(cr_scenario_files *fl)
{
    if (!fl)
        return;
    for (size_t i = 0; i < fl->n; i++) {
        free(fl->files[i].path);
        free(fl->files[i].target);
    }
    free(fl->files);
    memset(fl, 0, sizeof *fl);
}

/* Opens F's content: a file without following links; a link as the listing
 * checked it. FULL is its path; *size what fstat says now, within the cap.
 * O_NONBLOCK: should a FIFO have taken the file's place since the listing,
 * the open returns (and fstat refuses it) instead of waiting for a writer. */
static int content_open(int *fd, uint64_t *size, const char *full, const cr_scenario_file *f)
{
    struct stat st;
    char text[32];
    *fd = -1;
    if (!f->has_content)
        return cr_error_set(CR_EINVAL, "%s: symlink to '%s' names nothing to read", f->path, f->target);
    *fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (f->target ? 0 : O_NOFOLLOW));
    if (*fd < 0 || fstat(*fd, &st) < 0)
        return cr_error_set(CR_ERROR, "%s: %s", full, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cr_error_set(CR_EINVAL, "%s: no longer a regular file", f->path);
    if ((uint64_t)st.st_size > CR_SCENARIO_MAX_FILE_BYTES) {
        size_text(text, (uint64_t)st.st_size, CR_SCENARIO_MAX_FILE_BYTES >> 20);
        return cr_error_set(CR_EINVAL, "%s: %s is over the %u MiB a scenario file may have", f->path, text,
                            CR_SCENARIO_MAX_FILE_BYTES >> 20);
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int cr_scenario_file_read(char **data, size_t *len, const char *dir, const cr_scenario_file *f)
{
    int fd = -1;
    uint64_t size = 0;
    size_t have = 0;
    char *full = cr_path_join(dir, f->path);
    char *buf = NULL;
    *data = NULL;
    int rc = content_open(&fd, &size, full, f);
    if (rc < 0)
        goto cleanup;
    buf = cr_xmalloc((size_t)size + 1);
    while (have < size) {
        ssize_t r = read(fd, buf + have, (size_t)size - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", full, r < 0 ? strerror(errno) : "changed while being read");
            goto cleanup;
        }
        have += (size_t)r;
    }
    buf[have] = '\0';
    *data = buf;
    *len = have;
    buf = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(full);
    return rc;
}

/* ---- The digest -------------------------------------------------------- */

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
static int hash_entry(crypto_generichash_state *h, const char *root, const cr_scenario_file *f)
{
    int rc = 0, fd = -1;
    char *full = NULL;
    uint64_t left = 0;
    unsigned char chunk[65536];
    if (f->target) {
        crypto_generichash_update(h, (const unsigned char *)"l", 1);
        hash_bytes(h, f->path, strlen(f->path));
        hash_bytes(h, f->target, strlen(f->target));
        return 0;
    }
    full = cr_path_join(root, f->path);
    rc = content_open(&fd, &left, full, f);
    if (rc < 0)
        goto cleanup;
    crypto_generichash_update(h, (const unsigned char *)"f", 1);
    hash_bytes(h, f->path, strlen(f->path));
    hash_u64(h, left);
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
    cr_scenario_files fl;
    crypto_generichash_state h;
    int rc = cr_scenario_files_list(&fl, dir);
    if (rc < 0)
        goto cleanup;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const unsigned char *)"crange.digest.v1", 17);
    for (size_t i = 0; i < fl.n && rc == 0; i++)
        rc = hash_entry(&h, dir, &fl.files[i]);
    if (rc == 0)
        crypto_generichash_final(&h, out, 32);
cleanup:
    cr_scenario_files_clear(&fl);
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
    /* The folder's files are checked (and digested) after the first team's
     * run, whose validation names the line of a file{} whose source is a
     * link out of the folder (model.c), which says more than the link
     * alone; and before the other teams' runs, which a refused folder would
     * waste. The scenario's Lua reads no file but its modules, each through
     * the sandbox's own confinement and memory limit. */
    rc = cr_scenario_digest(s->digest, s->dir);
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
