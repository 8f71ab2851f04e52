/*
 * doctor.c: `crange doctor` checks that this host can run ranges: libvirt
 * answers, QEMU's TCG works, KVM really works (a short, timed probe boot,
 * because /dev/kvm can exist while guests hang), the state folder is
 * writable, its secrets (range databases, the admin hash) are private, and
 * the tools image recipes need are installed; on a local libvirtd, whether
 * qemu.conf has the settings docs/HOSTS.md advises. The KVM verdict is cached
 * for `--accel auto`.
 */
#include "accel.h"
#include "bridge.h"
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "hosts.h"
#include "image.h"
#include "paths.h"
#include "ship.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <libvirt/virterror.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

typedef struct report {
    json_t *checks;
    int failed;
} report;

static void check(report *r, const char *name, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void check(report *r, const char *name, const char *result, const char *fmt, ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (!strcmp(result, "fail"))
        r->failed++;
    json_array_append_new(r->checks, json_pack("{s:s, s:s, s:s}", "check", name, "result", result, "detail", detail));
}

/* A number from a sysfs file, or -1. */
static long long sysfs_num(const char *path)
{
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Kernel same-page merging: instant clones of one template start with the
 * same memory, which KSM can share between them. Reported, never changed:
 * the host's settings are the administrator's. */
static void ksm(report *r)
{
    long long run = sysfs_num("/sys/kernel/mm/ksm/run");
    long long sharing = sysfs_num("/sys/kernel/mm/ksm/pages_sharing");
    long page = sysconf(_SC_PAGESIZE);
    if (run < 0)
        check(r, "ksm", "warn", "this kernel has no KSM: clones of a template do not share their memory");
    else if (run == 0)
        check(r, "ksm", "warn", "off: clones of a template would share their identical memory with it on "
                                "(echo 1 > /sys/kernel/mm/ksm/run; see BENCHMARKS.md)");
    else
        check(r, "ksm", "ok", "on: %.1f MiB of guest memory shared now", sharing > 0 ? sharing * page / 1048576.0 : 0.0);
}

/* PATH as a shell word for the chmod line (a new string). */
static char *shell_word(const char *path)
{
    if (*path && strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+,:@=") ==
                     strlen(path))
        return cr_xstrdup(path);
    cr_buf b = {0};
    cr_buf_add(&b, "'");
    for (const char *c = path; *c; c++) {
        if (*c == '\'')
            cr_buf_add(&b, "'\\''");
        else
            cr_buf_addn(&b, c, 1);
    }
    cr_buf_add(&b, "'");
    return cr_buf_steal(&b);
}

/* Warns when group or others can read or change the secret file PATH
 * (want: its mode, 0600), or list or change the folder PATH holding secrets
 * (want: 0711 or 0700; others passing through is not a leak). A missing path
 * is not checked. Returns whether PATH was checked. */
static bool private_mode(report *r, int *loose, const char *path, unsigned want, const char *holds)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return false;
    bool dir = S_ISDIR(sb.st_mode);
    unsigned mode = sb.st_mode & 07777;
    if (!(mode & 0066))
        return true;
    char *word = shell_word(path);
    const char *can = dir ? (mode & 0044 ? "list" : "add or remove files in") : (mode & 0044 ? "read" : "change");
    check(r, "secrets", "warn", "%s (mode %04o) holds %s, and group or others can %s it; run: chmod %o %s", path, mode,
          holds, can, want, word);
    free(word);
    (*loose)++;
    return true;
}

/* Every regular file in DIR, 0600. */
static void private_files(report *r, int *loose, const char *dir, const char *holds)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *path = cr_path_join(dir, e->d_name);
        if (!cr_is_dir(path))
            private_mode(r, loose, path, CR_SECRET_FILE_MODE, holds);
        free(path);
    }
    closedir(d);
}

/* The state folder's secrets (paths.h): the range databases (with the range
 * secret every team's answers derive from), the archived ones and the
 * portal's admin hash, and the folders holding them. */
static void secrets(report *r, const char *state)
{
    int loose = 0;
    const char *db_holds = "the range secret and every team's answers";
    private_mode(r, &loose, state, CR_STATE_DIR_MODE, "the range databases");
    char *portal = cr_path_join(state, "portal");
    if (private_mode(r, &loose, portal, CR_PRIVATE_DIR_MODE, "the admin password hash"))
        private_files(r, &loose, portal, "the admin password hash");
    free(portal);

    char *ranges = cr_path_join(state, "ranges");
    private_mode(r, &loose, ranges, CR_PRIVATE_DIR_MODE, "the range databases");
    free(ranges);
    char **names = NULL;
    size_t n = 0;
    cr_state_list_ranges(&names, &n, state);
    for (size_t i = 0; i < n; i++) {
        char *dir = cr_range_dir(state, names[i]);
        char *db = cr_range_db_path(state, names[i]);
        private_mode(r, &loose, dir, CR_PRIVATE_DIR_MODE, "a range database");
        private_mode(r, &loose, db, CR_SECRET_FILE_MODE, db_holds);
        const char *sidecars[] = {"-wal", "-shm", "-journal"};
        for (size_t k = 0; k < sizeof sidecars / sizeof *sidecars; k++) {
            char *side = cr_xasprintf("%s%s", db, sidecars[k]);
            private_mode(r, &loose, side, CR_SECRET_FILE_MODE, db_holds);
            free(side);
        }
        free(db);
        free(dir);
        free(names[i]);
    }
    free(names);

    char *archive = cr_path_join(state, "archive");
    if (private_mode(r, &loose, archive, CR_PRIVATE_DIR_MODE, "archived range databases"))
        private_files(r, &loose, archive, db_holds);
    free(archive);

    if (!loose)
        check(r, "secrets", "ok", "range databases (%zu), archives and the admin hash: readable by their owner only, "
              "in folders no one else can list", n);
}

