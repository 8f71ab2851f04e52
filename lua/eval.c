/*
 * eval.c: finding a scenario folder and evaluating its script for one team
 * (eval.h): a fresh sandbox (sandbox.h), the language (lang.h), the script,
 * the conversion to the model (convert.h) and the team's validation.
 */
#include "eval.h"

#include "convert.h"
#include "err.h"
#include "lang.h"
#include "util.h"
#include "vars.h"

#include <errno.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

int cr_eval_dir(char **out, const char *path, const cr_load_opts *opts)
{
    int rc = 0;
    struct stat st;
    char *dir = NULL, *parent = NULL, *script = NULL;
    *out = NULL;
    if (opts->teams < 0 || opts->teams > CR_MAX_TEAMS) {
        rc = cr_error_set(CR_EINVAL, "%s: the number of teams must be from 1 to %d, not %d", path, CR_MAX_TEAMS,
                          opts->teams);
        goto cleanup;
    }
    if (sodium_init() < 0) {
        rc = cr_error_set(CR_ERROR, "libsodium cannot be initialised");
        goto cleanup;
    }
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


int cr_eval_team(cr_scenario *s, cr_team_model *t, int team, int count, const cr_load_opts *opts,
                 cr_sandbox **keep)
{
    int rc;
    cr_sandbox *sb = NULL;
    cr_sandbox_opts so = {
        .dir = s->dir,
        .memory_limit = opts->memory_limit,
        .instruction_limit = opts->instruction_limit,
    };
    cr_lang_opts lo = {
        .team = team,
        .count = count,
        .secret = opts->secret ? opts->secret : cr_vars_public_secret,
    };
    if (keep)
        *keep = NULL;
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
    rc = cr_convert_team(sb, s, t);
    if (rc < 0)
        goto cleanup;
    rc = cr_model_validate(s, t, opts->image_known, opts->image_ctx);
    if (rc < 0)
        goto cleanup;
    if (keep) {
        *keep = sb;
        sb = NULL;
    }
cleanup:
    cr_sandbox_free(sb);
    return rc;
}
