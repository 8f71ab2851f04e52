/*
 * paths.c: the search rules of paths.h.
 */
#include "paths.h"

#include "util.h"

#include <stdlib.h>
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
