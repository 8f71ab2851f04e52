/*
 * scenario.c: cr_scenario_load (scenario.h). Finds the scenario folder,
 * digests its files, evaluates scenario.lua once per team, each time in a
 * fresh sandbox (sandbox.h) with the language installed (lang.h), turns the
 * team's declarations into the C model (model.h) and validates it.
 *
 * Team 1 runs first: when the caller leaves the team count to the scenario,
 * only its scenario{} declaration can say how many teams follow. Each
 * sandbox is closed once its team is converted; keeping it instead (for
 * objectives' check functions) only needs eval_team to hand it over.
 */
#include "scenario.h"

#include "err.h"
#include "lang.h"
#include "sandbox.h"
#include "util.h"
#include "vars.h"

#include <lauxlib.h>
#include <lua.h>
#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Finding the folder ------------------------------------------------ */

static int resolve_dir(char **out, const char *path)
{
    int rc = 0;
    struct stat st;
    char *dir = NULL, *parent = NULL, *script = NULL;
    *out = NULL;
    if (stat(path, &st) < 0) {
        rc = cr_error_set(CR_ENOTFOUND, "%s: no such scenario folder", path);
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        dir = cr_realpath(path);
    } else {
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (!S_ISREG(st.st_mode) || strcmp(base, "scenario.lua") != 0) {
            rc = cr_error_set(CR_EINVAL, "%s: not a scenario folder or scenario.lua", path);
            goto cleanup;
        }
        parent = slash ? cr_xstrndup(path, (size_t)(slash - path) + (slash == path)) : cr_xstrdup(".");
        dir = cr_realpath(parent);
    }
    if (!dir) {
        rc = cr_error_set(CR_ENOTFOUND, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    script = cr_path_join(dir, "scenario.lua");
    if (!cr_path_exists(script)) {
        rc = cr_error_set(CR_ENOTFOUND, "%s: no scenario.lua", path);
        goto cleanup;
    }
    *out = dir;
    dir = NULL;
cleanup:
    free(dir);
    free(parent);
    free(script);
    return rc;
}

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

/* ---- Declarations to model --------------------------------------------
 * These run inside a protected call. lua_getfield may raise (it interns the
 * key), so every heap block is stored into the model, which the caller
 * frees, before the next call that may raise. */

static char *get_strn(lua_State *L, int idx, const char *key, size_t *len)
{
    char *r = NULL;
    size_t n = 0;
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *p = lua_tolstring(L, -1, &n);
        r = cr_xmalloc(n + 1);
        memcpy(r, p, n);
        r[n] = '\0';
    }
    lua_pop(L, 1);
    if (len)
        *len = n;
    return r;
}

static char *get_str(lua_State *L, int idx, const char *key)
{
    return get_strn(L, idx, key, NULL);
}

static lua_Integer get_int(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static bool get_bool(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static void get_where(lua_State *L, int idx, cr_where *w)
{
    w->file = get_str(L, idx, "file");
    w->line = (int)get_int(L, idx, "line");
}

static void get_text(lua_State *L, int idx, const char *key, cr_text *out)
{
    lua_getfield(L, idx, key);
    if (lua_istable(L, -1)) {
        int t = lua_gettop(L);
        out->ja = get_str(L, t, "ja");
        out->en = get_str(L, t, "en");
    }
    lua_pop(L, 1);
}

/* A list of strings as a NULL-terminated vector; NULL when absent. */
static void get_strv(lua_State *L, int idx, const char *key, char ***out)
{
    lua_getfield(L, idx, key);
    if (lua_istable(L, -1)) {
        size_t n = (size_t)lua_rawlen(L, -1);
        *out = cr_xcalloc(n + 1, sizeof **out);
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            (*out)[i] = cr_xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* Pushes the list decl[key] and returns its length. */
static size_t push_list(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    return lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
}

static void convert_scenario(lua_State *L, cr_scenario *s, int decl)
{
    lua_getfield(L, decl, "scenario");
    int sc = lua_gettop(L);
    s->id = get_str(L, sc, "id");
    get_text(L, sc, "title", &s->title);
    get_text(L, sc, "description", &s->description);
    s->default_teams = (int)get_int(L, sc, "teams");
    get_where(L, sc, &s->where);
    size_t n = push_list(L, sc, "sources");
    s->sources = cr_xcalloc(n ? n : 1, sizeof *s->sources);
    s->n_sources = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        s->sources[i] = cr_xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static void convert_networks(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "networks");
    int list = lua_gettop(L);
    t->networks = cr_xcalloc(n ? n : 1, sizeof *t->networks);
    t->n_networks = n;
    for (size_t i = 0; i < n; i++) {
        cr_network *net = &t->networks[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        net->name = get_str(L, e, "name");
        net->addr = (uint32_t)get_int(L, e, "addr");
        net->prefix = (int)get_int(L, e, "prefix");
        net->dhcp = get_bool(L, e, "dhcp");
        net->forward = get_str(L, e, "forward");
        get_where(L, e, &net->where);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_step(lua_State *L, int e, cr_step *st)
{
    get_where(L, e, &st->where);
    lua_getfield(L, e, "kind");
    const char *kind = lua_tostring(L, -1);
    st->kind = !kind ? 0 : !strcmp(kind, "file") ? CR_STEP_FILE : !strcmp(kind, "user") ? CR_STEP_USER : CR_STEP_RUN;
    lua_pop(L, 1);
    switch (st->kind) {
    case CR_STEP_FILE:
        st->src = get_str(L, e, "src");
        st->content = get_strn(L, e, "content", &st->content_len);
        st->dest = get_str(L, e, "dest");
        st->mode = (unsigned)get_int(L, e, "mode");
        break;
    case CR_STEP_USER:
        st->user = get_str(L, e, "name");
        st->password = get_str(L, e, "password");
        st->shell = get_str(L, e, "shell");
        get_strv(L, e, "groups", &st->groups);
        break;
    case CR_STEP_RUN:
        get_strv(L, e, "argv", &st->argv);
        st->timeout_s = (int)get_int(L, e, "timeout");
        break;
    }
}

static void convert_vm(lua_State *L, int e, cr_vm *vm)
{
    vm->name = get_str(L, e, "name");
    vm->image = get_str(L, e, "image");
    vm->memory_mib = (unsigned)get_int(L, e, "memory");
    vm->vcpus = (unsigned)get_int(L, e, "vcpus");
    vm->gateway = (uint32_t)get_int(L, e, "gateway");
    vm->entry = get_bool(L, e, "entry");
    get_text(L, e, "description", &vm->description);
    get_where(L, e, &vm->where);

    size_t n = push_list(L, e, "nics");
    int list = lua_gettop(L);
    vm->nics = cr_xcalloc(n ? n : 1, sizeof *vm->nics);
    vm->n_nics = n;
    for (size_t i = 0; i < n; i++) {
        cr_nic *nic = &vm->nics[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        nic->network = get_str(L, lua_gettop(L), "network");
        nic->addr = (uint32_t)get_int(L, lua_gettop(L), "addr");
        get_where(L, e, &nic->where); /* a nic is declared where its vm is */
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    n = push_list(L, e, "steps");
    list = lua_gettop(L);
    vm->steps = cr_xcalloc(n ? n : 1, sizeof *vm->steps);
    vm->n_steps = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        convert_step(L, lua_gettop(L), &vm->steps[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_vms(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "vms");
    int list = lua_gettop(L);
    t->vms = cr_xcalloc(n ? n : 1, sizeof *t->vms);
    t->n_vms = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        convert_vm(L, lua_gettop(L), &t->vms[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_vars(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "vars");
    int list = lua_gettop(L);
    t->vars = cr_xcalloc(n ? n : 1, sizeof *t->vars);
    t->n_vars = n;
    for (size_t i = 0; i < n; i++) {
        cr_var *v = &t->vars[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        v->name = get_str(L, e, "name");
        v->value = get_str(L, e, "value");
        v->secret = get_bool(L, e, "secret");
        get_where(L, e, &v->where);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* convert_team(scenario, team): a protected C function. */
static int convert_team(lua_State *L)
{
    cr_scenario *s = lua_touserdata(L, 1);
    cr_team_model *t = lua_touserdata(L, 2);
    cr_lang_push_declarations(L);
    int decl = lua_gettop(L);
    if (!s->id)
        convert_scenario(L, s, decl);
    convert_networks(L, t, decl);
    convert_vms(L, t, decl);
    convert_vars(L, t, decl);
    return 0;
}

/* ---- Evaluation -------------------------------------------------------- */

static int eval_team(cr_scenario *s, int team, int count, const cr_load_opts *opts,
                     const unsigned char *secret)
{
    int rc;
    cr_sandbox *sb = NULL;
    cr_sandbox_opts so = {
        .dir = s->dir,
        .memory_limit = opts->memory_limit,
        .instruction_limit = opts->instruction_limit,
    };
    cr_lang_opts lo = {.team = team, .count = count, .secret = secret};
    cr_team_model *t = &s->teams[team - 1];
    t->number = team;

    rc = cr_sandbox_new(&sb, &so);
    if (rc < 0)
        goto cleanup;
    rc = cr_lang_open(sb, &lo);
    if (rc < 0)
        goto cleanup;
    rc = cr_sandbox_run_file(sb, "scenario.lua");
    if (rc < 0)
        goto cleanup;
    lua_State *L = cr_sandbox_lua(sb);
    lua_pushcfunction(L, convert_team);
    lua_pushlightuserdata(L, s);
    lua_pushlightuserdata(L, t);
    rc = cr_sandbox_pcall(sb, 2, 0);
    if (rc < 0)
        goto cleanup;
    rc = cr_model_validate(s, t, opts->image_known, opts->image_ctx);
cleanup:
    cr_sandbox_free(sb);
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
    if (opts->teams < 0 || opts->teams > CR_MAX_TEAMS) {
        rc = cr_error_set(CR_EINVAL, "%s: the number of teams must be from 1 to %d, not %d", path, CR_MAX_TEAMS,
                          opts->teams);
        goto cleanup;
    }
    if (sodium_init() < 0) {
        rc = cr_error_set(CR_ERROR, "libsodium cannot be initialised");
        goto cleanup;
    }
    rc = resolve_dir(&dir, path);
    if (rc < 0)
        goto cleanup;
    s = cr_xcalloc(1, sizeof *s);
    s->dir = dir;
    dir = NULL;
    rc = digest_folder(s->digest, s->dir);
    if (rc < 0)
        goto cleanup;

    const unsigned char *secret = opts->secret ? opts->secret : cr_vars_public_secret;
    s->n_teams = opts->teams ? (size_t)opts->teams : 1;
    s->teams = cr_xcalloc(s->n_teams, sizeof *s->teams);
    rc = eval_team(s, 1, opts->teams, opts, secret);
    if (rc < 0)
        goto cleanup;
    int count = opts->teams ? opts->teams : s->default_teams;
    if ((size_t)count > s->n_teams) {
        s->teams = cr_xrealloc(s->teams, (size_t)count * sizeof *s->teams);
        memset(s->teams + s->n_teams, 0, ((size_t)count - s->n_teams) * sizeof *s->teams);
        s->n_teams = (size_t)count;
    }
    for (int team = 2; team <= count; team++) {
        rc = eval_team(s, team, count, opts, secret);
        if (rc < 0)
            goto cleanup;
    }
    *out = s;
    s = NULL;
cleanup:
    free(dir);
    cr_scenario_free(s);
    return rc;
}
