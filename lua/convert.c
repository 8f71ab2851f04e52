/*
 * convert.c: cr_convert_team (convert.h). Reads the declarations table the
 * prelude keeps (its layout is at the end of prelude.lua) and copies it into
 * the C model, team by team. Validation is not done here: the prelude checked
 * each declaration's keys and types, and cr_model_validate (model.c) checks
 * what spans declarations.
 */
#include "convert.h"

#include "lang.h"
#include "util.h"

#include <lauxlib.h>

#include <stdlib.h>
#include <string.h>

/* These run inside a protected call. lua_getfield may raise (it interns the
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
    s->spread = get_bool(L, sc, "spread");
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

/* The "steps" list of the declaration at e (a VM's or a role's); the
 * caller owns *out. */
static void convert_steps(lua_State *L, int e, cr_step **out, size_t *n_out)
{
    size_t n = push_list(L, e, "steps");
    int list = lua_gettop(L);
    *out = cr_xcalloc(n ? n : 1, sizeof **out);
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        convert_step(L, lua_gettop(L), &(*out)[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_vm(lua_State *L, int e, cr_vm *vm)
{
    vm->name = get_str(L, e, "name");
    vm->image = get_str(L, e, "image");
    vm->role = get_str(L, e, "role");
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

    convert_steps(L, e, &vm->steps, &vm->n_steps);
}

static void convert_roles(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "roles");
    int list = lua_gettop(L);
    t->roles = cr_xcalloc(n ? n : 1, sizeof *t->roles);
    t->n_roles = n;
    for (size_t i = 0; i < n; i++) {
        cr_role *r = &t->roles[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        r->name = get_str(L, e, "name");
        r->image = get_str(L, e, "image");
        get_strv(L, e, "packages", &r->packages);
        get_where(L, e, &r->where);
        convert_steps(L, e, &r->steps, &r->n_steps);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* A VM given only a role runs the role's image (model.h). An unknown role
 * leaves the image unset; cr_model_validate reports it at the VM. */
static void resolve_role_images(cr_team_model *t)
{
    for (size_t i = 0; i < t->n_vms; i++) {
        cr_vm *vm = &t->vms[i];
        const cr_role *r = vm->role && !vm->image ? cr_team_role(t, vm->role) : NULL;
        if (r && r->image)
            vm->image = cr_xstrdup(r->image);
    }
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

/* Hints: { { ja, en, cost }, ... } at decl[key]. */
static void convert_hints(lua_State *L, int e, cr_hint **out, size_t *n_out)
{
    size_t n = push_list(L, e, "hints");
    int list = lua_gettop(L);
    *out = cr_xcalloc(n ? n : 1, sizeof **out);
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        cr_hint *h = &(*out)[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int he = lua_gettop(L);
        h->text.ja = get_str(L, he, "ja");
        h->text.en = get_str(L, he, "en");
        h->cost = (int)get_int(L, he, "cost");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static bool is_function(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    bool r = lua_type(L, -1) == LUA_TFUNCTION;
    lua_pop(L, 1);
    return r;
}

static void convert_objectives(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "objectives");
    int list = lua_gettop(L);
    t->objectives = cr_xcalloc(n ? n : 1, sizeof *t->objectives);
    t->n_objectives = n;
    for (size_t i = 0; i < n; i++) {
        cr_objective *o = &t->objectives[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        o->id = get_str(L, e, "id");
        get_text(L, e, "title", &o->title);
        o->points = (int)get_int(L, e, "points");
        get_strv(L, e, "prereqs", &o->prereqs);
        get_strv(L, e, "attack", &o->attack);
        get_strv(L, e, "skills", &o->skills);
        convert_hints(L, e, &o->hints, &o->n_hints);
        lua_getfield(L, e, "mode");
        const char *mode = lua_tostring(L, -1);
        o->mode = mode && !strcmp(mode, "hold") ? CR_MODE_HOLD : CR_MODE_ONCE;
        lua_pop(L, 1);
        o->has_check = is_function(L, e, "check");
        get_where(L, e, &o->where);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_flags(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "flags");
    int list = lua_gettop(L);
    t->flags = cr_xcalloc(n ? n : 1, sizeof *t->flags);
    t->n_flags = n;
    for (size_t i = 0; i < n; i++) {
        cr_flag *f = &t->flags[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        f->id = get_str(L, e, "id");
        get_text(L, e, "question", &f->question);
        f->points = (int)get_int(L, e, "points");
        f->max_attempts = (int)get_int(L, e, "max_attempts");
        lua_getfield(L, e, "answer_kind");
        const char *kind = lua_tostring(L, -1);
        f->answer_kind = kind && !strcmp(kind, "pattern") ? CR_ANSWER_PATTERN : CR_ANSWER_LITERAL;
        lua_pop(L, 1);
        f->answer = get_str(L, e, "answer");
        f->case_sensitive = get_bool(L, e, "case_sensitive");
        get_strv(L, e, "attack", &f->attack);
        get_strv(L, e, "skills", &f->skills);
        convert_hints(L, e, &f->hints, &f->n_hints);
        get_where(L, e, &f->where);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void convert_injects(lua_State *L, cr_team_model *t, int decl)
{
    size_t n = push_list(L, decl, "injects");
    int list = lua_gettop(L);
    t->injects = cr_xcalloc(n ? n : 1, sizeof *t->injects);
    t->n_injects = n;
    for (size_t i = 0; i < n; i++) {
        cr_inject *in = &t->injects[i];
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        int e = lua_gettop(L);
        in->id = get_str(L, e, "id");
        get_text(L, e, "title", &in->title);
        in->at_s = (int)get_int(L, e, "at");
        in->has_when = is_function(L, e, "when");
        in->has_action = is_function(L, e, "action");
        in->vm = get_str(L, e, "vm");
        get_strv(L, e, "argv", &in->argv);
        get_where(L, e, &in->where);
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
    convert_roles(L, t, decl);
    convert_vms(L, t, decl);
    resolve_role_images(t);
    convert_vars(L, t, decl);
    convert_objectives(L, t, decl);
    convert_flags(L, t, decl);
    convert_injects(L, t, decl);
    lua_getfield(L, decl, "solution");
    t->has_solution = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return 0;
}

int cr_convert_team(cr_sandbox *sb, cr_scenario *s, cr_team_model *t)
{
    lua_State *L = cr_sandbox_lua(sb);
    lua_pushcfunction(L, convert_team);
    lua_pushlightuserdata(L, s);
    lua_pushlightuserdata(L, t);
    return cr_sandbox_pcall(sb, 2, 0);
}
