/*
 * image.c: the image store of image.h. Builds run the recipe into a
 * temporary folder inside the store and move it into place with rename(), so
 * a killed build never leaves a half image where a good one is expected.
 */
#include "image.h"

#include "err.h"
#include "layer.h"
#include "log.h"
#include "model.h"
#include "paths.h"
#include "proc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files an image may have; image.json records the checksum of those the
 * recipe wrote. Keep the order: cr_image_open fills its slots by index. */
static const char *const image_files[] = {"vmlinuz", "initrd.img", "disk.qcow2", "dpkg-status", "apt-sources"};
#define N_IMAGE_FILES (sizeof image_files / sizeof *image_files)

void cr_image_free(cr_image *img)
{
    if (!img)
        return;
    free(img->name);
    free(img->dir);
    free(img->boot);
    free(img->kernel);
    free(img->initrd);
    free(img->disk);
    free(img->disk_sha256);
    free(img->dpkg_status);
    free(img->apt_sources);
    free(img->cmdline);
    free(img->recipe_hash);
    free(img->built_at);
    free(img);
}

cr_image *cr_image_copy(const cr_image *img)
{
    cr_image *c = cr_xmalloc(sizeof *c);
    *c = *img;
    c->name = cr_xstrdup(img->name);
    c->dir = cr_xstrdup(img->dir);
    c->boot = cr_xstrdup(img->boot);
    c->kernel = cr_xstrdup(img->kernel);
    c->initrd = cr_xstrdup(img->initrd);
    c->disk = cr_xstrdup(img->disk);
    c->disk_sha256 = cr_xstrdup(img->disk_sha256);
    c->dpkg_status = cr_xstrdup(img->dpkg_status);
    c->apt_sources = cr_xstrdup(img->apt_sources);
    c->cmdline = cr_xstrdup(img->cmdline);
    c->recipe_hash = cr_xstrdup(img->recipe_hash);
    c->built_at = cr_xstrdup(img->built_at);
    return c;
}

static char *recipe_dir(const char *name)
{
    char *rel = cr_path_join("images", name);
    char *dir = cr_data_path(rel);
    free(rel);
    return dir;
}

/* "layers" holds the role layers, so it cannot name an image. */
static bool image_name_valid(const char *name)
{
    return cr_name_valid(name, 31) && strcmp(name, CR_LAYER_DIR) != 0;
}

bool cr_image_recipe_exists(const char *name)
{
    if (!image_name_valid(name))
        return false;
    char *dir = recipe_dir(name);
    char *script = cr_path_join(dir, "build.sh");
    bool ok = cr_path_exists(script);
    free(script);
    free(dir);
    return ok;
}

bool cr_image_takes_roles(const char *name, const char *store)
{
    if (!image_name_valid(name))
        return true;
    bool ok = true;
    if (cr_image_recipe_exists(name)) {
        char *dir = recipe_dir(name);
        char *script = cr_path_join(dir, "build.sh");
        char *text = NULL;
        size_t len = 0;
        ok = cr_read_file(&text, &len, script) == 0 && strstr(text, "dpkg-status");
        cr_error_clear();
        free(text);
        free(script);
        free(dir);
    } else if (store) {
        cr_image *img = NULL;
        if (cr_image_open(&img, store, name) == 0)
            ok = img->disk && img->dpkg_status && img->apt_sources;
        else
            cr_error_clear();
        cr_image_free(img);
    }
    return ok;
}

int cr_image_check_roles(const struct cr_scenario *s, const char *store)
{
    const cr_team_model *t1 = &s->teams[0];
    for (size_t i = 0; i < t1->n_roles; i++)
        if (!cr_image_takes_roles(t1->roles[i].image, store))
            return cr_model_error(&t1->roles[i].where, CR_ROLE_IMAGE_REFUSED, t1->roles[i].name, t1->roles[i].image);
    return 0;
}

bool cr_image_known(const char *name, void *store)
{
    if (cr_image_recipe_exists(name))
        return true;
    if (!store || !image_name_valid(name))
        return false;
    char *dir = cr_path_join(store, name);
    char *meta = cr_path_join(dir, "image.json");
    bool ok = cr_path_exists(meta);
    free(meta);
    free(dir);
    return ok;
}

int cr_file_sha256(char out[65], uint64_t *size, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[1 << 16];
    ssize_t n;
    uint64_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        total += (uint64_t)n;
    }
    close(fd);
    if (n < 0)
        return cr_error_set(CR_ERROR, "%s: read failed", path);
    unsigned char digest[32];
    crypto_hash_sha256_final(&st, digest);
    cr_hex(out, digest, sizeof digest);
    if (size)
        *size = total;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* BLAKE2b over the recipe's files (sorted by name) and inputs.sh's output. */
