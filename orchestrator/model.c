/*
 * model.c: freeing, lookups and the semantic validation of the scenario
 * model (model.h). Validation runs on one team at a time, because a team's
 * model is what becomes one isolated copy of the range (and the exercise
 * content can differ per team: flag answers are functions of vars).
 */
#include "model.h"

#include "err.h"
#include "util.h"

#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void free_text(cr_text *t)
{
    free(t->ja);
    free(t->en);
}

static void free_step(cr_step *st)
{
    free(st->where.file);
    free(st->src);
    free(st->content);
    free(st->dest);
    free(st->user);
    free(st->password);
    free(st->shell);
    free_strv(st->groups);
    free_strv(st->argv);
}

static void free_vm(cr_vm *vm)
{
    free(vm->name);
    free(vm->image);
    free(vm->role);
    for (size_t i = 0; i < vm->n_nics; i++) {
        free(vm->nics[i].network);
        free(vm->nics[i].where.file);
    }
    free(vm->nics);
    for (size_t i = 0; i < vm->n_steps; i++)
        free_step(&vm->steps[i]);
    free(vm->steps);
    free_text(&vm->description);
    free(vm->where.file);
}

static void free_hints(cr_hint *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_text(&h[i].text);
    free(h);
}

static void free_content(cr_team_model *t)
{
    for (size_t i = 0; i < t->n_objectives; i++) {
        cr_objective *o = &t->objectives[i];
        free(o->id);
        free_text(&o->title);
        free_strv(o->prereqs);
        free_strv(o->attack);
        free_strv(o->skills);
        free_hints(o->hints, o->n_hints);
        free(o->where.file);
    }
    free(t->objectives);
    for (size_t i = 0; i < t->n_flags; i++) {
        cr_flag *f = &t->flags[i];
        free(f->id);
        free_text(&f->question);
        free(f->answer);
        free_strv(f->attack);
        free_strv(f->skills);
        free_hints(f->hints, f->n_hints);
        free(f->where.file);
    }
    free(t->flags);
    for (size_t i = 0; i < t->n_injects; i++) {
        cr_inject *in = &t->injects[i];
        free(in->id);
        free_text(&in->title);
        free(in->vm);
        free_strv(in->argv);
        free(in->where.file);
    }
    free(t->injects);
}

static void free_role(cr_role *r)
{
    free(r->name);
    free(r->image);
    free_strv(r->packages);
    for (size_t i = 0; i < r->n_steps; i++)
        free_step(&r->steps[i]);
    free(r->steps);
    free(r->where.file);
}

static void free_team(cr_team_model *t)
{
    for (size_t i = 0; i < t->n_networks; i++) {
        free(t->networks[i].name);
        free(t->networks[i].forward);
        free(t->networks[i].where.file);
    }
    free(t->networks);
    for (size_t i = 0; i < t->n_vms; i++)
        free_vm(&t->vms[i]);
    free(t->vms);
    for (size_t i = 0; i < t->n_vars; i++) {
        free(t->vars[i].name);
        free(t->vars[i].value);
        free(t->vars[i].where.file);
    }
    free(t->vars);
    for (size_t i = 0; i < t->n_roles; i++)
        free_role(&t->roles[i]);
    free(t->roles);
    free_content(t);
}

void cr_scenario_free(cr_scenario *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s->id);
    free_text(&s->title);
    free_text(&s->description);
    for (size_t i = 0; i < s->n_sources; i++)
        free(s->sources[i]);
    free(s->sources);
    free(s->where.file);
    for (size_t i = 0; i < s->n_teams; i++)
        free_team(&s->teams[i]);
    free(s->teams);
    free(s);
}

const cr_network *cr_team_network(const cr_team_model *t, const char *name)
{
    for (size_t i = 0; i < t->n_networks; i++)
        if (!strcmp(t->networks[i].name, name))
            return &t->networks[i];
    return NULL;
}

const cr_vm *cr_team_vm(const cr_team_model *t, const char *name)
{
    for (size_t i = 0; i < t->n_vms; i++)
        if (!strcmp(t->vms[i].name, name))
            return &t->vms[i];
    return NULL;
}

