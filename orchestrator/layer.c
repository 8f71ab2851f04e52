/*
 * layer.c: role layers (layer.h): the key, the store, and the build (host
 * side apt download, payload disk, a transient builder domain driven through
 * the guest agent). External tools: apt-get (download), mke2fs (payload),
 * qemu-img (the layer overlay), as the image recipes use them.
 */
#include "layer.h"

#include "agent.h"
#include "err.h"
#include "log.h"
#include "proc.h"
#include "util.h"
#include "virt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define AGENT_TIMEOUT_S 600      /* builder boot to agent */
#define BUILDER_FIRST_WAIT_S 300 /* before the builder is booted again (CRANGE_BUILDER_WAIT) */
#define INSTALL_TIMEOUT_S 1800   /* apt-get install of the closure */
#define STEP_TIMEOUT_S 600       /* a file copy or a command */
#define SHUTDOWN_TIMEOUT_S 300
#define CONSOLE_TAIL_LINES 60    /* of the builder's console, into a failed build's log */
#define BUILDER_MEMORY_MIB 512
#define PAYLOAD_MOUNT "/run/crange-payload"

void cr_layer_free(cr_layer *l)
{
    if (!l)
        return;
    free(l->key);
    free(l->dir);
    free(l->disk);
    free(l->role);
    free(l->image);
    free(l->built_at);
    free(l);
}

/* ------------------------------------------------------------------ key */

static void hash_framed(crypto_generichash_state *h, const void *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    crypto_generichash_update(h, len, sizeof len);
    crypto_generichash_update(h, p, n);
}