static bool in_path(const char *tool)
{
    const char *path = getenv("PATH");
    char *copy = cr_xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
    bool found = false;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *full = cr_path_join(dir, tool);
        found = access(full, X_OK) == 0;
        free(full);
    }
    free(copy);
    return found;
}

/* The value of `key = value` in a libvirt config file, quotes removed, or
 * NULL when the key is commented out or absent (a new string). */
static char *conf_value(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[512], *value = NULL;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, key, klen) || (p[klen] != ' ' && p[klen] != '\t' && p[klen] != '='))
            continue;
        p += klen + strspn(p + klen, " \t");
        if (*p != '=')
            continue;
        p++;
        p += strspn(p, " \t\"");
        free(value);
        value = cr_xstrndup(p, strcspn(p, " \t\"#\r\n"));
    }
    fclose(f);
    return value;
}

/* remember_owner = 1 (libvirt's default) makes libvirtd fork for every start
 * and destroy, and the forks serialise (docs/HOSTS.md). Only a local
 * qemu:///system has its qemu.conf here. */
static void qemu_conf(report *r, const cr_config *cfg)
{
    if (strcmp(cfg->connect, "qemu:///system"))
        return;
    const char *path = "/etc/libvirt/qemu.conf";
    char *v = conf_value(path, "remember_owner");
    if (v && !strcmp(v, "0"))
        check(r, "qemu.conf", "ok", "%s: remember_owner = 0", path);
    else
        check(r, "qemu.conf", "warn", "%s: remember_owner is on; each VM start and destroy forks libvirtd, "
              "which slows big ranges (docs/HOSTS.md: set remember_owner = 0)", path);
    free(v);
}

static void probe(report *r, const cr_config *cfg, cr_virt *v, const cr_image *img, const char *domtype,
                  const char *name)
{
    cr_probe p;
    if (cr_accel_probe(&p, v, img, domtype, CR_PROBE_TIMEOUT_S) < 0) {
        check(r, name, "fail", "%s", cr_error_message());
        cr_error_clear();
        return;
    }
    bool kvm = !strcmp(domtype, "kvm");
    if (p.ok)
        check(r, name, "ok", "probe boot: %s after %.1f s", p.detail, p.seconds);
    else
        check(r, name, kvm ? "warn" : "fail", "probe boot failed after %.1f s: %s%s", p.seconds, p.detail,
              kvm ? "; --accel auto will use TCG" : "");
    if (kvm)
        cr_accel_remember(cfg, v, &p);
}