const cr_var *cr_team_var(const cr_team_model *t, const char *name)
{
    for (size_t i = 0; i < t->n_vars; i++)
        if (!strcmp(t->vars[i].name, name))
            return &t->vars[i];
    return NULL;
}

const cr_objective *cr_team_objective(const cr_team_model *t, const char *id)
{
    for (size_t i = 0; i < t->n_objectives; i++)
        if (!strcmp(t->objectives[i].id, id))
            return &t->objectives[i];
    return NULL;
}

const cr_flag *cr_team_flag(const cr_team_model *t, const char *id)
{
    for (size_t i = 0; i < t->n_flags; i++)
        if (!strcmp(t->flags[i].id, id))
            return &t->flags[i];
    return NULL;
}

const cr_role *cr_team_role(const cr_team_model *t, const char *name)
{
    for (size_t i = 0; i < t->n_roles; i++)
        if (!strcmp(t->roles[i].name, name))
            return &t->roles[i];
    return NULL;
}

int cr_model_error(const cr_where *w, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = w && w->file ? w->file : "scenario.lua";
    if (w && w->line > 0)
        return cr_error_set(CR_EINVAL, "%s:%d: %s", file, w->line, msg);
    return cr_error_set(CR_EINVAL, "%s: %s", file, msg);
}

static void where_text(char *out, size_t n, const cr_where *w)
{
    snprintf(out, n, "%s:%d", w->file ? w->file : "scenario.lua", w->line);
}

/*
 * A file source must stay inside the scenario folder: relative, without
 * "..", and resolving (after symlinks) under the folder.
 */
