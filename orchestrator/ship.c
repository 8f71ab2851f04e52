/*
 * ship.c: images and role layers uploaded to a remote host's image pool
 * (ship.h), through libvirt streams, verified by reading them back.
 */
#include "ship.h"

#include "err.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int lv_fail(cr_virt *v, const char *what, const char *name)
{
    return cr_error_set(CR_ERROR, "%s: %s '%s': %s", cr_virt_uri(v), what, name, virGetLastErrorMessage());
}

int cr_ship_pool(cr_virt *v, int w)
{
    bool changed = false;
    return cr_virt_ensure_pool(v, w, CR_SHIP_POOL, CR_SHIP_POOL_PATH, &changed);
}

static virStorageVolPtr find_vol(virStoragePoolPtr p, const char *name)
{
    virStorageVolPtr vol = virStorageVolLookupByName(p, name);
    if (!vol)
        virResetLastError();
    return vol;
}

static void drop_vol(virStoragePoolPtr p, const char *name)
{
    virStorageVolPtr vol = find_vol(p, name);
    if (vol) {
        virStorageVolDelete(vol, 0);
        virStorageVolFree(vol);
    }
    virResetLastError();
}

static virStorageVolPtr create_raw(virStoragePoolPtr p, const char *name, uint64_t bytes)
{
    cr_buf b = {0};
    cr_buf_add(&b, "<volume><name>");
    cr_buf_add_xml(&b, name);
    cr_buf_addf(&b, "</name><capacity unit='bytes'>%llu</capacity><target><format type='raw'/></target></volume>",
                (unsigned long long)bytes);
    virStorageVolPtr vol = virStorageVolCreateXML(p, b.data, 0);
    cr_buf_free(&b);
    return vol;
}

static int send_from_fd(virStreamPtr st, char *data, size_t n, void *opaque)
{
    (void)st;
    int fd = *(int *)opaque;
    ssize_t r;
    do
        r = read(fd, data, n);
    while (r < 0 && errno == EINTR);
    return (int)r;
}

static int hash_sink(virStreamPtr st, const char *data, size_t n, void *opaque)
{
    (void)st;
    crypto_hash_sha256_update(opaque, (const unsigned char *)data, n);
    return (int)n;
}

/* Uploads fd's size bytes into vol. */
static int upload(cr_virt *v, int w, virStorageVolPtr vol, int fd, uint64_t size, const char *name)
{
    virStreamPtr st = virStreamNew(cr_virt_conn(v, w), 0);
    int rc = 0;
    if (!st || virStorageVolUpload(vol, st, 0, size, 0) < 0 || virStreamSendAll(st, send_from_fd, &fd) < 0 ||
        virStreamFinish(st) < 0) {
        rc = lv_fail(v, "upload", name);
        if (st)
            virStreamAbort(st);
    }
    if (st)
        virStreamFree(st);
    return rc;
}

/* Reads vol back and hashes it. */
static int read_back(char out[65], cr_virt *v, int w, virStorageVolPtr vol, uint64_t size, const char *name)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    virStreamPtr st = virStreamNew(cr_virt_conn(v, w), 0);
    int rc = 0;
    if (!st || virStorageVolDownload(vol, st, 0, size, 0) < 0 || virStreamRecvAll(st, hash_sink, &h) < 0 ||
        virStreamFinish(st) < 0) {
        rc = lv_fail(v, "read back", name);
        if (st)
            virStreamAbort(st);
    }
    if (st)
        virStreamFree(st);
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, d);
    cr_hex(out, d, sizeof d);
    return rc;
}

/* The upload itself: path's bytes into a new volume `name`, read back and
 * compared with digest (computed here when NULL), then its .ok. */