static void hash_str(crypto_generichash_state *h, const char *s)
{
    hash_framed(h, s ? s : "", s ? strlen(s) : 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file step's bytes: its content, or its source in the scenario folder. */
static int step_bytes(char **data, size_t *len, const char *scenario_dir, const cr_step *st)
{
    *data = NULL;
    *len = 0;
    if (!st->src) {
        *data = cr_xmalloc(st->content_len + 1);
        if (st->content_len)
            memcpy(*data, st->content, st->content_len);
        (*data)[st->content_len] = '\0';
        *len = st->content_len;
        return 0;
    }
    char *path = cr_path_join(scenario_dir, st->src);
    int rc = cr_read_file(data, len, path);
    free(path);
    return rc;
}

int cr_layer_key(char out[65], const char *scenario_dir, const cr_role *role, const cr_image *base)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    hash_str(&h, "crange.layer.v1");
    hash_str(&h, base->recipe_hash);
    hash_str(&h, base->disk_sha256);

    size_t n = 0;
    while (role->packages && role->packages[n])
        n++;
    char **sorted = cr_xcalloc(n ? n : 1, sizeof *sorted);
    memcpy(sorted, role->packages, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    hash_str(&h, "packages");
    for (size_t i = 0; i < n; i++)
        hash_str(&h, sorted[i]);
    free(sorted);

    int rc = 0;
    for (size_t i = 0; i < role->n_steps && rc == 0; i++) {
        const cr_step *st = &role->steps[i];
        if (st->kind == CR_STEP_FILE) {
            char mode[16], *data = NULL;
            size_t len = 0;
            snprintf(mode, sizeof mode, "%o", st->mode);
            hash_str(&h, "file");
            hash_str(&h, st->dest);
            hash_str(&h, mode);
            rc = step_bytes(&data, &len, scenario_dir, st);
            if (rc == 0)
                hash_framed(&h, data, len);
            free(data);
        } else if (st->kind == CR_STEP_RUN) {
            hash_str(&h, "run");
            for (size_t a = 0; st->argv && st->argv[a]; a++)
                hash_str(&h, st->argv[a]);
            hash_str(&h, "end");
        }
    }
    if (rc < 0)
        return rc;
    unsigned char d[32];
    crypto_generichash_final(&h, d, sizeof d);
    cr_hex(out, d, sizeof d);
    return 0;
}

/* ---------------------------------------------------------------- store */

static char *layers_dir(const char *store)
{
    return cr_path_join(store, CR_LAYER_DIR);
}

static bool key_valid(const char *key)
{
    if (strlen(key) != 64)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int cr_layer_open(cr_layer **out, const char *store, const char *key)
{
    *out = NULL;
    if (!key_valid(key))
        return cr_error_set(CR_EINVAL, "bad layer key '%s'", key);
    char *root = layers_dir(store);
    char *dir = cr_path_join(root, key);
    char *mpath = cr_path_join(dir, "manifest.json");
    char *disk = cr_path_join(dir, "layer.qcow2");
    json_t *m = json_load_file(mpath, 0, NULL);
    int rc = 0;
    if (!m || !cr_path_exists(disk)) {
        rc = cr_error_set(CR_ENOTFOUND, "layer %.12s is not built", key);
    } else {
        cr_layer *l = cr_xcalloc(1, sizeof *l);
        l->key = cr_xstrdup(key);
        l->dir = dir;
        l->disk = disk;
        dir = disk = NULL;
        l->role = cr_xstrdup(json_string_value(json_object_get(m, "role")) ?: "");
        l->image = cr_xstrdup(json_string_value(json_object_get(m, "image")) ?: "");
        l->built_at = cr_xstrdup(json_string_value(json_object_get(m, "built_at")) ?: "");
        l->size = (uint64_t)json_integer_value(json_object_get(m, "size"));
        *out = l;
    }
    json_decref(m);
    free(mpath);
    free(disk);
    free(dir);
    free(root);
    return rc;
}

json_t *cr_layer_list(const char *store)
{
    json_t *list = json_array();
    char *root = layers_dir(store);
    DIR *d = opendir(root);
    char **keys = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!key_valid(e->d_name))
            continue;
        cr_grow(&keys, &cap, n + 1, sizeof *keys);
        keys[n++] = cr_xstrdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *dir = cr_path_join(root, keys[i]);
        char *mpath = cr_path_join(dir, "manifest.json");
        json_t *m = json_load_file(mpath, 0, NULL);
        if (m) {
            /* Stale when the base image it was built on has been rebuilt. */
            const char *image = json_string_value(json_object_get(m, "image"));
            const char *base_sum = json_string_value(json_object_get(m, "base_disk_sha256"));
            cr_image *img = NULL;
            bool current = image && cr_image_open(&img, store, image) == 0 && img->disk_sha256 && base_sum &&
                           !strcmp(img->disk_sha256, base_sum);
            cr_error_clear();
            cr_image_free(img);
            json_array_append_new(
                list, json_pack("{s:s, s:O, s:O, s:s, s:s, s:b, s:O, s:O, s:O, s:O}", "kind", "layer", "name",
                                json_object_get(m, "role"), "image", json_object_get(m, "image"), "key", keys[i],
                                "state", current ? "current" : "stale", "built", 1, "size",
                                json_object_get(m, "size"), "built_at", json_object_get(m, "built_at"), "packages",
                                json_object_get(m, "packages"), "installed", json_object_get(m, "installed")));
        }
        json_decref(m);
        free(mpath);
        free(dir);
        free(keys[i]);
    }
    free(keys);
    free(root);
    return list;
}

/* ---------------------------------------------------------------- build */

typedef struct build {
    const cr_role *role;
    const cr_image *base;
    const char *scenario_dir;
    char key[65];
    char *work;          /* <store>/layers/.build-<key>-<pid> */
    char *disk;          /* <work>/layer.qcow2 */
    char *payload_dir;   /* <work>/payload: debs/ and files/ */
    char *payload;       /* <work>/payload.img */
    FILE *log;           /* <work>/build.log */
    double t0;           /* when the build began, for the log's times */
    int first_wait;      /* seconds the builder's first boot has (CRANGE_BUILDER_WAIT) */
    json_t *installed;   /* ["name=version", ...] */
    virDomainPtr dom;
} build;

static void blog(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blog(build *b, const char *fmt, ...)
{
    if (!b->log)
        return;
    /* A step's heading carries the seconds since the build began. */
    if (!strncmp(fmt, "== ", 3))
        fprintf(b->log, "[%7.1f s] ", cr_now_seconds() - b->t0);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(b->log, fmt, ap);
    va_end(ap);
    fflush(b->log);
}

/* Re-reports the pending error as a failure of the role (or of one of its
 * steps, at the step's line). */
static int role_error(build *b, const cr_where *w, const char *what)
{
    char *inner = cr_xstrdup(cr_error_message());
    cr_error_clear();
    int rc = cr_model_error(w ? w : &b->role->where, "role '%s': %s: %s", b->role->name, what, inner);
    blog(b, "error: %s\n", cr_error_message());
    free(inner);
    return rc;
}

/* The last line starting with "E: " (apt's errors), else the last line. */
static char *last_error_line(const char *text)
{
    const char *best = NULL, *last = NULL;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len) {
            last = p;
            if (!strncmp(p, "E: ", 3))
                best = p;
        }
        p = nl ? nl + 1 : NULL;
    }
    const char *line = best ? best : last;
    if (!line)
        return cr_xstrdup("no output");
    size_t len = strcspn(line, "\n");
    return cr_xstrndup(line, len > 300 ? 300 : len);
}

