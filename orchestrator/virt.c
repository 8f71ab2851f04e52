/*
 * virt.c: connections, scanning and the ensure/remove operations of virt.h.
 * Each operation first looks at what exists, so running it twice, or after
 * a crash half-way, is always safe.
 */
#include "virt.h"

#include "err.h"
#include "log.h"
#include "util.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cr_virt {
    char *uri;
    virConnectPtr *conns;
    int n;
    pthread_mutex_t lock;   /* over conns[] and retired[] when a connection is replaced */
    virConnectPtr *retired; /* dead connections, closed with the cr_virt: another thread may still hold one */
    size_t n_retired;
};

static void silent_error(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void virt_init(void)
{
    virInitialize();
    virSetErrorFunc(NULL, silent_error);
}

static int lv_error(const char *what, const char *name)
{
    return cr_error_set(CR_ERROR, "%s '%s': %s", what, name, virGetLastErrorMessage());
}

static bool lv_not_found(void)
{
    int code = virGetLastErrorCode();
    return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_NETWORK || code == VIR_ERR_NO_STORAGE_POOL ||
           code == VIR_ERR_NO_STORAGE_VOL;
}

int cr_virt_open(cr_virt **out, const char *uri, int n_conns)
{
    pthread_once(&init_once, virt_init);
    *out = NULL;
    if (n_conns < 1)
        n_conns = 1;
    cr_virt *v = cr_xcalloc(1, sizeof *v);
    v->uri = cr_xstrdup(uri);
    v->conns = cr_xcalloc((size_t)n_conns, sizeof *v->conns);
    pthread_mutex_init(&v->lock, NULL);
    for (int i = 0; i < n_conns; i++) {
        v->conns[i] = virConnectOpen(uri);
        if (!v->conns[i]) {
            int rc = cr_error_set(CR_ERROR, "cannot connect to libvirt at %s: %s (is libvirtd running?)", uri,
                                  virGetLastErrorMessage());
            cr_virt_close(v);
            return rc;
        }
        v->n++;
    }
    *out = v;
    return 0;
}

int cr_virt_close(cr_virt *v)
{
    if (!v)
        return 0;
    int leaked = 0;
    for (int i = 0; i < v->n; i++) {
        int r = virConnectClose(v->conns[i]);
        if (r > 0)
            leaked += r;
    }
    for (size_t i = 0; i < v->n_retired; i++)
        virConnectClose(v->retired[i]); /* dead: what they held went with libvirtd */
    free(v->retired);
    /* virConnectClose returns the references still held: a domain, network
     * or stream handle someone did not free. tests/e2e/test_valgrind.sh
     * looks for this line. */
    if (leaked > 0)
        cr_log_warn("libvirt connection to %s closed with %d references still held (a handle was not freed)", v->uri,
                    leaked);
    pthread_mutex_destroy(&v->lock);
    free(v->conns);
    free(v->uri);
    free(v);
    return leaked;
}

/* A connection whose libvirtd went away (restarted, upgraded) stays dead:
 * every call on it fails. So a dead one is replaced by a fresh connection
 * when next asked for, and the engine carries on once libvirtd is back; the
 * call that found it dead failed, and its round says so. */
virConnectPtr cr_virt_conn(cr_virt *v, int worker)
{
    int i = (worker < 0 ? 0 : worker) % v->n;
    pthread_mutex_lock(&v->lock);
    virConnectPtr c = v->conns[i];
    if (virConnectIsAlive(c) == 0) {
        virConnectPtr fresh = virConnectOpen(v->uri);
        if (fresh) {
            v->retired = cr_xrealloc(v->retired, (v->n_retired + 1) * sizeof *v->retired);
            v->retired[v->n_retired++] = c;
            v->conns[i] = c = fresh;
            cr_log_info("connected to libvirt at %s again", v->uri);
        }
    }
    pthread_mutex_unlock(&v->lock);
    return c;
}

const char *cr_virt_uri(const cr_virt *v)
{
    return v->uri;
}

void cr_found_free(cr_found *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_doms; i++)
        free(f->doms[i].name);
    free(f->doms);
    for (size_t i = 0; i < f->n_nets; i++)
        free(f->nets[i].name);
    free(f->nets);
    for (size_t i = 0; i < f->n_pools; i++) {
        free(f->pools[i].name);
        free(f->pools[i].range);
    }
    free(f->pools);
    memset(f, 0, sizeof *f);
}