static int recipe_hash(char out[65], const char *name)
{
    char *dir = recipe_dir(name);
    int rc = 0;
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    if (!d) {
        rc = cr_error_set(CR_ENOTFOUND, "image '%s' has no recipe (%s)", name, dir);
        goto cleanup;
    }
    /* Subfolders are walked too (recipes keep a rootfs/ tree): names appended
     * below are visited by this same loop. */
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cr_grow(&names, &cap, n + 1, sizeof *names);
        names[n++] = cr_xstrdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        char *path = cr_path_join(dir, names[i]);
        if (cr_is_dir(path)) {

            DIR *sd = opendir(path);
            struct dirent *se;
            while (sd && (se = readdir(sd))) {
                if (se->d_name[0] == '.')
                    continue;
                cr_grow(&names, &cap, n + 1, sizeof *names);
                names[n++] = cr_path_join(names[i], se->d_name);
            }
            if (sd)
                closedir(sd);
        }
        free(path);
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = cr_path_join(dir, names[i]);
        char *data = NULL;
        size_t len = 0;
        if (!cr_is_dir(path) && cr_read_file(&data, &len, path) == 0) {
            crypto_generichash_update(&st, (const unsigned char *)names[i], strlen(names[i]) + 1);
            crypto_generichash_update(&st, (const unsigned char *)data, len);
        }
        free(data);
        free(path);
    }
    char *inputs = cr_path_join(dir, "inputs.sh");
    if (cr_path_exists(inputs)) {
        const char *argv[] = {"sh", inputs, NULL};
        char *outp = NULL;
        int st_rc = cr_proc_run(argv, &outp, NULL);
        if (st_rc != 0) {
            free(outp);
            rc = st_rc < 0 ? st_rc : cr_error_set(CR_ERROR, "%s failed with status %d", inputs, st_rc);
            free(inputs);
            goto cleanup;
        }
        crypto_generichash_update(&st, (const unsigned char *)outp, strlen(outp));
        free(outp);
    }
    free(inputs);
    unsigned char digest[32];
    crypto_generichash_final(&st, digest, sizeof digest);
    cr_hex(out, digest, sizeof digest);
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return rc;
}

/* image.env: key=value lines written by the recipe. */
static char *env_get(const char *env, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = env; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > klen && !strncmp(line, key, klen) && line[klen] == '=')
            return cr_xstrndup(line + klen + 1, len - klen - 1);
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static int disk_virtual_size(uint64_t *out, const char *path)
{
    const char *argv[] = {"qemu-img", "info", "--output=json", path, NULL};
    char *text = NULL, *errtext = NULL;
    int rc = cr_proc_run(argv, &text, &errtext);
    if (rc > 0)
        rc = cr_error_set(CR_ERROR, "qemu-img info %s: %s", path, errtext);
    if (rc == 0) {
        json_t *j = json_loads(text, 0, NULL);
        json_t *vs = json_object_get(j, "virtual-size");
        if (json_is_integer(vs))
            *out = (uint64_t)json_integer_value(vs);
        else
            rc = cr_error_set(CR_ERROR, "qemu-img info %s: no virtual-size", path);
        json_decref(j);
    }
    free(text);
    free(errtext);
    return rc;
}

/* Writes image.json for the files the recipe produced in dir. */
static int write_manifest(const char *dir, const char *name, const char *hash)
{
    char *envpath = cr_path_join(dir, "image.env");
    char *env = NULL;
    int rc = cr_read_file(&env, NULL, envpath);
    free(envpath);
    if (rc < 0)
        return cr_error_replace(CR_ERROR, "image '%s': the recipe wrote no image.env", name);

    json_t *files = json_object();
    json_t *m = json_object();
    uint64_t total = 0;
    for (size_t i = 0; i < N_IMAGE_FILES; i++) {
        char *path = cr_path_join(dir, image_files[i]);
        if (cr_path_exists(path)) {
            char sum[65];
            uint64_t size = 0;
            rc = cr_file_sha256(sum, &size, path);
            if (rc == 0)
                json_object_set_new(files, image_files[i], json_pack("{s:s, s:I}", "sha256", sum, "size",
                                                                      (json_int_t)size));
            total += size;
            if (rc == 0 && !strcmp(image_files[i], "disk.qcow2")) {
                uint64_t vsize = 0;
                rc = disk_virtual_size(&vsize, path);
                json_object_set_new(m, "disk_virtual_size", json_integer((json_int_t)vsize));
            }
        }
        free(path);
        if (rc < 0)
            goto cleanup;
    }
    char when[32];
    cr_iso8601(when, cr_wall_ms());
    char *boot = env_get(env, "boot"), *cmdline = env_get(env, "cmdline"), *actions = env_get(env, "actions");
    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "recipe_hash", json_string(hash));
    json_object_set_new(m, "built_at", json_string(when));
    json_object_set_new(m, "boot", json_string(boot ? boot : "kernel"));
    json_object_set_new(m, "cmdline", json_string(cmdline ? cmdline : ""));
    json_object_set_new(m, "actions", json_boolean(actions && !strcmp(actions, "1")));
    json_object_set_new(m, "size", json_integer((json_int_t)total));
    json_object_set(m, "files", files);
    free(boot);
    free(cmdline);
    free(actions);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *mpath = cr_path_join(dir, "image.json");
    rc = cr_write_file_atomic(mpath, text, strlen(text), 0644);
    free(mpath);
    free(text);