/* Runs a host tool, logging its output; a failure is an error of the role. */
static int host_run(build *b, const char *what, const char *const *argv)
{
    blog(b, "== %s:", what);
    for (size_t i = 0; argv[i]; i++)
        blog(b, " %s", argv[i]);
    blog(b, "\n");
    char *out = NULL, *err = NULL;
    int st = cr_proc_run(argv, &out, &err);
    blog(b, "%s%s", out ? out : "", err ? err : "");
    int rc = 0;
    if (st != 0) {
        if (st > 0) {
            char *why = last_error_line(err && *err ? err : out);
            cr_error_set(CR_ERROR, "%s exited with %d: %s", argv[0], st, why);
            free(why);
        }
        rc = role_error(b, NULL, what);
    }
    free(out);
    free(err);
    return rc;
}

/* An argument vector that owns its strings. */
typedef struct argv_buf {
    char **v;
    size_t n, cap;
} argv_buf;

static void argv_add(argv_buf *a, char *owned)
{
    cr_grow(&a->v, &a->cap, a->n + 2, sizeof *a->v);
    a->v[a->n++] = owned;
    a->v[a->n] = NULL;
}

static void argv_free(argv_buf *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* apt-get with the base image's package database and sources, and private
 * lists and caches under the build folder, so that neither the host's apt
 * state nor the image store is touched. The host's apt.conf (a proxy, say)
 * still applies; its sources do not: the layer must come from the archive
 * the image came from, not from a third-party repository of the host. */
static void apt_argv(argv_buf *a, build *b, const char *command)
{
    char *apt = cr_path_join(b->work, "apt");
    argv_add(a, cr_xstrdup("apt-get"));
    argv_add(a, cr_xstrdup("-q"));
    argv_add(a, cr_xstrdup("-y"));
    char *opts[] = {
        cr_xasprintf("Dir::State=%s/state", apt),
        cr_xasprintf("Dir::State::status=%s/state/status", apt),
        cr_xasprintf("Dir::State::Lists=%s/lists", apt),
        cr_xasprintf("Dir::Cache=%s/cache", apt),
        cr_xasprintf("Dir::Cache::archives=%s/debs", b->payload_dir),
        cr_xasprintf("Dir::Etc::SourceList=%s", b->base->apt_sources),
        cr_xasprintf("Dir::Etc::SourceParts=%s/empty", apt),
        cr_xasprintf("Dir::Etc::Preferences=%s/empty/none", apt),
        cr_xasprintf("Dir::Etc::PreferencesParts=%s/empty", apt),
        cr_xstrdup("APT::Install-Recommends=false"),
        cr_xstrdup("APT::Architectures=amd64"),
        cr_xstrdup("Acquire::Languages=none"),
        cr_xstrdup("Debug::NoLocking=true"),
    };
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        argv_add(a, cr_xstrdup("-o"));
        argv_add(a, opts[i]);
    }
    argv_add(a, cr_xstrdup(command));
    free(apt);
}

/* "name_1%3a2.0-1_amd64.deb" -> "name=1:2.0-1". */
static char *deb_version(const char *file)
{
    const char *u1 = strchr(file, '_');
    const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
    if (!u1 || !u2)
        return NULL;
    cr_buf v = {0};
    cr_buf_addn(&v, file, (size_t)(u1 - file));
    cr_buf_add(&v, "=");
    for (const char *p = u1 + 1; p < u2; p++) {
        if (p[0] == '%' && p + 2 < u2 && p[1] == '3' && (p[2] == 'a' || p[2] == 'A')) {
            cr_buf_add(&v, ":");
            p += 2;
        } else {
            cr_buf_addn(&v, p, 1);
        }
    }
    return cr_buf_steal(&v);
}

