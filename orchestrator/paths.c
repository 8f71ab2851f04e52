/*
 * paths.c: the search rules of paths.h, and the maker of the state folder's
 * folders with their modes.
 */
#include "paths.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cr_data_dir(void)
{
    const char *env = getenv("CRANGE_DATA");
    if (env && *env)
        return cr_xstrdup(env);
    char *probe = cr_path_join(CRANGE_SOURCE_DIR, "images");
    bool in_tree = cr_is_dir(probe);
    free(probe);
    return cr_xstrdup(in_tree ? CRANGE_SOURCE_DIR : CRANGE_DATA_DIR);
}

char *cr_data_path(const char *rel)
{
    char *dir = cr_data_dir();
    char *p = cr_path_join(dir, rel);
    free(dir);
    return p;
}

char *cr_default_state_dir(void)
{
    const char *env = getenv("CRANGE_STATE");
    if (env && *env)
        return cr_xstrdup(env);
    if (geteuid() == 0)
        return cr_xstrdup("/var/lib/crange");
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg)
        return cr_path_join(xdg, "crange");
    const char *home = getenv("HOME");
    return cr_xasprintf("%s/.local/state/crange", home && *home ? home : "/tmp");
}

int cr_dir_make(const char *path, unsigned mode)
{
    char *p = cr_xstrdup(path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    int rc = 0;
    char *slash = strrchr(p, '/');
    if (cr_is_dir(p))
        goto cleanup;
    if (slash && slash != p) {
        *slash = '\0';
        rc = cr_mkdir_p(p, 0755);
        *slash = '/';
        if (rc < 0)
            goto cleanup;
    }
    if (mkdir(p, mode) == 0) {
        /* mkdir's mode passes through the umask: a umask of 077 would take
         * the x that lets QEMU through the state folder, so the mode is set
         * again, now that the folder is ours. */
        if (chmod(p, mode) < 0)
            rc = cr_error_set(CR_ERROR, "%s: %s", p, strerror(errno));
    } else {
        int err = errno;
        /* EEXIST: made meanwhile by another crange, which set its mode. */
        if (err != EEXIST || !cr_is_dir(p))
            rc = cr_error_set(CR_ERROR, "%s: %s", p, strerror(err == EEXIST ? ENOTDIR : err));
    }
cleanup:
    free(p);
    return rc;
}