const cr_found_dom *cr_found_domain(const cr_found *f, const char *name)
{
    for (size_t i = 0; i < f->n_doms; i++)
        if (!strcmp(f->doms[i].name, name))
            return &f->doms[i];
    return NULL;
}

const cr_found_net *cr_found_network(const cr_found *f, const char *name)
{
    for (size_t i = 0; i < f->n_nets; i++)
        if (!strcmp(f->nets[i].name, name))
            return &f->nets[i];
    return NULL;
}

/* Objects of ours are named "crange.<range>.…"; the metadata confirms it. */
static bool name_matches(const char *name, const char *range)
{
    if (strncmp(name, "crange.", 7))
        return false;
    if (!range)
        return true;
    size_t n = strlen(range);
    return !strncmp(name + 7, range, n) && name[7 + n] == '.';
}

int cr_virt_scan(cr_found *out, cr_virt *v, const char *range)
{
    memset(out, 0, sizeof *out);
    virConnectPtr c = cr_virt_conn(v, 0);
    virDomainPtr *doms = NULL;
    virNetworkPtr *nets = NULL;
    virStoragePoolPtr *pools = NULL;
    size_t cap = 0;
    int rc = 0;

    int nd = virConnectListAllDomains(c, &doms, 0);
    if (nd < 0)
        return cr_error_set(CR_ERROR, "list domains on %s: %s", v->uri, virGetLastErrorMessage());
    for (int i = 0; i < nd; i++) {
        const char *name = virDomainGetName(doms[i]);
        if (rc == 0 && name && name_matches(name, range)) {
            char *meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT, CR_XMLNS, 0);
            cr_found_dom fd = {0};
            if (meta && cr_meta_parse(&fd.meta, meta) == 0 && (!range || !strcmp(fd.meta.range, range))) {
                int state = 0, reason = 0;
                if (virDomainGetState(doms[i], &state, &reason, 0) < 0) {
                    /* The domain vanished between listing and asking. */
                    free(meta);
                    virDomainFree(doms[i]);
                    continue;
                }
                fd.name = cr_xstrdup(name);
                fd.state = state;
                fd.persistent = virDomainIsPersistent(doms[i]) == 1;
                cr_grow(&out->doms, &cap, out->n_doms + 1, sizeof *out->doms);
                out->doms[out->n_doms++] = fd;
            }
            free(meta);
        }
        virDomainFree(doms[i]);
    }
    free(doms);

    cap = 0;
    int nn = virConnectListAllNetworks(c, &nets, 0);
    if (nn < 0) {
        rc = cr_error_set(CR_ERROR, "list networks on %s: %s", v->uri, virGetLastErrorMessage());
        nn = 0;
    }
    for (int i = 0; i < nn; i++) {
        const char *name = virNetworkGetName(nets[i]);
        if (rc == 0 && name && name_matches(name, range)) {
            char *xml = virNetworkGetXMLDesc(nets[i], 0);
            cr_found_net fn = {0};
            if (xml && cr_meta_parse(&fn.meta, xml) == 0 && (!range || !strcmp(fn.meta.range, range))) {
                fn.name = cr_xstrdup(name);
                fn.active = virNetworkIsActive(nets[i]) == 1;
                fn.persistent = virNetworkIsPersistent(nets[i]) == 1;
                cr_grow(&out->nets, &cap, out->n_nets + 1, sizeof *out->nets);
                out->nets[out->n_nets++] = fn;
            }
            free(xml);
        }
        virNetworkFree(nets[i]);
    }
    free(nets);

    cap = 0;
    int np = rc == 0 ? virConnectListAllStoragePools(c, &pools, 0) : 0;
    if (np < 0) {
        rc = cr_error_set(CR_ERROR, "list storage pools on %s: %s", v->uri, virGetLastErrorMessage());
        np = 0;
    }
    for (int i = 0; i < np; i++) {
        const char *name = virStoragePoolGetName(pools[i]);
        /* A pool is "crange.<range>" exactly: no further dot. */
        if (name && !strncmp(name, "crange.", 7) && !strchr(name + 7, '.') && cr_range_name_valid(name + 7) &&
            (!range || !strcmp(name + 7, range))) {
            cr_grow(&out->pools, &cap, out->n_pools + 1, sizeof *out->pools);
            out->pools[out->n_pools++] = (cr_found_pool){cr_xstrdup(name), cr_xstrdup(name + 7),
                                                         virStoragePoolIsActive(pools[i]) == 1};
        }
        virStoragePoolFree(pools[i]);
    }
    free(pools);
    if (rc < 0)
        cr_found_free(out);
    return rc;
}