/* Step 1: the packages and their dependencies missing from the base image. */
static int download_packages(build *b, size_t *n_debs)
{
    *n_debs = 0;
    size_t n_pkgs = 0;
    while (b->role->packages && b->role->packages[n_pkgs])
        n_pkgs++;
    if (n_pkgs == 0)
        return 0;
    char *apt = cr_path_join(b->work, "apt");
    const char *dirs[] = {"state", "lists/partial", "cache/archives/partial", "empty"};
    int rc = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && rc == 0; i++) {
        char *d = cr_path_join(apt, dirs[i]);
        rc = cr_mkdir_p(d, 0755);
        free(d);
    }
    char *debs = cr_path_join(b->payload_dir, "debs/partial");
    if (rc == 0)
        rc = cr_mkdir_p(debs, 0755);
    free(debs);
    /* A copy, so that apt's lock and backup files stay in the build folder. */
    char *status = NULL, *copy = cr_xasprintf("%s/state/status", apt);
    size_t len = 0;
    if (rc == 0)
        rc = cr_read_file(&status, &len, b->base->dpkg_status);
    if (rc == 0)
        rc = cr_write_file_atomic(copy, status, len, 0644);
    free(status);
    free(copy);
    free(apt);
    if (rc < 0)
        return role_error(b, NULL, "preparing apt");

    argv_buf a = {0};
    apt_argv(&a, b, "update");
    rc = host_run(b, "updating the package lists (apt-get update)", (const char *const *)a.v);
    argv_free(&a);
    if (rc == 0) {
        apt_argv(&a, b, "install");
        argv_add(&a, cr_xstrdup("--download-only"));
        argv_add(&a, cr_xstrdup("--no-install-recommends"));
        for (size_t i = 0; i < n_pkgs; i++)
            argv_add(&a, cr_xstrdup(b->role->packages[i]));
        rc = host_run(b, "downloading the packages", (const char *const *)a.v);
        argv_free(&a);
    }
    if (rc < 0)
        return rc;

    char *dir = cr_path_join(b->payload_dir, "debs");
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cap = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".deb")) {
            cr_grow(&names, &cap, *n_debs + 1, sizeof *names);
            names[(*n_debs)++] = cr_xstrdup(e->d_name);
        }
    }
    if (d)
        closedir(d);
    qsort(names, *n_debs, sizeof *names, cmp_str);
    for (size_t i = 0; i < *n_debs; i++) {
        char *v = deb_version(names[i]);
        if (v)
            json_array_append_new(b->installed, json_string(v));
        free(v);
        free(names[i]);
    }
    free(names);
    /* apt's own leftovers do not belong on the payload. */
    char *partial = cr_path_join(dir, "partial"), *lock = cr_path_join(dir, "lock");
    cr_rm_rf(partial);
    unlink(lock);
    free(partial);
    free(lock);
    free(dir);
    blog(b, "== %zu packages to install\n", *n_debs);
    return 0;
}

/* Step 2: the files, then the payload disk (ext4, read-only in the guest). */
static int make_payload(build *b)
{
    char *files = cr_path_join(b->payload_dir, "files");
    int rc = cr_mkdir_p(files, 0755);
    uint64_t total = 0;
    for (size_t i = 0; i < b->role->n_steps && rc == 0; i++) {
        const cr_step *st = &b->role->steps[i];
        if (st->kind != CR_STEP_FILE)
            continue;
        char *data = NULL, *path = cr_xasprintf("%s/%zu", files, i);
        size_t len = 0;
        rc = step_bytes(&data, &len, b->scenario_dir, st);
        if (rc == 0)
            rc = cr_write_file_atomic(path, data, len, 0644);
        total += len;
        free(data);
        free(path);
    }
    free(files);
    /* Size: the .debs and files, plus room for ext4's own blocks. */
    char *debs = cr_path_join(b->payload_dir, "debs");
    DIR *d = opendir(debs);
    struct dirent *e;
    while (rc == 0 && d && (e = readdir(d))) {
        struct stat sb;
        char *p = cr_path_join(debs, e->d_name);
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            total += (uint64_t)sb.st_size + 4096;
        free(p);
    }
    if (d)
        closedir(d);
    free(debs);
    if (rc < 0)
        return role_error(b, NULL, "preparing the payload");
    char size[32];
    snprintf(size, sizeof size, "%lluk", (unsigned long long)((total + total / 8) / 1024 + 16384));
    const char *argv[] = {"mke2fs", "-q", "-t", "ext4", "-m", "0", "-O", "^has_journal", "-L", "crange-payload",
                          "-d", b->payload_dir, b->payload, size, NULL};
    return host_run(b, "making the payload disk", argv);
}