static int check_source(const cr_scenario *s, const cr_step *st)
{
    const char *src = st->src;
    if (src[0] == '/')
        return cr_model_error(&st->where, "file source '%s' must be relative to the scenario folder", src);
    for (const char *p = src; *p;) {
        size_t seg = strcspn(p, "/");
        if (seg == 2 && p[0] == '.' && p[1] == '.')
            return cr_model_error(&st->where, "file source '%s' leaves the scenario folder", src);
        p += seg;
        while (*p == '/')
            p++;
    }
    int rc = 0;
    char *full = cr_path_join(s->dir, src);
    char *real = cr_realpath(full);
    char *root = cr_realpath(s->dir);
    struct stat sb;
    if (!real) {
        rc = cr_model_error(&st->where, "file source '%s' does not exist", src);
    } else if (!root || strncmp(real, root, strlen(root)) != 0 || real[strlen(root)] != '/') {
        rc = cr_model_error(&st->where, "file source '%s' resolves outside the scenario folder", src);
    } else if (stat(real, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        rc = cr_model_error(&st->where, "file source '%s' is not a regular file", src);
    }
    free(full);
    free(real);
    free(root);
    return rc;
}

/* A file step's destination and source; other steps pass. */
static int check_file_step(const cr_scenario *s, const cr_step *st, const char *what, const char *name)
{
    if (st->kind != CR_STEP_FILE)
        return 0;
    if (!st->dest || st->dest[0] != '/')
        return cr_model_error(&st->where, "%s '%s': file destination must be an absolute path", what, name);
    return st->src ? check_source(s, st) : 0;
}

static int validate_vm(const cr_scenario *s, const cr_team_model *t, const cr_vm *vm,
                       bool (*image_known)(const char *, void *), void *ctx)
{
    char fmt_addr[16];
    if (!cr_name_valid(vm->name, CR_NAME_MAX))
        return cr_model_error(&vm->where,
                              "vm name '%s' must be a lowercase letter then letters, digits or '-' (at most %d)",
                              vm->name, CR_NAME_MAX);
    if (vm->role) {
        const cr_role *role = cr_team_role(t, vm->role);
        if (!role)
            return cr_model_error(&vm->where, "vm '%s': unknown role '%s'", vm->name, vm->role);
        if (vm->image && strcmp(vm->image, role->image))
            return cr_model_error(&vm->where, "vm '%s': image '%s' is not the image of role '%s' ('%s'); give one of them",
                                  vm->name, vm->image, role->name, role->image);
    } else if (!vm->image) {
        return cr_model_error(&vm->where, "vm '%s': needs an image or a role", vm->name);
    }
    if (vm->image && image_known && !image_known(vm->image, ctx))
        return cr_model_error(&vm->where, "vm '%s': unknown image '%s'", vm->name, vm->image);
    if (vm->n_nics > CR_MAX_NICS)
        return cr_model_error(&vm->where, "vm '%s': more than %d nics", vm->name, CR_MAX_NICS);

    for (size_t i = 0; i < vm->n_nics; i++) {
        const cr_nic *nic = &vm->nics[i];
        const cr_network *net = cr_team_network(t, nic->network);
        if (!net)
            return cr_model_error(&nic->where, "vm '%s': unknown network '%s'", vm->name, nic->network);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(vm->nics[j].network, nic->network))
                return cr_model_error(&nic->where, "vm '%s': two nics on network '%s'", vm->name, nic->network);
        if (!nic->addr)
            continue;
        cr_ipv4_format(fmt_addr, nic->addr);
        if (!cr_cidr_contains(net->addr, net->prefix, nic->addr))
            return cr_model_error(&nic->where, "vm '%s': address %s is outside network '%s'", vm->name,
                                  fmt_addr, net->name);
        uint32_t host = nic->addr & ~cr_cidr_mask(net->prefix);
        if (net->prefix < 31 && (host == 0 || host == ~cr_cidr_mask(net->prefix)))
            return cr_model_error(&nic->where, "vm '%s': address %s is the %s address of network '%s'",
                                  vm->name, fmt_addr, host == 0 ? "network" : "broadcast", net->name);
    }
    if (vm->gateway) {
        bool reachable = false;
        for (size_t i = 0; i < vm->n_nics; i++) {
            const cr_network *net = cr_team_network(t, vm->nics[i].network);
            if (vm->nics[i].addr && cr_cidr_contains(net->addr, net->prefix, vm->gateway))
                reachable = true;
        }
        cr_ipv4_format(fmt_addr, vm->gateway);
        if (!reachable)
            return cr_model_error(&vm->where, "vm '%s': gateway %s is on none of its networks", vm->name,
                                  fmt_addr);
    }
    for (size_t i = 0; i < vm->n_steps; i++) {
        int rc = check_file_step(s, &vm->steps[i], "vm", vm->name);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Roles: unique names, a known image, and only file and run steps (a user
 * is per-team provisioning, not part of a template). Package names were
 * checked by the language when the role was declared.
 */
static int validate_roles(const cr_scenario *s, const cr_team_model *t,
                          bool (*image_known)(const char *, void *), void *ctx)
{
    char here[PATH_MAX];
    for (size_t i = 0; i < t->n_roles; i++) {
        const cr_role *r = &t->roles[i];
        if (!cr_name_valid(r->name, CR_NAME_MAX))
            return cr_model_error(&r->where,
                                  "role name '%s' must be a lowercase letter then letters, digits or '-' (at most %d)",
                                  r->name, CR_NAME_MAX);
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(r->name, t->roles[j].name)) {
                where_text(here, sizeof here, &t->roles[j].where);
                return cr_model_error(&r->where, "duplicate role '%s' (first declared at %s)", r->name, here);
            }
        }
        if (!r->image)
            return cr_model_error(&r->where, "role '%s': needs an image", r->name);
        if (image_known && !image_known(r->image, ctx))
            return cr_model_error(&r->where, "role '%s': unknown image '%s'", r->name, r->image);
        for (size_t k = 0; k < r->n_steps; k++) {
            const cr_step *st = &r->steps[k];
            if (st->kind != CR_STEP_FILE && st->kind != CR_STEP_RUN)
                return cr_model_error(&st->where, "role '%s': only file and run steps belong in a role", r->name);
            int rc = check_file_step(s, st, "role", r->name);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* The index of objective ID, or -1 (a flag, or nothing). */
static long objective_index(const cr_team_model *t, const char *id)
{
    const cr_objective *o = cr_team_objective(t, id);
    return o ? o - t->objectives : -1;
}

/*
 * Depth-first search for a path of prerequisites from objective `at` back
 * to `target`; path[0..*depth) holds the objectives on the way. seen keeps
 * the search linear per start.
 */
static bool prereq_path(const cr_team_model *t, size_t at, size_t target, bool *seen, size_t *path, size_t *depth)
{
    path[(*depth)++] = at;
    for (char **p = t->objectives[at].prereqs; p && *p; p++) {
        long next = objective_index(t, *p);
        if (next < 0)
            continue;
        if ((size_t)next == target)
            return true;
        if (seen[next])
            continue;
        seen[next] = true;
        if (prereq_path(t, (size_t)next, target, seen, path, depth))
            return true;
    }
    (*depth)--;
    return false;
}

/* The first objective (in declaration order) that is its own prerequisite,
 * directly or not, is reported with the cycle: "a -> b -> a". */
static int check_prereq_cycles(const cr_team_model *t)
{
    int rc = 0;
    size_t n = t->n_objectives;
    bool *seen = cr_xcalloc(n ? n : 1, sizeof *seen);
    size_t *path = cr_xcalloc(n ? n : 1, sizeof *path);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t depth = 0;
        memset(seen, 0, n * sizeof *seen);
        seen[i] = true;
        if (!prereq_path(t, i, i, seen, path, &depth))
            continue;
        cr_buf b = {0};
        for (size_t k = 0; k < depth; k++)
            cr_buf_addf(&b, "%s -> ", t->objectives[path[k]].id);
        cr_buf_add(&b, t->objectives[i].id);
        rc = cr_model_error(&t->objectives[i].where, "objective '%s': prerequisites form a cycle (%s)",
                            t->objectives[i].id, b.data);
        cr_buf_free(&b);
    }
    free(seen);
    free(path);
    return rc;
}

static const cr_where *content_where(const cr_team_model *t, const char *id)
{
    const cr_objective *o = cr_team_objective(t, id);
    if (o)
        return &o->where;
    const cr_flag *f = cr_team_flag(t, id);
    return f ? &f->where : NULL;
}

static int validate_flag(const cr_flag *f)
{
    if (!f->answer || !f->answer[0])
        return cr_model_error(&f->where, "flag '%s': the answer is empty", f->id);
    if (f->answer_kind == CR_ANSWER_PATTERN) {
        regex_t re;
        int err = regcomp(&re, f->answer, REG_EXTENDED | REG_NOSUB);
        if (err) {
            char why[256];
            regerror(err, &re, why, sizeof why);
            return cr_model_error(&f->where, "flag '%s': bad pattern '%s': %s", f->id, f->answer, why);
        }
        regfree(&re);
    }
    return 0;
}

/*
 * The exercise content: ids unique across objectives and flags (hints,
 * prerequisites and the scoring engine name either by id), prerequisites
 * that exist and form no cycle, answers that can be compared, injects with
 * unique ids whose `run` names a VM of the team.
 */
static int validate_content(const cr_team_model *t)
{
    char here[PATH_MAX];
    /* The prelude already refuses a duplicate at its declaration, where the
     * order across objectives and flags is known; this guards other
     * producers of the model (objectives are taken as declared first). */
    for (size_t i = 0; i < t->n_objectives + t->n_flags; i++) {
        bool is_obj = i < t->n_objectives;
        const char *id = is_obj ? t->objectives[i].id : t->flags[i - t->n_objectives].id;
        const cr_where *w = is_obj ? &t->objectives[i].where : &t->flags[i - t->n_objectives].where;
        for (size_t j = 0; j < i; j++) {
            bool j_obj = j < t->n_objectives;
            if (strcmp(id, j_obj ? t->objectives[j].id : t->flags[j - t->n_objectives].id) != 0)
                continue;
            where_text(here, sizeof here, j_obj ? &t->objectives[j].where : &t->flags[j - t->n_objectives].where);
            return cr_model_error(w, "duplicate id '%s' (first declared at %s)", id, here);
        }
    }
    for (size_t i = 0; i < t->n_objectives; i++) {
        const cr_objective *o = &t->objectives[i];
        for (char **p = o->prereqs; p && *p; p++)
            if (!content_where(t, *p))
                return cr_model_error(&o->where, "objective '%s': unknown prerequisite '%s' (not an objective or flag)",
                                      o->id, *p);
    }
    int rc = check_prereq_cycles(t);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < t->n_flags; i++) {
        rc = validate_flag(&t->flags[i]);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < t->n_injects; i++) {
        const cr_inject *in = &t->injects[i];
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(in->id, t->injects[j].id)) {
                where_text(here, sizeof here, &t->injects[j].where);
                return cr_model_error(&in->where, "duplicate inject '%s' (first declared at %s)", in->id, here);
            }
        }
        if (in->vm && !cr_team_vm(t, in->vm))
            return cr_model_error(&in->where, "inject '%s': run: unknown vm '%s'", in->id, in->vm);
    }
    return 0;
}