/* The folder a storage pool is defined over, or NULL. */
static char *pool_target(virStoragePoolPtr p)
{
    char *xml = virStoragePoolGetXMLDesc(p, 0);
    if (!xml)
        return NULL;
    char *path = NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                              XML_PARSE_NOWARNING);
    free(xml);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr r = ctx ? xmlXPathEvalExpression(BAD_CAST "string(/pool/target/path)", ctx) : NULL;
    if (r && r->type == XPATH_STRING && r->stringval && *r->stringval)
        path = cr_xstrdup((const char *)r->stringval);
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return path;
}

int cr_virt_ensure_pool(cr_virt *v, int w, const char *pool, const char *path, bool *changed)
{
    *changed = false;
    virConnectPtr c = cr_virt_conn(v, w);
    virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
    int rc = 0;
    if (p) {
        /* The same name over another folder: a second state folder on this
         * libvirtd (the template pool's name is fixed). The folder asked
         * for is the one that counts. */
        char *have = pool_target(p);
        bool same = have && !strcmp(have, path);
        free(have);
        virResetLastError();
        if (!same) {
            if (virStoragePoolIsActive(p) == 1)
                virStoragePoolDestroy(p);
            rc = virStoragePoolUndefine(p);
            virStoragePoolFree(p);
            p = NULL;
            if (rc < 0)
                return lv_error("undefine storage pool", pool);
        }
    }
    if (!p) {
        if (!lv_not_found() && virGetLastError())
            return lv_error("storage pool", pool);
        char *xml = cr_xml_pool(pool, path);
        p = virStoragePoolDefineXML(c, xml, 0);
        free(xml);
        if (!p)
            return lv_error("define storage pool", pool);
        *changed = true;
    }
    if (virStoragePoolIsActive(p) != 1) {
        /* Build creates the folder; it is harmless when it exists. */
        if (virStoragePoolBuild(p, 0) < 0 && cr_is_dir(path) == false)
            rc = lv_error("build storage pool", pool);
        else if (virStoragePoolCreate(p, 0) < 0)
            rc = lv_error("start storage pool", pool);
        *changed = true;
    }
    virStoragePoolFree(p);
    return rc;
}

int cr_virt_ensure_network(cr_virt *v, int w, const char *name, const char *xml, bool *changed)
{
    *changed = false;
    virConnectPtr c = cr_virt_conn(v, w);
    virNetworkPtr n = virNetworkLookupByName(c, name);
    int rc = 0;
    if (!n) {
        if (!lv_not_found())
            return lv_error("network", name);
        n = virNetworkDefineXML(c, xml);
        if (!n)
            return lv_error("define network", name);
        *changed = true;
    }
    if (virNetworkIsActive(n) != 1) {
        if (virNetworkCreate(n) < 0)
            rc = lv_error("start network", name);
        *changed = true;
    }
    virNetworkFree(n);
    return rc;
}

int cr_virt_ensure_volume(cr_virt *v, int w, const char *pool, const char *name, const char *xml, char **path,
                          bool *changed)
{
    *changed = false;
    *path = NULL;
    virConnectPtr c = cr_virt_conn(v, w);
    virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
    if (!p)
        return lv_error("storage pool", pool);
    int rc = 0;
    virStorageVolPtr vol = virStorageVolLookupByName(p, name);
    if (!vol) {
        if (!lv_not_found()) {
            rc = lv_error("volume", name);
            goto cleanup;
        }
        vol = virStorageVolCreateXML(p, xml, 0);
        if (!vol) {
            rc = lv_error("create volume", name);
            goto cleanup;
        }
        *changed = true;
    }
    char *vpath = virStorageVolGetPath(vol);
    if (!vpath)
        rc = lv_error("volume path", name);
    else
        *path = cr_xstrdup(vpath);
    free(vpath);
    virStorageVolFree(vol);
cleanup:
    virStoragePoolFree(p);
    return rc;
}