static char *builder_xml(build *b, const char *domtype)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char *cmdline = cr_xasprintf("%s crange.hostname=layer", b->base->cmdline);
    char *console = cr_path_join(b->work, "console.log");
    cr_domain_spec spec = {
        .domtype = domtype,
        .memory_mib = BUILDER_MEMORY_MIB,
        .vcpus = cpus >= 2 ? 2 : 1,
        .kernel = b->base->kernel,
        .initrd = b->base->initrd,
        .cmdline = cmdline,
        .reboot_destroys = true,
        .console_log = console,
        .rng = true,
    };
    cr_buf x = {0};
    cr_buf_addf(&x, "<domain type=\"%s\">\n  <name>crange-layer-%.16s</name>\n", domtype, b->key);
    cr_xml_domain_head(&x, &spec);
    /* No <interface>: the builder has no network at all. */
    cr_buf_add(&x, "    <disk type=\"file\" device=\"disk\">\n"
                   "      <driver name=\"qemu\" type=\"qcow2\" discard=\"unmap\"/>\n      <source file=\"");
    cr_buf_add_xml(&x, b->disk);
    cr_buf_add(&x, "\"/>\n      <target dev=\"vda\" bus=\"virtio\"/>\n    </disk>\n"
                   "    <disk type=\"file\" device=\"disk\">\n      <driver name=\"qemu\" type=\"raw\"/>\n"
                   "      <source file=\"");
    cr_buf_add_xml(&x, b->payload);
    cr_buf_add(&x, "\"/>\n      <target dev=\"vdb\" bus=\"virtio\"/>\n      <readonly/>\n    </disk>\n");
    cr_xml_domain_tail(&x, &spec);
    cr_buf_add(&x, "</domain>\n");
    free(cmdline);
    free(console);
    return cr_buf_steal(&x);
}

/* Adds the last CONSOLE_TAIL_LINES lines of the builder's console to the
 * build's log; nothing if the builder never wrote one. */
static void log_console_tail(build *b)
{
    char *console = cr_path_join(b->work, "console.log");
    char *text = NULL;
    size_t len = 0;
    /* An error pending here is the build's, and stays the one reported;
     * a console that cannot be read is no error of its own. */
    bool pending = cr_error_pending();
    if (!b->log || cr_read_file(&text, &len, console) < 0) {
        if (!pending)
            cr_error_clear();
    } else {
        size_t start = len, lines = 0;
        while (start > 0 && lines <= CONSOLE_TAIL_LINES)
            if (text[--start] == '\n')
                lines++;
        if (lines > CONSOLE_TAIL_LINES)
            start++;
        blog(b, "== the end of the builder's console\n");
        fwrite(text + start, 1, len - start, b->log);
        if (len && text[len - 1] != '\n')
            fputc('\n', b->log);
        fflush(b->log);
    }
    free(text);
    free(console);
}

/* CRANGE_BUILDER_WAIT: the seconds a builder's first boot has before it is
 * booted again (the tests set 1 to take the second boot on purpose). Read
 * before anything is downloaded, so that a bad value costs nothing. */
static int builder_first_wait(int *out)
{
    *out = BUILDER_FIRST_WAIT_S;
    const char *env = getenv("CRANGE_BUILDER_WAIT");
    if (!env || !*env)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (errno || *end || v < 1 || v > AGENT_TIMEOUT_S)
        return cr_error_set(CR_EINVAL, "CRANGE_BUILDER_WAIT must be seconds from 1 to %d, not '%s'", AGENT_TIMEOUT_S,
                            env);
    *out = (int)v;
    return 0;
}

/* Starts the builder and waits for its agent. A builder that does not
 * answer within BUILDER_FIRST_WAIT_S is booted once more, its console's end
 * kept in the log: a debian-12 guest needs about 20 CPU-s to its agent
 * under TCG, and CI once waited the whole AGENT_TIMEOUT_S for a builder
 * that never answered (2026-12-05, cause not known). */