static int send_file(cr_virt *v, int w, virStoragePoolPtr p, const char *path, const char *name, const char *ok_name,
                     const char *digest)
{
    char have[65];
    uint64_t size = 0;
    int rc = cr_file_sha256(have, &size, path);
    if (rc < 0)
        return rc;
    if (digest && strcmp(digest, have))
        return cr_error_set(CR_ERROR, "%s: SHA-256 %.16s…, not %.16s… as recorded; rebuild the image", path, have,
                            digest);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    double t0 = cr_now_seconds();
    cr_log_info("%s: sending %s (%.1f MiB)", cr_virt_uri(v), name, (double)size / 1048576.0);
    virStorageVolPtr vol = create_raw(p, name, size), ok = NULL;
    if (!vol)
        rc = lv_fail(v, "create volume", name);
    if (rc == 0)
        rc = upload(v, w, vol, fd, size, name);
    char back[65];
    if (rc == 0)
        rc = read_back(back, v, w, vol, size, name);
    if (rc == 0 && strcmp(back, have))
        rc = cr_error_set(CR_ERROR, "%s: volume %s reads back with SHA-256 %.16s…, not %.16s…; not used",
                          cr_virt_uri(v), name, back, have);
    if (rc == 0 && !(ok = create_raw(p, ok_name, 1)))
        rc = lv_fail(v, "create volume", ok_name);
    if (rc < 0 && vol) {
        virStorageVolDelete(vol, 0);
        virResetLastError();
    }
    if (rc == 0)
        cr_log_info("%s: %s sent and verified in %.1f s", cr_virt_uri(v), name, cr_now_seconds() - t0);
    if (vol)
        virStorageVolFree(vol);
    if (ok)
        virStorageVolFree(ok);
    close(fd);
    return rc;
}

/* The local file to send: a new path string, or NULL with the error set. */
typedef char *(*make_fn)(void *ctx);

static char *same_path(void *ctx);

/* The host's verified volume `name`, sent from make()'s file when missing. */
static int ship_named(char **remote_path, bool *sent, cr_virt *v, int w, const char *name, const char *digest,
                      make_fn make, void *make_ctx)
{
    *remote_path = NULL;
    *sent = false;
    char *ok_name = cr_xasprintf("%s.ok", name);
    int rc = 0;
    virStoragePoolPtr p = virStoragePoolLookupByName(cr_virt_conn(v, w), CR_SHIP_POOL);
    virStorageVolPtr vol = NULL, ok = NULL;
    if (!p) {
        rc = lv_fail(v, "storage pool", CR_SHIP_POOL);
        goto cleanup;
    }
    ok = find_vol(p, ok_name);
    vol = ok ? find_vol(p, name) : NULL;
    if (!ok || !vol) {
        /* Missing, or cut short: send it (again). */
        drop_vol(p, ok_name);
        drop_vol(p, name);
        char *path = make(make_ctx);
        rc = path ? send_file(v, w, p, path, name, ok_name, digest) : CR_ERROR;
        /* Anything but the file itself is a temporary copy made for this. */
        if (path && make != same_path)
            unlink(path);
        free(path);
        if (rc < 0)
            goto cleanup;
        *sent = true;
        if (vol)
            virStorageVolFree(vol);
        vol = find_vol(p, name);
        if (!vol) {
            rc = lv_fail(v, "volume", name);
            goto cleanup;
        }
    }
    char *vpath = virStorageVolGetPath(vol);
    if (!vpath)
        rc = lv_fail(v, "volume path", name);
    else
        *remote_path = cr_xstrdup(vpath);
    free(vpath);
cleanup:
    if (vol)
        virStorageVolFree(vol);
    if (ok)
        virStorageVolFree(ok);
    if (p)
        virStoragePoolFree(p);
    free(ok_name);
    return rc;
}

static char *same_path(void *ctx)
{
    return cr_xstrdup(ctx);
}

int cr_ship_file(char **remote_path, bool *sent, cr_virt *v, int w, const char *path, const char *sha256,
                 const char *prefix, const char *suffix)
{
    char digest[65];
    if (sha256 && strlen(sha256) == 64) {
        memcpy(digest, sha256, sizeof digest);
    } else {
        uint64_t size;
        int rc = cr_file_sha256(digest, &size, path);
        if (rc < 0)
            return rc;
    }
    char *name = cr_xasprintf("%s-%.16s%s", prefix, digest, suffix);
    int rc = ship_named(remote_path, sent, v, w, name, digest, same_path, (void *)path);
    free(name);
    return rc;
}