int cr_virt_volume_backing(char **out, cr_virt *v, int w, const char *pool, const char *name)
{
    *out = NULL;
    virStoragePoolPtr p = virStoragePoolLookupByName(cr_virt_conn(v, w), pool);
    virStorageVolPtr vol = p ? virStorageVolLookupByName(p, name) : NULL;
    char *xml = vol ? virStorageVolGetXMLDesc(vol, 0) : NULL;
    int rc = 0;
    if (!xml) {
        rc = lv_not_found() ? cr_error_set(CR_ENOTFOUND, "no volume '%s' in pool '%s'", name, pool)
                            : lv_error("volume", name);
    } else {
        /* <backingStore> ... <path>P</path>: libvirt writes no attributes
         * on path, and escapes its text. */
        const char *bs = strstr(xml, "<backingStore");
        const char *start = bs ? strstr(bs, "<path>") : NULL;
        const char *end = start ? strstr(start, "</path>") : NULL;
        if (!end)
            rc = cr_error_set(CR_ENOTFOUND, "volume '%s' has no backing file", name);
        else
            *out = cr_xstrndup(start + 6, (size_t)(end - start - 6));
    }
    free(xml);
    if (vol)
        virStorageVolFree(vol);
    if (p)
        virStoragePoolFree(p);
    return rc;
}

int cr_virt_ensure_domain(cr_virt *v, int w, const char *name, const char *xml, bool start_paused,
                          bool pause_optional, bool *defined, bool *started)
{
    *defined = *started = false;
    virConnectPtr c = cr_virt_conn(v, w);
    virDomainPtr d = virDomainLookupByName(c, name);
    int rc = 0;
    if (!d) {
        if (!lv_not_found())
            return lv_error("domain", name);
        d = virDomainDefineXML(c, xml);
        if (!d)
            return lv_error("define domain", name);
        *defined = true;
    }
    int state = 0, reason = 0;
    if (virDomainGetState(d, &state, &reason, 0) < 0) {
        rc = lv_error("domain state", name);
    } else if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED || state == VIR_DOMAIN_NOSTATE) {
        int ok = virDomainCreateWithFlags(d, start_paused ? VIR_DOMAIN_START_PAUSED : 0);
        /* A driver that cannot start paused (libvirt's test driver) starts
         * it running when the pause was only up's batching (pause_optional). */
        if (ok < 0 && start_paused && pause_optional &&
            (virGetLastErrorCode() == VIR_ERR_NO_SUPPORT || virGetLastErrorCode() == VIR_ERR_INVALID_ARG))
            ok = virDomainCreateWithFlags(d, 0);
        if (ok < 0)
            rc = lv_error("start domain", name);
        else
            *started = true;
    } else if (state == VIR_DOMAIN_PAUSED && !start_paused) {
        if (virDomainResume(d) < 0)
            rc = lv_error("resume domain", name);
        else
            *started = true;
    }
    virDomainFree(d);
    return rc;
}

int cr_virt_resume_domain(cr_virt *v, int w, const char *name, bool *resumed)
{
    *resumed = false;
    virDomainPtr d = virDomainLookupByName(cr_virt_conn(v, w), name);
    if (!d)
        return lv_error("domain", name);
    int rc = 0, state = 0, reason = 0;
    if (virDomainGetState(d, &state, &reason, 0) < 0)
        rc = lv_error("domain state", name);
    else if (state == VIR_DOMAIN_PAUSED && virDomainResume(d) < 0)
        rc = lv_error("resume domain", name);
    else
        *resumed = state == VIR_DOMAIN_PAUSED;
    virDomainFree(d);
    return rc;
}

/* Undefines with everything a domain may carry. Drivers without NVRAM or
 * checkpoints (the test driver, for one) refuse those flags as unsupported;
 * such a domain cannot have them, so the undefine is retried without. */
static int undefine_domain(virDomainPtr d)
{
    const unsigned int base = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    if (virDomainUndefineFlags(d, base | VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA) == 0)
        return 0;
    int code = virGetLastErrorCode();
    if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
        return -1;
    return virDomainUndefineFlags(d, base);
}

/* How long a transient domain may take to leave libvirt's list after its
 * destroy. One an up killed while restoring it is still in libvirt's
 * restore job, which ends once its QEMU is gone. */
#define GONE_WAIT_MS 30000