static int boot_builder(build *b, virConnectPtr conn, const char *domtype)
{
    char *xml = builder_xml(b, domtype);
    int rc = 0;
    for (int attempt = 1; attempt <= 2; attempt++) {
        blog(b, "== booting the builder%s\n", attempt > 1 ? " again" : "");
        b->dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_AUTODESTROY);
        if (!b->dom) {
            cr_error_set(CR_ERROR, "%s", virGetLastErrorMessage());
            rc = role_error(b, NULL, "starting the builder");
            break;
        }
        rc = cr_agent_wait(b->dom, attempt == 1 ? b->first_wait : AGENT_TIMEOUT_S);
        if (rc == 0) {
            blog(b, "== the builder's agent answers\n");
            break;
        }
        if (attempt == 2) {
            rc = role_error(b, NULL, "booting the builder");
            break;
        }
        cr_log_warn("role '%s': the layer's builder did not answer within %d s; booting it again", b->role->name,
                    b->first_wait);
        blog(b, "== no answer: %s\n", cr_error_message());
        cr_error_clear();
        log_console_tail(b);
        virDomainDestroy(b->dom);
        virDomainFree(b->dom);
        b->dom = NULL;
    }
    free(xml);
    return rc;
}

/* Runs a command in the builder; a non-zero exit is an error of the role
 * at w, with the first line of what the command said. */
static int guest_run(build *b, const cr_where *w, const char *what, const char *const *argv, int timeout_s)
{
    blog(b, "== %s\n", what);
    cr_exec_result res;
    int rc = cr_agent_exec(&res, b->dom, argv, NULL, 0, timeout_s);
    if (rc < 0)
        return role_error(b, w, what);
    blog(b, "%.*s%.*s", (int)res.out_len, res.out ? res.out : "", (int)res.err_len, res.err ? res.err : "");
    if (res.signal || res.exit_code != 0) {
        char *why = last_error_line(res.err_len ? res.err : res.out);
        if (res.signal)
            cr_error_set(CR_ERROR, "killed by signal %d", res.signal);
        else
            cr_error_set(CR_ERROR, "exited with %d: %s", res.exit_code, why);
        free(why);
        rc = role_error(b, w, what);
    }
    cr_exec_result_free(&res);
    return rc;
}

/* What a layer must not carry from its build boot: per-machine identity
 * (each VM makes its own at first boot), the build's action spool,
 * caches. Then the freed blocks are discarded, so the layer keeps only what
 * the role added. */
static const char cleanup_script[] =
    "set -e\n"
    "umount " PAYLOAD_MOUNT " 2>/dev/null || true\n"
    "rm -f /usr/sbin/policy-rc.d\n"
    "apt-get clean\n"
    "rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* /var/log/crange\n"
    "rm -f /etc/ssh/ssh_host_* /var/lib/systemd/random-seed /var/lib/dbus/machine-id\n"
    "umount /etc/machine-id 2>/dev/null || true\n"
    ": > /etc/machine-id\n"
    "sync\n"
    "fstrim / || true\n";

static const char install_script[] =
    "set -e\n"
    "export DEBIAN_FRONTEND=noninteractive\n"
    /* Packages' maintainer scripts must not start services in the builder. */
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d\n"
    "chmod 0755 /usr/sbin/policy-rc.d\n"
    "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "
    PAYLOAD_MOUNT "/debs/*.deb\n"
    "rm -f /usr/sbin/policy-rc.d\n";

/* Step 3 in the guest: packages, files, commands, cleanup. */
static int provision_layer(build *b, size_t n_debs)
{
    const char *mount_argv[] = {"/bin/sh", "-c",
                                "mkdir -p " PAYLOAD_MOUNT " && mount -o ro /dev/vdb " PAYLOAD_MOUNT, NULL};
    int rc = guest_run(b, NULL, "mounting the payload", mount_argv, STEP_TIMEOUT_S);
    if (rc == 0 && n_debs) {
        const char *argv[] = {"/bin/sh", "-c", install_script, NULL};
        char what[64];
        snprintf(what, sizeof what, "installing %zu packages", n_debs);
        rc = guest_run(b, NULL, what, argv, INSTALL_TIMEOUT_S);
    }
    for (size_t i = 0; i < b->role->n_steps && rc == 0; i++) {
        const cr_step *st = &b->role->steps[i];
        char what[320];
        if (st->kind == CR_STEP_FILE) {
            char src[64], mode[16];
            snprintf(src, sizeof src, PAYLOAD_MOUNT "/files/%zu", i);
            snprintf(mode, sizeof mode, "%o", st->mode ? st->mode : 0644);
            snprintf(what, sizeof what, "copying %.250s", st->dest);
            const char *argv[] = {"install", "-D", "-m", mode, src, st->dest, NULL};
            rc = guest_run(b, &st->where, what, argv, STEP_TIMEOUT_S);
        } else if (st->kind == CR_STEP_RUN) {
            const char *shown = st->argv[0] && st->argv[1] && st->argv[2] && !strcmp(st->argv[1], "-c")
                                    ? st->argv[2]
                                    : st->argv[0];
            snprintf(what, sizeof what, "command '%.200s'", shown);
            rc = guest_run(b, &st->where, what, (const char *const *)st->argv,
                           st->timeout_s > 0 ? st->timeout_s : STEP_TIMEOUT_S);
        }
    }
    if (rc == 0) {
        const char *argv[] = {"/bin/sh", "-c", cleanup_script, NULL};
        rc = guest_run(b, NULL, "cleaning up", argv, STEP_TIMEOUT_S);
    }
    return rc;
}