cleanup:
    json_decref(files);
    json_decref(m);
    free(env);
    return rc;
}

static json_t *load_manifest(const char *store, const char *name)
{
    char *dir = cr_path_join(store, name);
    char *path = cr_path_join(dir, "image.json");
    json_t *m = json_load_file(path, 0, NULL);
    free(path);
    free(dir);
    return m;
}

int cr_image_verify(const char *store, const char *name)
{
    json_t *m = load_manifest(store, name);
    if (!m)
        return cr_error_set(CR_ENOTFOUND, "image '%s' is not built (crange image build %s)", name, name);
    char *dir = cr_path_join(store, name);
    int rc = 0;
    const char *file;
    json_t *info;
    json_object_foreach(json_object_get(m, "files"), file, info)
    {
        char *path = cr_path_join(dir, file);
        char sum[65];
        rc = cr_file_sha256(sum, NULL, path);
        if (rc == 0 && strcmp(sum, json_string_value(json_object_get(info, "sha256")) ?: ""))
            rc = cr_error_set(CR_EINVAL, "image '%s': %s does not match its checksum", name, file);
        free(path);
        if (rc < 0)
            break;
    }
    free(dir);
    json_decref(m);
    return rc;
}

int cr_image_open(cr_image **out, const char *store, const char *name)
{
    *out = NULL;
    if (!image_name_valid(name))
        return cr_error_set(CR_EINVAL, "bad image name '%s'", name);
    json_t *m = load_manifest(store, name);
    if (!m)
        return cr_error_set(CR_ENOTFOUND, "image '%s' is not built (crange image build %s)", name, name);
    cr_image *img = cr_xcalloc(1, sizeof *img);
    img->name = cr_xstrdup(name);
    img->dir = cr_path_join(store, name);
    img->boot = cr_xstrdup(json_string_value(json_object_get(m, "boot")) ?: "kernel");
    img->cmdline = cr_xstrdup(json_string_value(json_object_get(m, "cmdline")) ?: "");
    img->actions = json_is_true(json_object_get(m, "actions"));
    img->recipe_hash = cr_xstrdup(json_string_value(json_object_get(m, "recipe_hash")) ?: "");
    img->built_at = cr_xstrdup(json_string_value(json_object_get(m, "built_at")) ?: "");
    img->size = (uint64_t)json_integer_value(json_object_get(m, "size"));
    img->disk_virtual_size = (uint64_t)json_integer_value(json_object_get(m, "disk_virtual_size"));
    json_t *files = json_object_get(m, "files");
    char **slots[N_IMAGE_FILES] = {&img->kernel, &img->initrd, &img->disk, &img->dpkg_status, &img->apt_sources};
    int rc = 0;
    const char *disk_sum = json_string_value(json_object_get(json_object_get(files, "disk.qcow2"), "sha256"));
    img->disk_sha256 = cr_xstrdup(disk_sum);
    for (size_t i = 0; i < N_IMAGE_FILES; i++) {
        if (!json_object_get(files, image_files[i]))
            continue;
        *slots[i] = cr_path_join(img->dir, image_files[i]);
        if (!cr_path_exists(*slots[i]))
            rc = cr_error_set(CR_EINVAL, "image '%s': %s is missing; rebuild with crange image build --force %s",
                              name, image_files[i], name);
    }
    if (rc == 0 && !strcmp(img->boot, "kernel") && (!img->kernel || !img->initrd))
        rc = cr_error_set(CR_EINVAL, "image '%s' boots a kernel but has no vmlinuz/initrd.img", name);
    if (rc == 0 && strcmp(img->boot, "kernel") && !img->disk)
        rc = cr_error_set(CR_EINVAL, "image '%s' boots from disk but has no disk.qcow2", name);
    json_decref(m);
    if (rc < 0) {
        cr_image_free(img);
        return rc;
    }
    *out = img;
    return 0;
}