int cr_model_validate(const cr_scenario *s, const cr_team_model *t,
                      bool (*image_known)(const char *name, void *ctx), void *ctx)
{
    char here[PATH_MAX];
    if (t->n_networks > CR_MAX_NETWORKS)
        return cr_model_error(&t->networks[CR_MAX_NETWORKS].where, "more than %d networks", CR_MAX_NETWORKS);
    if (t->n_vms > CR_MAX_VMS)
        return cr_model_error(&t->vms[CR_MAX_VMS].where, "more than %d vms", CR_MAX_VMS);

    for (size_t i = 0; i < t->n_networks; i++) {
        const cr_network *a = &t->networks[i];
        if (!cr_name_valid(a->name, CR_NAME_MAX))
            return cr_model_error(&a->where,
                                  "network name '%s' must be a lowercase letter then letters, digits or '-' (at most %d)",
                                  a->name, CR_NAME_MAX);
        for (size_t j = 0; j < i; j++) {
            const cr_network *b = &t->networks[j];
            where_text(here, sizeof here, &b->where);
            if (!strcmp(a->name, b->name))
                return cr_model_error(&a->where, "duplicate network '%s' (first declared at %s)", a->name, here);
            if (cr_cidr_overlap(a->addr, a->prefix, b->addr, b->prefix))
                return cr_model_error(&a->where, "network '%s' overlaps network '%s' (%s)", a->name, b->name, here);
        }
    }

    int rc = validate_roles(s, t, image_known, ctx);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < t->n_vms; i++) {
        const cr_vm *vm = &t->vms[i];
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(vm->name, t->vms[j].name)) {
                where_text(here, sizeof here, &t->vms[j].where);
                return cr_model_error(&vm->where, "duplicate vm '%s' (first declared at %s)", vm->name, here);
            }
        }
        rc = validate_vm(s, t, vm, image_known, ctx);
        if (rc < 0)
            return rc;
    }

    /* Addresses are unique within the team, across all VMs. */
    for (size_t i = 0; i < t->n_vms; i++) {
        for (size_t k = 0; k < t->vms[i].n_nics; k++) {
            const cr_nic *a = &t->vms[i].nics[k];
            if (!a->addr)
                continue;
            for (size_t j = 0; j <= i; j++) {
                size_t limit = j == i ? k : t->vms[j].n_nics;
                for (size_t m = 0; m < limit; m++) {
                    const cr_nic *b = &t->vms[j].nics[m];
                    if (b->addr != a->addr)
                        continue;
                    char addr[16];
                    cr_ipv4_format(addr, a->addr);
                    where_text(here, sizeof here, &b->where);
                    return cr_model_error(&a->where, "address %s of vm '%s' is already used by vm '%s' (%s)",
                                          addr, t->vms[i].name, t->vms[j].name, here);
                }
            }
        }
    }
    return validate_content(t);
}

int cr_model_require_vms(const cr_scenario *s)
{
    for (size_t t = 0; t < s->n_teams; t++)
        if (s->teams[t].n_vms)
            return 0;
    return cr_model_error(&s->where, "scenario: no vm{} is declared (a range needs at least one VM)");
}