/* Powers the builder off and waits until it is gone. systemctl, not the
 * agent's guest-shutdown, which runs `shutdown +0` and so needs logind. */
static int power_off(build *b)
{
    blog(b, "== powering off\n");
    const char *argv[] = {"systemctl", "--no-block", "poweroff", NULL};
    cr_exec_result res;
    if (cr_agent_exec(&res, b->dom, argv, NULL, 0, 30) == 0)
        cr_exec_result_free(&res);
    /* The answer may be lost as the guest goes down: what counts is that
     * the domain stops. */
    cr_error_clear();
    int64_t deadline = cr_now_ms() + (int64_t)SHUTDOWN_TIMEOUT_S * 1000;
    for (;;) {
        int state = 0, reason = 0;
        /* Transient with on_poweroff destroy: it vanishes once off. */
        if (virDomainGetState(b->dom, &state, &reason, 0) < 0 || state == VIR_DOMAIN_SHUTOFF)
            return 0;
        if (cr_now_ms() > deadline) {
            cr_error_set(CR_ETIMEOUT, "still running %d s after systemctl poweroff", SHUTDOWN_TIMEOUT_S);
            return role_error(b, NULL, "powering the builder off");
        }
        cr_sleep_ms(200);
    }
}

static int write_manifest(build *b, double seconds)
{
    char sum[65], when[32];
    uint64_t size = 0;
    int rc = cr_file_sha256(sum, &size, b->disk);
    if (rc < 0)
        return rc;
    cr_iso8601(when, cr_wall_ms());
    json_t *packages = json_array();
    for (size_t i = 0; b->role->packages && b->role->packages[i]; i++)
        json_array_append_new(packages, json_string(b->role->packages[i]));
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:{s:{s:s, s:I}}, s:I, s:s, s:f}", "kind",
                          "layer", "key", b->key, "role", b->role->name, "image", b->base->name, "base_recipe_hash",
                          b->base->recipe_hash, "base_disk_sha256", b->base->disk_sha256 ? b->base->disk_sha256 : "",
                          "packages", packages, "installed", b->installed, "files", "layer.qcow2", "sha256", sum,
                          "size", (json_int_t)size, "size", (json_int_t)size, "built_at", when, "build_seconds",
                          seconds);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *path = cr_path_join(b->work, "manifest.json");
    rc = cr_write_file_atomic(path, text, strlen(text), 0644);
    free(path);
    free(text);
    json_decref(m);
    return rc;
}