int cr_ship_image(cr_image **out, size_t *sent, cr_virt *v, int w, const cr_image *img)
{
    *out = NULL;
    cr_image *c = cr_image_copy(img);
    struct {
        char **field;
        const char *sha;
        const char *suffix;
    } files[] = {{&c->disk, img->disk_sha256, ".qcow2"}, {&c->kernel, NULL, ".kernel"}, {&c->initrd, NULL, ".initrd"}};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof files / sizeof files[0]; i++) {
        if (!*files[i].field)
            continue;
        char *remote = NULL;
        bool s = false;
        rc = cr_ship_file(&remote, &s, v, w, *files[i].field, files[i].sha, img->name, files[i].suffix);
        if (rc == 0) {
            free(*files[i].field);
            *files[i].field = remote;
            *sent += s;
        }
    }
    if (rc < 0) {
        cr_image_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

typedef struct layer_copy {
    const char *disk;
    const char *remote_base;
    const char *host;
} layer_copy;

/* A copy beside the layer, rebased onto the host's base disk: the header
 * changes, the clusters do not. NULL with the error set. */
static char *make_layer_copy(void *ctx)
{
    const layer_copy *lc = ctx;
    char *tmp = cr_xasprintf("%s.ship-%ld", lc->disk, (long)getpid());
    const char *cp[] = {"cp", "--reflink=auto", "--", lc->disk, tmp, NULL};
    const char *rebase[] = {"qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", lc->remote_base, tmp, NULL};
    char *err = NULL;
    int rc = cr_proc_run(cp, NULL, &err);
    if (rc == 0) {
        free(err);
        err = NULL;
        rc = cr_proc_run(rebase, NULL, &err);
    }
    if (rc > 0)
        rc = cr_error_set(CR_ERROR, "cannot prepare layer %s for %s: %s", lc->disk, lc->host, err ? err : "");
    free(err);
    if (rc < 0) {
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    return tmp;
}

int cr_ship_layer(char **remote_path, bool *sent, cr_virt *v, int w, const char *layer_disk, const char *key,
                  const char *remote_base)
{
    /* Named by the layer and the base it sits on there, so that a shipped
     * layer is found again without copying it first. */
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)remote_base, strlen(remote_base), NULL, 0);
    char hex[17];
    cr_hex(hex, h, sizeof h);
    char *name = cr_xasprintf("layer-%.16s-%s.qcow2", key, hex);
    layer_copy lc = {layer_disk, remote_base, cr_virt_uri(v)};
    int rc = ship_named(remote_path, sent, v, w, name, NULL, make_layer_copy, &lc);
    free(name);
    return rc;
}

/* ----------------------------------------------------------------- prune */

/* A volume's backing file, new string, or NULL. */
static char *vol_backing(virStorageVolPtr vol)
{
    char *xml = virStorageVolGetXMLDesc(vol, 0);
    xmlDocPtr d = xml ? xmlReadMemory(xml, (int)strlen(xml), "volume", NULL, XML_PARSE_NONET) : NULL;
    xmlXPathContextPtr ctx = d ? xmlXPathNewContext(d) : NULL;
    xmlXPathObjectPtr r = ctx ? xmlXPathEvalExpression((const xmlChar *)"string(/volume/backingStore/path)", ctx)
                              : NULL;
    char *out = r && r->stringval && *r->stringval ? cr_xstrdup((const char *)r->stringval) : NULL;
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(d);
    free(xml);
    return out;
}

/* What names a file on the host, one per line: the backing file of every
 * volume outside the image pool, and every domain's XML (disks, kernels). */
