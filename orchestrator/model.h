/*
 * model.h: the plain C model of a scenario, as the Lua loader (lua/scenario.h)
 * produces it and the rest of crange consumes it. Nothing here knows Lua.
 *
 * A scenario is evaluated once per team (its per-team `vars` differ), so the
 * model holds scenario-wide facts once and one cr_team_model per team.
 *
 * Ownership: a cr_scenario owns every string and array reachable from it;
 * cr_scenario_free() releases all of it and accepts NULL.
 */
#ifndef CRANGE_MODEL_H
#define CRANGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits that keep derived names (bridges: 15 characters) and cmdlines sane. */
#define CR_MAX_TEAMS 999
#define CR_MAX_NETWORKS 99   /* per team */
#define CR_MAX_VMS 999       /* per team */
#define CR_MAX_NICS 8        /* per VM */
#define CR_NAME_MAX 31       /* network and VM names */

/* Where a declaration came from: a path relative to the scenario folder
 * ("scenario.lua", "lib/iot.lua") and a line (0 if unknown). */
typedef struct cr_where {
    char *file;
    int line;
} cr_where;

/* A text a trainee may see, in Japanese and English. Either may be NULL
 * where the language reference says the text is optional. */
typedef struct cr_text {
    char *ja;
    char *en;
} cr_text;

typedef struct cr_network {
    char *name;
    uint32_t addr;  /* network address, host byte order */
    int prefix;     /* 0..32 */
    bool dhcp;      /* false unless the scenario asks */
    char *forward;  /* NULL: isolated (the default); else a libvirt forward mode, e.g. "nat" */
    cr_where where;
} cr_network;

typedef struct cr_nic {
    char *network;  /* name of a cr_network of the same team */
    uint32_t addr;  /* 0: no static address */
    cr_where where;
} cr_nic;

typedef enum {
    CR_STEP_FILE = 1, /* copy a file into the guest */
    CR_STEP_USER,     /* create a user */
    CR_STEP_RUN,      /* run a command */
} cr_step_kind;

typedef struct cr_step {
    cr_step_kind kind;
    cr_where where;

    /* CR_STEP_FILE: exactly one of src (relative to the scenario folder,
     * checked against traversal) and content is set. */
    char *src;
    char *content;
    size_t content_len;
    char *dest;   /* absolute path in the guest */
    unsigned mode; /* e.g. 0644 */

    /* CR_STEP_USER */
    char *user;
    char *password;  /* NULL: locked password */
    char *shell;     /* NULL: /bin/sh */
    char **groups;   /* NULL-terminated, may be NULL */

    /* CR_STEP_RUN: argv is NULL-terminated; a shell string becomes
     * {"/bin/sh", "-c", string}. */
    char **argv;
    int timeout_s;   /* 0: the default (120 s) */
} cr_step;

/*
 * A role: extra packages, files and commands baked once into a template
 * layer (a qcow2 overlay on the role's base image), cached by a hash of the
 * role's recipe and shared by every VM of the role in every team. Per-team
 * differences are applied after cloning, by the VM's own provisioning.
 */
typedef struct cr_role {
    char *name;
    char *image;       /* the base image */
    char **packages;   /* Debian package names, NULL-terminated, may be NULL */
    cr_step *steps;    /* CR_STEP_FILE and CR_STEP_RUN only, applied in order after the packages */
    size_t n_steps;
    cr_where where;
} cr_role;

typedef struct cr_vm {
    char *name;
    char *image;       /* with a role: the role's base image */
    char *role;        /* NULL, or the name of a cr_role of the team */
    unsigned memory_mib;
    unsigned vcpus;
    cr_nic *nics;
    size_t n_nics;
    uint32_t gateway;  /* 0: none */
    cr_step *steps;
    size_t n_steps;
    bool entry;        /* a trainee entry point */
    cr_text description;
    cr_where where;
} cr_vm;

/* A per-team value; the Lua side may see a number, the model keeps text. */
typedef struct cr_var {
    char *name;
    char *value;
    bool secret;       /* never shown to trainees (e.g. a flag answer) */
    cr_where where;
} cr_var;

/* Exercise content (the scoring engine's side of a scenario). */

typedef struct cr_hint {
    cr_text text;      /* both languages required */
    int cost;          /* points taken off when the hint is taken, >= 0 */
} cr_hint;

typedef enum {
    CR_MODE_ONCE = 1,  /* scored the first time the check holds */
    CR_MODE_HOLD,      /* counts only while the check holds */
} cr_objective_mode;