int cr_layer_ensure(cr_layer **out, bool *built, virConnectPtr conn, const char *domtype, const char *store,
                    const char *scenario_dir, const cr_role *role, const cr_image *base)
{
    *out = NULL;
    *built = false;
    build b = {.role = role, .base = base, .scenario_dir = scenario_dir};
    int rc = cr_layer_key(b.key, scenario_dir, role, base);
    if (rc < 0)
        return rc;
    rc = cr_layer_open(out, store, b.key);
    if (rc != CR_ENOTFOUND)
        return rc;
    cr_error_clear();
    /* A layer is a root file system with a package database: the image's
     * recipe records it (debian-12 does; tiny, whose root is its initramfs,
     * does not). */
    if (!base->disk || !base->dpkg_status || !base->apt_sources)
        return cr_model_error(&role->where,
                              "role '%s': image '%s' is not a Debian image with a root disk (no dpkg-status); "
                              "roles need one such as debian-12", role->name, base->name);
    rc = builder_first_wait(&b.first_wait);
    if (rc < 0)
        return rc;

    char *root = layers_dir(store);
    char *lockpath = cr_xasprintf("%s/.lock-%s", root, b.key);
    char *final = cr_path_join(root, b.key);
    char *failed_log = cr_xasprintf("%s/.failed-%s.log", root, b.key);
    int lockfd = -1;
    b.t0 = cr_now_seconds();
    b.work = cr_xasprintf("%s/.build-%s-%ld", root, b.key, (long)getpid());
    b.disk = cr_path_join(b.work, "layer.qcow2");
    b.payload_dir = cr_path_join(b.work, "payload");
    b.payload = cr_path_join(b.work, "payload.img");
    b.installed = json_array();

    /* QEMU runs as another user and must reach the files in here. */
    rc = cr_mkdir_p(root, 0755);
    if (rc < 0)
        goto cleanup;
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", lockpath, strerror(errno));
        goto cleanup;
    }
    /* Someone else may have built it while we waited for the lock. */
    rc = cr_layer_open(out, store, b.key);
    if (rc != CR_ENOTFOUND)
        goto cleanup;
    cr_error_clear();

    cr_log_info("building the layer of role '%s' on image '%s' (%.12s)", role->name, base->name, b.key);
    cr_rm_rf(b.work);
    rc = cr_mkdir_p(b.payload_dir, 0755);
    if (rc < 0)
        goto cleanup;
    chmod(b.work, 0755);
    char *logpath = cr_path_join(b.work, "build.log");
    b.log = fopen(logpath, "we");
    free(logpath);
    blog(&b, "layer %s: role '%s' on image '%s' (recipe %s, disk %s)\n", b.key, role->name, base->name,
         base->recipe_hash, base->disk_sha256 ? base->disk_sha256 : "-");

    size_t n_debs = 0;
    rc = download_packages(&b, &n_debs);
    if (rc == 0)
        rc = make_payload(&b);
    if (rc == 0) {
        const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base->disk, b.disk,
                              NULL};
        rc = host_run(&b, "creating the layer", argv);
    }
    if (rc < 0)
        goto cleanup;

    rc = boot_builder(&b, conn, domtype);
    if (rc == 0)
        rc = provision_layer(&b, n_debs);
    if (rc == 0)
        rc = power_off(&b);
    if (rc < 0)
        goto cleanup;

    /* Only the layer, its manifest and its logs go into the store. */
    cr_rm_rf(b.payload_dir);
    unlink(b.payload);
    char *apt = cr_path_join(b.work, "apt");
    cr_rm_rf(apt);
    free(apt);
    double seconds = cr_now_seconds() - b.t0;
    blog(&b, "== done in %.1f s\n", seconds);
    rc = write_manifest(&b, seconds);
    if (rc == 0 && chmod(b.disk, 0444) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", b.disk, strerror(errno));
    if (rc == 0 && rename(b.work, final) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", final, strerror(errno));
    if (rc == 0) {
        cr_log_info("layer of role '%s' built in %.0f s (%zu packages)", role->name, seconds, n_debs);
        *built = true;
        unlink(failed_log);
        rc = cr_layer_open(out, store, b.key);
    }

cleanup:
    if (b.dom) {
        if (virDomainIsActive(b.dom) == 1)
            virDomainDestroy(b.dom);
        virDomainFree(b.dom);
    }
    if (rc < 0)
        log_console_tail(&b);
    if (b.log)
        fclose(b.log);
    if (rc < 0 && cr_is_dir(b.work)) {
        /* Keep the log of a failed build where the next one will not erase
         * it, with the end of the builder's console (above): a builder that
         * never answers shows why only there. */
        char *kept = cr_path_join(b.work, "build.log");
        if (rename(kept, failed_log) == 0) {
            char *msg = cr_xstrdup(cr_error_message());
            cr_error_replace(rc, "%s (the build's log: %s)", msg, failed_log);
            free(msg);
        }
        free(kept);
        cr_rm_rf(b.work);
    }
    if (lockfd >= 0)
        close(lockfd);
    json_decref(b.installed);
    free(b.work);
    free(b.disk);
    free(b.payload_dir);
    free(b.payload);
    free(root);
    free(lockpath);
    free(final);
    free(failed_log);
    return rc;
}