static int host_references(cr_buf *out, virConnectPtr c)
{
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(c, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    if (n < 0)
        return cr_error_set(CR_ERROR, "listing storage pools: %s", virGetLastErrorMessage());
    for (int i = 0; i < n; i++) {
        const char *name = virStoragePoolGetName(pools[i]);
        virStorageVolPtr *vols = NULL;
        int nv = name && strcmp(name, CR_SHIP_POOL) ? virStoragePoolListAllVolumes(pools[i], &vols, 0) : 0;
        for (int k = 0; k < nv; k++) {
            char *b = vol_backing(vols[k]);
            if (b)
                cr_buf_addf(out, "%s\n", b);
            free(b);
            virStorageVolFree(vols[k]);
        }
        free(vols);
        virStoragePoolFree(pools[i]);
    }
    free(pools);
    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(c, &doms, 0);
    if (nd < 0)
        return cr_error_set(CR_ERROR, "listing domains: %s", virGetLastErrorMessage());
    for (int i = 0; i < nd; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        if (xml)
            cr_buf_addf(out, "%s\n", xml);
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    return 0;
}

typedef struct shipped {
    char *name, *path, *backing;
    bool keep;
} shipped;

int cr_ship_prune(char ***removed, size_t *n, cr_virt *v, bool dry_run)
{
    *removed = NULL;
    *n = 0;
    virConnectPtr c = cr_virt_conn(v, 0);
    virStoragePoolPtr pool = virStoragePoolLookupByName(c, CR_SHIP_POOL);
    if (!pool) {
        virResetLastError();
        return 0; /* nothing was ever shipped there */
    }
    int rc = 0;
    virStorageVolPtr *vols = NULL;
    int nv = 0;
    if (virStoragePoolIsActive(pool) == 1) {
        virStoragePoolRefresh(pool, 0);
        nv = virStoragePoolListAllVolumes(pool, &vols, 0);
        if (nv < 0)
            rc = lv_fail(v, "listing pool", CR_SHIP_POOL);
    }
    shipped *sv = cr_xcalloc((size_t)(nv > 0 ? nv : 1), sizeof *sv);
    size_t ns = 0, cap = 0;
    for (int i = 0; i < nv; i++) {
        const char *name = virStorageVolGetName(vols[i]);
        size_t l = name ? strlen(name) : 0;
        if (l && !(l > 3 && !strcmp(name + l - 3, ".ok"))) {
            sv[ns].name = cr_xstrdup(name);
            sv[ns].path = virStorageVolGetPath(vols[i]);
            sv[ns].backing = vol_backing(vols[i]);
            ns++;
        }
        virStorageVolFree(vols[i]);
    }
    free(vols);
    cr_buf refs = {0};
    if (rc == 0 && ns)
        rc = host_references(&refs, c);
    /* Kept: what something outside the pool names, then what a kept volume
     * sits on (a layer's base disk), until nothing changes. */
    for (size_t i = 0; rc == 0 && i < ns; i++)
        sv[i].keep = !sv[i].path || (refs.data && strstr(refs.data, sv[i].path));
    for (bool more = true; rc == 0 && more;) {
        more = false;
        for (size_t i = 0; i < ns; i++)
            for (size_t k = 0; sv[i].keep && sv[i].backing && k < ns; k++)
                if (!sv[k].keep && sv[k].path && !strcmp(sv[k].path, sv[i].backing))
                    more = sv[k].keep = true;
    }
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        if (sv[i].keep)
            continue;
        if (!dry_run) {
            char *ok = cr_xasprintf("%s.ok", sv[i].name);
            drop_vol(pool, ok); /* first: a volume without its .ok is sent again, never used */
            drop_vol(pool, sv[i].name);
            free(ok);
        }
        cr_grow(removed, &cap, *n + 2, sizeof **removed);
        (*removed)[(*n)++] = cr_xstrdup(sv[i].name);
        (*removed)[*n] = NULL;
    }
    for (size_t i = 0; i < ns; i++) {
        free(sv[i].name);
        free(sv[i].path);
        free(sv[i].backing);
    }
    free(sv);
    cr_buf_free(&refs);
    virStoragePoolFree(pool);
    return rc;
}