int cr_image_build(const char *store, const char *name, bool force, bool *rebuilt)
{
    *rebuilt = false;
    if (!cr_image_recipe_exists(name))
        return cr_error_set(CR_ENOTFOUND, "no recipe for image '%s' (looked for images/%s/build.sh)", name, name);
    int rc = cr_mkdir_p(store, 0755);
    if (rc < 0)
        return rc;

    char hash[65];
    char *lockpath = cr_xasprintf("%s/.lock-%s", store, name);
    char *final = cr_path_join(store, name);
    char *tmp = cr_xasprintf("%s/.build-%s-%ld", store, name, (long)getpid());
    char *old = cr_xasprintf("%s/.old-%s-%ld", store, name, (long)getpid());
    char *rdir = recipe_dir(name);
    char *script = cr_path_join(rdir, "build.sh");
    int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", lockpath, strerror(errno));
        goto cleanup;
    }
    rc = recipe_hash(hash, name);
    if (rc < 0)
        goto cleanup;
    json_t *m = load_manifest(store, name);
    const char *have = json_string_value(json_object_get(m, "recipe_hash"));
    bool current = have && !strcmp(have, hash);
    json_decref(m);
    if (current && !force) {
        if (cr_image_verify(store, name) == 0)
            goto cleanup;
        cr_log_warn("image '%s': %s; rebuilding", name, cr_error_message());
        cr_error_clear();
    }

    cr_log_info("building image '%s' from %s", name, rdir);
    cr_rm_rf(tmp);
    rc = cr_mkdir_p(tmp, 0755);
    if (rc < 0)
        goto cleanup;
    const char *argv[] = {"sh", script, tmp, NULL};
    int st = cr_proc_run(argv, NULL, NULL);
    if (st != 0) {
        rc = st < 0 ? st : cr_error_set(CR_ERROR, "image '%s': %s failed with status %d", name, script, st);
        cr_rm_rf(tmp);
        goto cleanup;
    }
    rc = write_manifest(tmp, name, hash);
    if (rc < 0) {
        cr_rm_rf(tmp);
        goto cleanup;
    }
    chmod(tmp, 0755);
    if (cr_path_exists(final) && rename(final, old) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", final, strerror(errno));
        goto cleanup;
    }
    if (rename(tmp, final) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", final, strerror(errno));
        goto cleanup;
    }
    cr_rm_rf(old);
    *rebuilt = true;
cleanup:
    if (lockfd >= 0)
        close(lockfd);
    free(lockpath);
    free(final);
    free(tmp);
    free(old);
    free(rdir);
    free(script);
    return rc;
}

json_t *cr_image_list(const char *store)
{
    json_t *list = json_array();
    char **names = NULL;
    size_t n = 0, cap = 0;
    char *recipes = cr_data_path("images");
    const char *roots[] = {recipes, store};
    for (size_t r = 0; r < 2; r++) {
        DIR *d = opendir(roots[r]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!image_name_valid(e->d_name))
                continue;
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup = dup || !strcmp(names[i], e->d_name);
            if (dup || (r == 0 && !cr_image_recipe_exists(e->d_name)))
                continue;
            cr_grow(&names, &cap, n + 1, sizeof *names);
            names[n++] = cr_xstrdup(e->d_name);
        }
        if (d)
            closedir(d);
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_t *m = load_manifest(store, names[i]);
        bool recipe = cr_image_recipe_exists(names[i]);
        const char *state;
        char hash[65] = "";
        if (recipe && recipe_hash(hash, names[i]) < 0) {
            cr_error_clear();
            hash[0] = '\0';
        }
        const char *have = json_string_value(json_object_get(m, "recipe_hash"));
        if (!m)
            state = "not built";
        else if (!recipe)
            state = "no recipe";
        else
            state = have && !strcmp(have, hash) ? "current" : "stale";
        json_t *row = json_pack("{s:s, s:s, s:b, s:s}", "kind", "image", "name", names[i], "built", m != NULL,
                                "state", state);
        if (m) {
            json_object_set(row, "size", json_object_get(m, "size"));
            json_object_set(row, "recipe_hash", json_object_get(m, "recipe_hash"));
            json_object_set(row, "built_at", json_object_get(m, "built_at"));
            json_object_set(row, "boot", json_object_get(m, "boot"));
            json_object_set(row, "files", json_object_get(m, "files"));
        }
        json_array_append_new(list, row);
        json_decref(m);
        free(names[i]);
    }
    free(names);
    free(recipes);
    json_t *layers = cr_layer_list(store);
    json_array_extend(list, layers);
    json_decref(layers);
    return list;
}