int cr_cmd_doctor(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("doctor");
    bool no_probe = false;
    const char *host_name = NULL;
    cr_optspec specs[] = {{"no-probe", NULL, &no_probe, NULL}, {"host", &host_name, NULL, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 0, 0, "takes no arguments");
    if (go != CR_CLI_GO)
        return go;
    /* --host: the checks that go through libvirt, over that host's URI; the
     * ones about this machine (state folder, tools, KSM) are not about it. */
    char *uri = cr_xstrdup(cfg->connect);
    if (host_name) {
        cr_hosts hosts;
        if (cr_hosts_load(&hosts, cfg->state_dir) < 0) {
            free(uri);
            return cr_cli_fail(cfg);
        }
        const cr_host *hx = cr_hosts_find(&hosts, host_name);
        if (hx) {
            free(uri);
            uri = cr_xstrdup(hx->uri);
        }
        cr_hosts_free(&hosts);
        if (!hx) {
            free(uri);
            cr_error_set(CR_ENOTFOUND, "no host '%s' (crange host list)", host_name);
            return cr_cli_fail(cfg);
        }
    }
    bool remote = !cr_bridge_uri_is_local(uri);

    report r = {json_array(), 0};
    struct utsname u;
    uname(&u);
    if (!host_name)
        check(&r, "host", "ok", "%s %s, %ld CPUs, crange %s", u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
              CRANGE_VERSION);
    if (!host_name) {

    char *probe_path = cr_path_join(cfg->state_dir, ".doctor");
    if (cr_write_file_atomic(probe_path, "ok\n", 3, 0644) == 0) {
        check(&r, "state", "ok", "%s is writable", cfg->state_dir);
        unlink(probe_path);
    } else {
        check(&r, "state", "fail", "%s", cr_error_message());
        cr_error_clear();
    }
    free(probe_path);
    secrets(&r, cfg->state_dir);

    const char *tools[] = {"qemu-img", "busybox", "cpio", "mke2fs", "qemu-ga", "modprobe", NULL};
    cr_buf missing = {0};
    for (size_t i = 0; tools[i]; i++)
        if (!in_path(tools[i]))
            cr_buf_addf(&missing, "%s%s", missing.len ? ", " : "", tools[i]);
    if (missing.len)
        check(&r, "tools", "warn", "missing for image builds: %s", missing.data);
    else
        check(&r, "tools", "ok", "qemu-img, busybox, cpio, mke2fs, qemu-ga, modprobe");
    cr_buf_free(&missing);

    ksm(&r);
    }

    cr_virt *v = NULL;
    if (cr_virt_open(&v, uri, 1) < 0) {
        check(&r, "libvirt", "fail", "%s", cr_error_message());
        cr_error_clear();
    } else {
        unsigned long lib = 0, hv = 0;
        virConnectGetLibVersion(cr_virt_conn(v, 0), &lib);
        virConnectGetVersion(cr_virt_conn(v, 0), &hv);
        check(&r, "libvirt", "ok", "%s: libvirt %lu.%lu.%lu, hypervisor %lu.%lu.%lu", uri, lib / 1000000,
              lib / 1000 % 1000, lib % 1000, hv / 1000000, hv / 1000 % 1000, hv % 1000);

        if (!host_name)
            qemu_conf(&r, cfg);
        if (host_name) {
            virNodeInfo info;
            unsigned long long free_bytes = virNodeGetFreeMemory(cr_virt_conn(v, 0));
            if (virNodeGetInfo(cr_virt_conn(v, 0), &info) == 0)
                check(&r, "capacity", "ok", "%u CPUs, %.1f GiB memory, %.1f GiB free", info.cpus,
                      info.memory / 1048576.0, free_bytes / 1073741824.0);
            else
                check(&r, "capacity", "warn", "libvirt does not say: %s", virGetLastErrorMessage());
        }

        char *caps = virConnectGetDomainCapabilities(cr_virt_conn(v, 0), NULL, "x86_64", NULL, "qemu", 0);
        check(&r, "tcg", caps ? "ok" : "fail", caps ? "QEMU can emulate x86_64 guests (TCG)" :
              "libvirt offers no qemu (TCG) domain type for x86_64");
        free(caps);

        bool dev = !remote && access("/dev/kvm", R_OK | W_OK) == 0;
        bool offered = cr_accel_kvm_offered(v);
        if (!offered)
            check(&r, "kvm", "warn", "%s; ranges run under TCG", dev ? "/dev/kvm exists but libvirt offers no kvm domain"
                                                                       : "no /dev/kvm");

        cr_image *img = NULL;
        if (!no_probe) {
            char *store = cr_config_images(cfg);
            bool rebuilt = false;
            if (cr_image_build(store, "tiny", false, &rebuilt) == 0 && cr_image_open(&img, store, "tiny") == 0) {
                check(&r, "image tiny", "ok", "%s%s", img->dir, rebuilt ? " (built now)" : "");
                /* A remote host boots the probe from its own copy (ship.h). */
                cr_image *there = NULL;
                size_t sent = 0;
                if (remote && (cr_ship_pool(v, 0) < 0 || cr_ship_image(&there, &sent, v, 0, img) < 0)) {
                    check(&r, "image tiny", "fail", "cannot send it to %s: %s", uri, cr_error_message());
                    cr_error_clear();
                    cr_image_free(img);
                    img = NULL;
                } else if (remote) {
                    check(&r, "image tiny", "ok", "on %s: %s%s", uri, there->kernel, sent ? " (sent now)" : "");
                    cr_image_free(img);
                    img = there;
                }
            } else {
                check(&r, "image tiny", "fail", "cannot build the probe image: %s", cr_error_message());
                cr_error_clear();
            }
            free(store);
        }
        if (img) {
            probe(&r, cfg, v, img, "qemu", "tcg boot");
            if (offered)
                probe(&r, cfg, v, img, "kvm", "kvm boot");
        } else if (offered) {
            check(&r, "kvm boot", "warn", "not probed (--no-probe); --accel auto will probe on first use");
        }
        cr_image_free(img);

        cr_virt_close(v);
    }

    if (cfg->json) {
        cr_cli_print_json(json_pack("{s:b, s:O}", "ok", r.failed == 0, "checks", r.checks));
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(r.checks, i, c)
        {
            printf("%-11s %-5s %s\n", json_string_value(json_object_get(c, "check")),
                   json_string_value(json_object_get(c, "result")), json_string_value(json_object_get(c, "detail")));
        }
    }
    json_decref(r.checks);
    free(uri);
    return r.failed ? CR_EXIT_FAIL : CR_EXIT_OK;
}