typedef struct cr_objective {
    char *id;          /* unique among objectives and flags of the scenario */
    cr_text title;
    int points;        /* >= 0 */
    char **prereqs;    /* ids of objectives or flags, NULL-terminated, may be NULL */
    cr_hint *hints;
    size_t n_hints;
    cr_objective_mode mode;
    bool has_check;    /* check = function(ctx) ... end was given */
    char **attack;     /* ATT&CK technique ids (lua/attack.h), NULL-terminated, may be NULL */
    char **skills;     /* learning-objective words, NULL-terminated, may be NULL */
    cr_where where;
} cr_objective;

typedef enum {
    CR_ANSWER_LITERAL = 1, /* compared after normalisation, in constant time */
    CR_ANSWER_PATTERN,     /* a POSIX extended regular expression, anchored */
} cr_answer_kind;

typedef struct cr_flag {
    char *id;
    cr_text question;
    int points;
    int max_attempts;  /* 0: unlimited */
    cr_answer_kind answer_kind;
    char *answer;      /* this team's answer (a function of vars is evaluated per team) */
    bool case_sensitive;
    cr_hint *hints;
    size_t n_hints;
    char **attack;     /* as cr_objective's */
    char **skills;
    cr_where where;
} cr_flag;

typedef struct cr_inject {
    char *id;
    cr_text title;     /* what the story says happened, shown in events */
    int at_s;          /* seconds after the exercise starts; -1: fired by `when` */
    bool has_when;     /* when = function(ctx) ... end */
    bool has_action;   /* action = function(ctx) ... end */
    char *vm;          /* run = "..." executes in this VM (NULL when not used) */
    char **argv;       /* NULL-terminated, NULL when not used */
    cr_where where;
} cr_inject;

typedef struct cr_team_model {
    int number;        /* 1..N */
    cr_network *networks;
    size_t n_networks;
    cr_vm *vms;
    size_t n_vms;
    cr_var *vars;
    size_t n_vars;
    cr_role *roles;
    size_t n_roles;
    cr_objective *objectives;
    size_t n_objectives;
    cr_flag *flags;
    size_t n_flags;
    cr_inject *injects;
    size_t n_injects;
    bool has_solution; /* solution = function(ctx) ... end */
} cr_team_model;

typedef struct cr_scenario {
    char *dir;          /* absolute path of the scenario folder */
    char *id;
    cr_text title;
    cr_text description;
    char **sources;     /* references (URLs, report names); n_sources entries */
    size_t n_sources;
    int default_teams;
    bool spread;        /* each team's VMs go over the hosts given (docs/HOSTS.md) */
    cr_where where;     /* of the scenario{} declaration */
    unsigned char digest[32]; /* BLAKE2b-256 over the folder's files, names and contents */

    cr_team_model *teams;     /* n_teams entries, teams[i].number == i + 1 */
    size_t n_teams;
} cr_scenario;

void cr_scenario_free(cr_scenario *s);

/* Lookups within a team; NULL when absent. Returned pointers are owned by
 * the model. */
const cr_network *cr_team_network(const cr_team_model *t, const char *name);
const cr_vm *cr_team_vm(const cr_team_model *t, const char *name);
const cr_var *cr_team_var(const cr_team_model *t, const char *name);
const cr_objective *cr_team_objective(const cr_team_model *t, const char *id);
const cr_flag *cr_team_flag(const cr_team_model *t, const char *id);
const cr_role *cr_team_role(const cr_team_model *t, const char *name);

/*
 * Semantic checks on one team's model, the ones the language cannot do while
 * a declaration runs: duplicate names, overlapping CIDRs, addresses outside
 * their network or used twice, network broadcast/network addresses, unknown
 * network references, missing files and path traversal in file sources, a
 * gateway outside every attached network; roles (unique names, known image,
 * only file and run steps) and the role of each VM (it exists, and its
 * image is the VM's when the VM names one too).
 *
 * image_known(name, ctx) says whether an image name exists (a recipe or a
 * built image); pass NULL to skip that check.
 *
 * Returns 0 or CR_EINVAL with "FILE:LINE: message" set.
 */
int cr_model_validate(const cr_scenario *s, const cr_team_model *t,
                      bool (*image_known)(const char *name, void *ctx), void *ctx);

/* A range needs a VM: CR_EINVAL at scenario{} when no team declares one.
 * Checked where a scenario is meant to run (validate, plan, lint, up), not
 * by the loader, which also reads fragments (tests, the language docs). */
int cr_model_require_vms(const cr_scenario *s);

/* Sets "FILE:LINE: message" (or "FILE: message" when line is 0) and returns
 * CR_EINVAL. */
int cr_model_error(const cr_where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
