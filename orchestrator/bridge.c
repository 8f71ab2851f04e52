/*
 * bridge.c: the host's side of a range bridge without an address (bridge.h):
 * no ARP answers, no packets taken in, no IPv6.
 */
#include "bridge.h"

#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cr_bridge_uri_is_local(const char *uri)
{
    const char *p = uri ? strstr(uri, "://") : NULL;
    return p && p[3] == '/';
}

static int write_sysctl(const char *proc_root, const char *family, const char *bridge, const char *key,
                        const char *value)
{
    char *path = cr_xasprintf("%s/net/%s/conf/%s/%s", proc_root, family, bridge, key);
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
        rc = cr_error_set(CR_ERROR, "bridge %s: cannot set %s: %s", bridge, path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

int cr_bridge_seal(const char *proc_root, const char *bridge)
{
    /* A bridge name is ours (plan.h: cr<hex>t<n>n<n>); never a path. */
    if (!*bridge || strchr(bridge, '/') || !strcmp(bridge, ".") || !strcmp(bridge, ".."))
        return cr_error_set(CR_EINVAL, "bad bridge name '%s'", bridge);
    /* Not in this network namespace (crange run beside a libvirtd in
     * another, as the e2e tests' package downloads do): it cannot be done
     * from here, which is worth a warning, not a failed up. */
    char *dir = cr_xasprintf("%s/net/ipv4/conf/%s", proc_root, bridge);
    bool here = cr_is_dir(dir);
    free(dir);
    if (!here) {
        cr_log_warn("bridge %s is not in crange's network namespace: the host's ARP and input on it are left "
                    "as they are", bridge);
        return 0;
    }
    int rc = write_sysctl(proc_root, "ipv4", bridge, "arp_ignore", "8");
    if (rc == 0)
        rc = write_sysctl(proc_root, "ipv4", bridge, "rp_filter", "1");
    if (rc == 0)
        rc = write_sysctl(proc_root, "ipv6", bridge, "disable_ipv6", "1");
    return rc;
}
