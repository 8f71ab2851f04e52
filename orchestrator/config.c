/*
 * config.c: defaults and validation for config.h.
 */
#include "config.h"

#include "err.h"
#include "paths.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cr_config_defaults(cr_config *c)
{
    memset(c, 0, sizeof *c);
    c->state_dir = cr_default_state_dir();
    const char *e = getenv("CRANGE_CONNECT");
    c->connect = cr_xstrdup(e && *e ? e : "qemu:///system");
    e = getenv("CRANGE_ACCEL");
    c->accel = cr_xstrdup(e && *e ? e : "auto");
    e = getenv("CRANGE_JOBS");
    c->jobs = e && *e ? atoi(e) : 8;
    e = getenv("CRANGE_JSON");
    c->json = e && (!strcmp(e, "1") || !strcmp(e, "true") || !strcmp(e, "yes"));
}

int cr_config_finish(cr_config *c)
{
    if (strcmp(c->accel, "auto") && strcmp(c->accel, "kvm") && strcmp(c->accel, "tcg"))
        return cr_error_set(CR_EINVAL, "--accel must be auto, kvm or tcg, not '%s'", c->accel);
    if (c->jobs < 1 || c->jobs > 256)
        return cr_error_set(CR_EINVAL, "--jobs must be between 1 and 256");
    /* 0711, not 0755: it holds the range databases and the admin hash, and
     * QEMU (libvirt-qemu) only needs to pass through it to images/,
     * overlays/ and templates/. */
    int rc = cr_dir_make(c->state_dir, CR_STATE_DIR_MODE);
    if (rc < 0)
        return rc;
    char *abs = cr_realpath(c->state_dir);
    if (!abs)
        return cr_error_set(CR_ERROR, "%s: cannot resolve the state folder", c->state_dir);
    free(c->state_dir);
    c->state_dir = abs;
    c->progress = !c->json && isatty(STDOUT_FILENO);
    return 0;
}

void cr_config_free(cr_config *c)
{
    free(c->state_dir);
    free(c->connect);
    free(c->accel);
    memset(c, 0, sizeof *c);
}

char *cr_config_images(const cr_config *c)
{
    return cr_path_join(c->state_dir, "images");
}

char *cr_config_overlays(const cr_config *c, const char *range)
{
    return cr_xasprintf("%s/overlays/%s", c->state_dir, range);
}

char *cr_config_templates(const cr_config *c)
{
    return cr_xasprintf("%s/templates", c->state_dir);
}