int cr_virt_remove_domain(cr_virt *v, int w, const char *name)
{
    virConnectPtr c = cr_virt_conn(v, w);
    virDomainPtr d = virDomainLookupByName(c, name);
    if (!d)
        return lv_not_found() ? 0 : lv_error("domain", name);
    int rc = 0;
    bool transient = virDomainIsPersistent(d) == 0;
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0 && virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID &&
        !lv_not_found())
        rc = lv_error("destroy domain", name);
    if (rc == 0 && virDomainIsPersistent(d) == 1 && undefine_domain(d) < 0 && !lv_not_found())
        rc = lv_error("undefine domain", name);
    virDomainFree(d);
    /* A transient domain is gone when libvirt no longer lists it, and not
     * before: a new domain of the same name (a clone made again) must not
     * meet it. */
    for (int waited = 0; transient; waited += 100) {
        virDomainPtr again = virDomainLookupByName(c, name);
        if (!again) {
            if (!lv_not_found())
                return cr_error_set(CR_ERROR, "domain %s: %s", name, virGetLastErrorMessage());
            virResetLastError();
            cr_error_clear();
            cr_log_debug("%s: gone %d ms after its destroy", name, waited);
            return 0;
        }
        virDomainFree(again);
        if (waited >= GONE_WAIT_MS)
            return rc < 0 ? rc
                          : cr_error_set(CR_ERROR, "domain '%s': still there %d s after its destroy", name,
                                         GONE_WAIT_MS / 1000);
        cr_sleep_ms(100);
    }
    return rc;
}

int cr_virt_remove_network(cr_virt *v, int w, const char *name)
{
    virNetworkPtr n = virNetworkLookupByName(cr_virt_conn(v, w), name);
    if (!n)
        return lv_not_found() ? 0 : lv_error("network", name);
    int rc = 0;
    if (virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0)
        rc = lv_error("destroy network", name);
    if (rc == 0 && virNetworkIsPersistent(n) == 1 && virNetworkUndefine(n) < 0 && !lv_not_found())
        rc = lv_error("undefine network", name);
    virNetworkFree(n);
    return rc;
}

int cr_virt_remove_volume(cr_virt *v, int w, const char *pool, const char *name)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(cr_virt_conn(v, w), pool);
    if (!p)
        return lv_not_found() ? 0 : lv_error("storage pool", pool);
    int rc = 0;
    virStorageVolPtr vol = virStorageVolLookupByName(p, name);
    if (!vol) {
        /* An inactive pool cannot look volumes up; its removal deletes them. */
        if (!lv_not_found() && virStoragePoolIsActive(p) == 1)
            rc = lv_error("volume", name);
    } else {
        if (virStorageVolDelete(vol, 0) < 0 && !lv_not_found())
            rc = lv_error("delete volume", name);
        virStorageVolFree(vol);
    }
    virStoragePoolFree(p);
    return rc;
}

int cr_virt_remove_pool(cr_virt *v, int w, const char *pool)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(cr_virt_conn(v, w), pool);
    if (!p)
        return lv_not_found() ? 0 : lv_error("storage pool", pool);
    int rc = 0;
    /* Volumes can only be listed and deleted in an active pool. */
    if (virStoragePoolIsActive(p) != 1 && virStoragePoolCreate(p, 0) < 0)
        cr_log_debug("start storage pool '%s' for removal: %s", pool, virGetLastErrorMessage());
    if (virStoragePoolIsActive(p) == 1) {
        virStorageVolPtr *vols = NULL;
        int nv = virStoragePoolListAllVolumes(p, &vols, 0);
        if (nv < 0)
            rc = lv_error("list volumes of pool", pool);
        for (int i = 0; i < nv; i++) {
            /* The name first: libvirt calls reset the last error. */
            const char *vname = virStorageVolGetName(vols[i]);
            if (rc == 0 && virStorageVolDelete(vols[i], 0) < 0)
                rc = lv_error("delete volume", vname ? vname : "?");
            virStorageVolFree(vols[i]);
        }
        free(vols);
        if (rc == 0 && virStoragePoolDestroy(p) < 0)
            rc = lv_error("stop storage pool", pool);
    }
    if (rc == 0 && virStoragePoolDelete(p, 0) < 0)
        cr_log_debug("delete storage pool folder '%s': %s", pool, virGetLastErrorMessage());
    if (rc == 0 && virStoragePoolUndefine(p) < 0 && !lv_not_found())
        rc = lv_error("undefine storage pool", pool);
    virStoragePoolFree(p);
    return rc;
}

int cr_virt_domain(virDomainPtr *out, cr_virt *v, int w, const char *name)
{
    *out = virDomainLookupByName(cr_virt_conn(v, w), name);
    if (*out)
        return 0;
    if (lv_not_found())
        return cr_error_set(CR_ENOTFOUND, "no domain '%s' on %s", name, v->uri);
    return lv_error("domain", name);
}
