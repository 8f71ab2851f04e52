/*
 * template.c: instant-clone templates (template.h): the key, the cache under
 * <state>/templates, making a template (boot, provision, mark, save), the
 * restore of a clone, and the reseal of a restored guest through its agent.
 * Relies on virt.h for XML and volumes, clone.h for the clone's XML,
 * saveimage.h for the save image, provision.h and agent.h in the guest.
 */
#include "template.h"

#include "agent.h"
#include "clone.h"
#include "err.h"
#include "log.h"
#include "provision.h"
#include "qmp.h"
#include "util.h"

#include <dirent.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define KEY_VERSION "crange.template.v1"

/* How long a QEMU may take to appear on its QMP socket once libvirt starts
 * it; a start that fails stops the wait at once (cr_qmp_arm_end). */
#define QMP_WAIT_MS 60000
#define QMP_SOCK_NAME 16 + 5 /* "<16 hex>.sock" */

static void hash_str(crypto_generichash_state *h, const char *s)
{
    if (!s)
        s = "";
    crypto_generichash_update(h, (const unsigned char *)s, strlen(s) + 1);
}

static void hash_num(crypto_generichash_state *h, unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", v);
    hash_str(h, buf);
}

int cr_template_key(char out[65], const cr_scenario *s, const cr_plan_vm *pv, size_t shared_steps,
                    const cr_image *img, const char *backing, const char *domtype, bool shared_ram)
{
    char prov[65];
    int rc = cr_provision_prefix_digest(prov, s, pv, shared_steps);
    if (rc < 0)
        return rc;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    hash_str(&h, KEY_VERSION);
    hash_str(&h, domtype);
    hash_str(&h, img->name);
    hash_str(&h, img->recipe_hash);
    hash_str(&h, backing);
    hash_str(&h, pv->vm->name); /* the hostname */
    hash_num(&h, pv->vm->memory_mib);
    hash_num(&h, pv->vm->vcpus);
    hash_num(&h, pv->vm->gateway);
    hash_num(&h, pv->n_nics);
    for (size_t k = 0; k < pv->n_nics; k++) {
        hash_num(&h, pv->nics[k].nic->addr);
        hash_num(&h, (unsigned long long)pv->nics[k].pnet->net->prefix);
        /* A NIC on a network joined across hosts has virtio's host_mtu
         * 1450 (virt_xml.c), which the guest takes at boot: a team spread
         * over hosts cannot be cloned from a template of one that is not. */
        if (pv->nics[k].pnet->vni)
            hash_num(&h, CR_VXLAN_MTU);
    }
    /* The command line names each NIC by its MAC, which differs per team;
     * the guest matches MAC to address at boot, so the NIC's place is what
     * defines the template. */
    char *cmd = img->kernel ? cr_kernel_cmdline(pv, img) : NULL;
    for (size_t k = 0; cmd && k < pv->n_nics; k++) {
        char *at;
        while ((at = strstr(cmd, pv->nics[k].mac)))
            memset(at, '0' + (int)(k % 10), strlen(pv->nics[k].mac));
    }
    hash_str(&h, cmd);
    free(cmd);
    hash_num(&h, shared_steps);
    hash_str(&h, prov);
    /* A shared-RAM template's stream holds no RAM: never one for copies. */
    if (shared_ram)
        hash_str(&h, "ram=file");
    unsigned char d[32];
    crypto_generichash_final(&h, d, sizeof d);
    cr_hex(out, d, sizeof d);
    return 0;
}

void cr_template_free(cr_template *t)
{
    if (!t)
        return;
    free(t->disk);
    free(t->memory);
    free(t->ram);
    free(t->qmp_dir);
    cr_saveimage_free(&t->image);
    if (t->lockfd >= 0)
        close(t->lockfd);
    free(t);
}

/* Boots the template domain, provisions and marks it, and saves it to
 * memory_tmp. The domain is transient: the save ends it. */
static int make(cr_virt *v, int w, const char *name, const char *disk, const char *memory_tmp, const cr_plan *p,
                const cr_plan_vm *pv, size_t shared_steps, const cr_image *img, const char *domtype,
                int agent_timeout_s, const cr_template *t, const char *qmp)
{
    virConnectPtr c = cr_virt_conn(v, w);
    char *own = cr_xml_domain(p, pv, img, disk, domtype);
    char *log = cr_console_log_path(name);
    char *xml = NULL;
    virDomainPtr d = NULL;
    cr_qmp_arm *arm = NULL;
    int rc = cr_clone_template_xml(&xml, own, name, log);
    if (rc == 0 && t->ram) {
        char *plain = xml;
        rc = cr_clone_ram_xml(&xml, plain, t->ram, t->ram_mib, true, qmp);
        free(plain);
    }
    if (rc < 0)
        goto cleanup;
    /* A template domain left by an up killed half-way goes first. */
    virDomainPtr old = virDomainLookupByName(c, name);
    if (old) {
        virDomainDestroy(old);
        virDomainFree(old);
    }
    virResetLastError();
    if (t->ram && (rc = cr_qmp_arm_start(&arm, qmp, QMP_WAIT_MS)) < 0)
        goto cleanup;
    d = virDomainCreateXML(c, xml, 0);
    char *why = d ? NULL : cr_xstrdup(virGetLastErrorMessage());
    rc = cr_qmp_arm_end(arm, !d);
    arm = NULL;
    if (!d) {
        cr_error_clear();
        rc = cr_error_set(CR_ERROR, "template %s: %s", name, why);
        free(why);
        goto cleanup;
    }
    /* Without the capability the save would copy the RAM into the stream,
     * and no clone could load it. */
    if (rc < 0)
        goto fail;
    if ((rc = cr_agent_wait(d, agent_timeout_s)) < 0)
        goto fail;
    if ((rc = cr_provision_template(d, p->scenario, pv, img, shared_steps)) < 0)
        goto fail;
    cr_buf marker = {0};
    for (size_t k = 0; k < pv->n_nics; k++)
        cr_buf_addf(&marker, "%s\n", pv->nics[k].mac);
    rc = cr_agent_write_file(d, CR_TEMPLATE_MARKER, marker.data ? marker.data : "", marker.len, 0600, 30);
    cr_buf_free(&marker);
    if (rc < 0)
        goto fail;
    /* Written back now, so that the template's disk holds what its memory
     * believes is on disk; a clone's writes then go to its own overlay. */
    const char *sync_argv[] = {"/bin/sync", NULL};
    cr_exec_result res;
    if (cr_agent_exec(&res, d, sync_argv, NULL, 0, 60) == 0)
        cr_exec_result_free(&res);
    cr_error_clear();
    if (virDomainSaveFlags(d, memory_tmp, NULL, VIR_DOMAIN_SAVE_RUNNING) < 0) {
        rc = cr_error_set(CR_ERROR, "saving template %s: %s", name, virGetLastErrorMessage());
        goto fail;
    }
    goto cleanup;
fail:
    virDomainDestroy(d);
cleanup:
    if (d)
        virDomainFree(d);
    free(xml);
    free(log);
    free(own);
    return rc;
}

static int open_saved(cr_template *t)
{
    int rc = cr_saveimage_read(&t->image, t->memory);
    if (rc == 0 && t->disk && !cr_path_exists(t->disk))
        rc = cr_error_set(CR_ENOTFOUND, "template %.12s has a memory image but no disk (%s)", t->key, t->disk);
    struct stat st;
    if (rc == 0 && t->ram && (stat(t->ram, &st) < 0 || st.st_size != (off_t)t->ram_mib << 20))
        rc = cr_error_set(CR_ENOTFOUND, "template %.12s has a memory image but no RAM file of %u MiB (%s)", t->key,
                          t->ram_mib, t->ram);
    return rc;
}

bool cr_template_shared_ram_ok(const char *root)
{
    struct sockaddr_un sa;
    return strlen(root) + strlen("/qmp/") + QMP_SOCK_NAME < sizeof sa.sun_path;
}

/* The user and group libvirt runs QEMU as: its DAC model's base label in the
 * host's capabilities ("+64055:+64055"); crange's own when there is none. */
static void qemu_owner(uid_t *uid, gid_t *gid, virConnectPtr c)
{
    *uid = geteuid();
    *gid = getegid();
    char *caps = virConnectGetCapabilities(c);
    xmlDocPtr d = caps ? xmlReadMemory(caps, (int)strlen(caps), "capabilities", NULL,
                                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                       : NULL;
    xmlXPathContextPtr ctx = d ? xmlXPathNewContext(d) : NULL;
    xmlXPathObjectPtr r = ctx ? xmlXPathEvalExpression(
                                    (const xmlChar *)"string(/capabilities/host/secmodel[model='dac']/baselabel[1])", ctx)
                              : NULL;
    unsigned u, g;
    if (r && r->stringval && sscanf((const char *)r->stringval, "+%u:+%u", &u, &g) == 2) {
        *uid = (uid_t)u;
        *gid = (gid_t)g;
    }
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(d);
    free(caps);
    virResetLastError();
}

/* The folder of the QMP sockets, root/qmp, made and given to QEMU's user,
 * who creates the sockets there. Once per template and up, not per clone. */
static int qmp_dir_ensure(cr_template *t, const char *root, uid_t uid, gid_t gid)
{
    t->qmp_dir = cr_xasprintf("%s/qmp", root);
    if ((mkdir(t->qmp_dir, 0700) < 0 && errno != EEXIST) || chown(t->qmp_dir, uid, gid) < 0)
        return cr_error_set(CR_ERROR, "%s: %s", t->qmp_dir, strerror(errno));
    return 0;
}

/* A fresh socket path in the template's QMP folder (new string). */
static char *qmp_path(const cr_template *t)
{
    unsigned char r[8];
    char hex[17];
    randombytes_buf(r, sizeof r);
    cr_hex(hex, r, sizeof r);
    return cr_xasprintf("%s/%s.sock", t->qmp_dir, hex);
}

/* A new, empty RAM file for a template's QEMU: its size, owned by QEMU's
 * user. Always a new inode: clones of an earlier template with this key may
 * still map the old one. */
static int ram_create(const cr_template *t, uid_t uid, gid_t gid)
{
    unlink(t->ram);
    int fd = open(t->ram, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0 || ftruncate(fd, (off_t)t->ram_mib << 20) < 0 || fchown(fd, uid, gid) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", t->ram, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(t->ram);
    return rc;
}

int cr_template_ensure(cr_template **out, bool *built, cr_virt *v, int w, const char *root, const char *key,
                       const cr_plan *p, const cr_plan_vm *pv, size_t shared_steps, const cr_image *img,
                       const char *backing, const char *domtype, int agent_timeout_s, bool shared_ram)
{
    *out = NULL;
    *built = false;
    int rc = cr_mkdir_p(root, 0700);
    if (rc < 0)
        return rc;
    cr_template *t = cr_xcalloc(1, sizeof *t);
    t->lockfd = -1;
    snprintf(t->key, sizeof t->key, "%s", key);
    t->memory = cr_xasprintf("%s/%s.save", root, key);
    t->disk = backing ? cr_xasprintf("%s/%s.qcow2", root, key) : NULL;
    uid_t uid = 0;
    gid_t gid = 0;
    if (shared_ram) {
        t->ram = cr_xasprintf("%s/%s.ram", root, key);
        t->ram_mib = pv->vm->memory_mib;
        qemu_owner(&uid, &gid, cr_virt_conn(v, w));
        if ((rc = qmp_dir_ensure(t, root, uid, gid)) < 0) {
            cr_template_free(t);
            return rc;
        }
    }
    char *qmp = NULL;
    char *lock = cr_xasprintf("%s/%s.lock", root, key);
    char *tmp = cr_xasprintf("%s/%s.save.tmp", root, key);
    char *name = cr_xasprintf("crange-template-%.16s", key);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", lock, strerror(errno));
        goto cleanup;
    }
    if (cr_path_exists(t->memory)) {
        rc = open_saved(t);
        if (rc == 0)
            goto cleanup;
        cr_log_warn("remaking template %.12s: %s", key, cr_error_message());
        cr_error_clear();
        cr_saveimage_free(&t->image);
        unlink(t->memory);
    }
    cr_log_info("making template %.12s from team %d vm '%s' (booted once for every team, %zu shared step%s)", key,
                pv->team, pv->vm->name, shared_steps, shared_steps == 1 ? "" : "s");
    bool changed = false;
    if (t->disk) {
        /* A fresh disk each time: one left by an interrupted make may hold
         * writes of a guest that was never saved. */
        char *vol = cr_xasprintf("%s.qcow2", key);
        cr_virt_remove_volume(v, w, CR_TEMPLATE_POOL, vol);
        cr_error_clear();
        char *vxml = cr_xml_volume(vol, backing, img->disk_virtual_size);
        char *path = NULL;
        rc = cr_virt_ensure_volume(v, w, CR_TEMPLATE_POOL, vol, vxml, &path, &changed);
        free(path);
        free(vxml);
        free(vol);
        if (rc < 0)
            goto cleanup;
    }
    unlink(tmp);
    if (t->ram) {
        if ((rc = ram_create(t, uid, gid)) < 0)
            goto cleanup;
        qmp = qmp_path(t);
    }
    rc = make(v, w, name, t->disk, tmp, p, pv, shared_steps, img, domtype, agent_timeout_s, t, qmp);
    if (rc == 0 && rename(tmp, t->memory) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", t->memory, strerror(errno));
    if (rc == 0)
        rc = open_saved(t);
    if (rc == 0) {
        *built = true;
    } else {
        unlink(tmp);
        if (t->ram)
            unlink(t->ram);
    }
cleanup:
    /* Held shared while the template is in use, so that `image prune`
     * (which takes it exclusively) never removes it under an up. */
    if (rc == 0 && fd >= 0 && flock(fd, LOCK_SH) == 0) {
        t->lockfd = fd;
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    free(qmp);
    free(name);
    free(tmp);
    free(lock);
    if (rc < 0)
        cr_template_free(t);
    else
        *out = t;
    return rc;
}

/* *xml (a new string) with TCG's translation cache at mib MiB (clone.h);
 * unchanged when it cannot be parsed, which the call says. */
static int set_tb_cache(char **xml, unsigned mib)
{
    char *out = NULL;
    int rc = cr_clone_tb_cache(&out, *xml, mib);
    if (rc == 0) {
        free(*xml);
        *xml = out;
    }
    return rc;
}

int cr_template_clone(cr_virt *v, int w, const cr_template *t, const char *name, const char *identity_xml,
                      const char *scratch, bool paused)
{
    char *xml = NULL, *qmp = NULL, *live = NULL;
    cr_saveimage_stream *stream = NULL;
    cr_qmp_arm *arm = NULL;
    virConnectPtr c = cr_virt_conn(v, w);
    int rc = cr_clone_xml(&xml, t->image.xml, identity_xml);
    if (rc == 0)
        rc = set_tb_cache(&xml, CR_CLONE_TB_CACHE_MIB);
    if (rc == 0 && t->ram) {
        qmp = qmp_path(t);
        char *copy = xml;
        rc = cr_clone_ram_xml(&xml, copy, t->ram, t->ram_mib, false, qmp);
        if (rc == 0)
            free(copy);
        else
            xml = copy;
    }
    if (rc < 0)
        goto cleanup;
    /* The clone's image is streamed through a FIFO as libvirt reads it:
     * measured, writing each clone's ~100 MB copy first took longer than
     * the restore itself. */
    unlink(scratch);
    if (mkfifo(scratch, 0600) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", scratch, strerror(errno));
        goto cleanup;
    }
    if ((rc = cr_saveimage_stream_start(&stream, scratch, &t->image, t->memory, xml)) < 0)
        goto cleanup;
    if (qmp && (rc = cr_qmp_arm_start(&arm, qmp, QMP_WAIT_MS)) < 0)
        goto cleanup;
    int restored = virDomainRestoreFlags(c, scratch, NULL, paused ? VIR_DOMAIN_SAVE_PAUSED : VIR_DOMAIN_SAVE_RUNNING);
    char *why = restored < 0 ? cr_xstrdup(virGetLastErrorMessage()) : NULL;
    rc = cr_saveimage_stream_end(stream);
    stream = NULL;
    int armed = cr_qmp_arm_end(arm, restored < 0);
    arm = NULL;
    if (restored < 0) {
        /* QEMU's refusal says little ("load of migration failed"); what the
         * monitor saw says more. A QEMU that never came: libvirt says why. */
        char *more = armed < 0 && armed != CR_ENOTFOUND && rc == 0 ? cr_xstrdup(cr_error_message()) : NULL;
        cr_error_clear();
        rc = cr_error_set(CR_ERROR, "restoring from template %.12s: %s%s%s%s", t->key, why, more ? " (" : "",
                          more ? more : "", more ? ")" : "");
        free(more);
    } else if (rc == 0 && armed < 0) {
        cr_error_clear(); /* restored, so QEMU had the capability after all */
    }
    free(why);
    if (rc < 0)
        goto cleanup;
    /* Restored domains are transient; defining what libvirt made of the
     * XML (with the UUID it gave the clone) makes it persistent, like every
     * other VM of the range. Its definition has no QMP socket to wait on:
     * a later cold start must not hang for a monitor nobody opens. */
    virDomainPtr d = virDomainLookupByName(c, name);
    live = d ? virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE) : NULL;
    if (live && t->ram) {
        char *plain = live;
        if (cr_clone_ram_xml(&live, plain, t->ram, t->ram_mib, false, NULL) == 0)
            free(plain);
        else
            live = plain;
    }
    if (live && (rc = set_tb_cache(&live, CR_TB_CACHE_MIB)) < 0) {
        virDomainFree(d);
        goto cleanup;
    }
    virDomainPtr def = live ? virDomainDefineXML(c, live) : NULL;
    if (!def)
        rc = cr_error_set(CR_ERROR, "defining a clone of template %.12s: %s", t->key, virGetLastErrorMessage());
    if (def)
        virDomainFree(def);
    if (d)
        virDomainFree(d);
cleanup:
    cr_qmp_arm_end(arm, 1);
    cr_saveimage_stream_end(stream);
    unlink(scratch);
    free(live);
    free(qmp);
    free(xml);
    return rc;
}

/* ------------------------------------------------ templates on remote hosts */

typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static int sink_add(virStreamPtr st, const char *data, size_t n, void *opaque)
{
    (void)st;
    sink *k = opaque;
    if (k->len + n > k->cap)
        return -1; /* more than asked for: refuse */
    memcpy(k->buf + k->len, data, n);
    k->len += n;
    return (int)n;
}

/* n bytes of vol from offset 0, into *out (new). */
static int vol_read(char **out, cr_virt *v, int w, virStorageVolPtr vol, size_t n, const char *name)
{
    sink k = {cr_xmalloc(n ? n : 1), 0, n};
    virStreamPtr st = virStreamNew(cr_virt_conn(v, w), 0);
    int rc = 0;
    if (!st || virStorageVolDownload(vol, st, 0, n, 0) < 0 || virStreamRecvAll(st, sink_add, &k) < 0 ||
        virStreamFinish(st) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: reading %s: %s", cr_virt_uri(v), name, virGetLastErrorMessage());
        if (st)
            virStreamAbort(st);
    } else if (k.len != n) {
        rc = cr_error_set(CR_EINVAL, "%s: %s ends after %zu bytes", cr_virt_uri(v), name, k.len);
    }
    if (st)
        virStreamFree(st);
    if (rc < 0) {
        free(k.buf);
        return rc;
    }
    *out = k.buf;
    return 0;
}

static virStorageVolPtr vol_find(virStoragePoolPtr p, const char *name)
{
    virStorageVolPtr vol = virStorageVolLookupByName(p, name);
    if (!vol)
        virResetLastError();
    return vol;
}

static void vol_drop(virStoragePoolPtr p, const char *name)
{
    virStorageVolPtr vol = vol_find(p, name);
    if (vol) {
        virStorageVolDelete(vol, 0);
        virStorageVolFree(vol);
    }
    virResetLastError();
}

/* The template's header and XML, read from the host. */
static int read_remote(cr_template *t, cr_virt *v, int w, virStorageVolPtr mem)
{
    virStorageVolInfo info;
    if (virStorageVolGetInfo(mem, &info) < 0)
        return cr_error_set(CR_ERROR, "%s: %s: %s", cr_virt_uri(v), t->memory, virGetLastErrorMessage());
    char *head = NULL;
    uint32_t data_len = 0;
    int rc = vol_read(&head, v, w, mem, CR_SAVEIMAGE_HEADER, t->memory);
    if (rc == 0)
        rc = cr_saveimage_check_header(&data_len, head, info.capacity, t->memory);
    free(head);
    head = NULL;
    if (rc == 0)
        rc = vol_read(&head, v, w, mem, CR_SAVEIMAGE_HEADER + (size_t)data_len, t->memory);
    if (rc == 0)
        rc = cr_saveimage_parse(&t->image, head, info.capacity, t->memory);
    free(head);
    return rc;
}

int cr_template_ensure_remote(cr_template **out, bool *built, cr_virt *v, int w, const char *lock_root,
                              const char *key, const cr_plan *p, const cr_plan_vm *pv, size_t shared_steps,
                              const cr_image *img, const char *backing, const char *domtype, int agent_timeout_s)
{
    *out = NULL;
    *built = false;
    bool changed = false;
    int rc = cr_mkdir_p(lock_root, 0700);
    if (rc < 0)
        return rc;
    cr_template *t = cr_xcalloc(1, sizeof *t);
    t->lockfd = -1;
    t->remote = true;
    snprintf(t->key, sizeof t->key, "%s", key);
    t->memory = cr_xasprintf(CR_TEMPLATE_REMOTE_PATH "/%s.save", key);
    t->disk = backing ? cr_xasprintf(CR_TEMPLATE_REMOTE_PATH "/%s.qcow2", key) : NULL;
    char *mem_vol = cr_xasprintf("%s.save", key), *ok_vol = cr_xasprintf("%s.save.ok", key);
    char *disk_vol = cr_xasprintf("%s.qcow2", key);
    char *lock = cr_xasprintf("%s/%s.lock", lock_root, key);
    char *name = cr_xasprintf("crange-template-%.16s", key);
    virStoragePoolPtr pool = virStoragePoolLookupByName(cr_virt_conn(v, w), CR_TEMPLATE_POOL);
    virStorageVolPtr mem = NULL, ok = NULL;
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", lock, strerror(errno));
        goto cleanup;
    }
    if (!pool) {
        rc = cr_error_set(CR_ERROR, "%s: storage pool %s: %s", cr_virt_uri(v), CR_TEMPLATE_POOL,
                          virGetLastErrorMessage());
        goto cleanup;
    }
    virStoragePoolRefresh(pool, 0);
    ok = vol_find(pool, ok_vol);
    mem = ok ? vol_find(pool, mem_vol) : NULL;
    if (mem) {
        rc = read_remote(t, v, w, mem);
        if (rc == 0)
            goto cleanup;
        cr_log_warn("remaking template %.12s on %s: %s", key, cr_virt_uri(v), cr_error_message());
        cr_error_clear();
        cr_saveimage_free(&t->image);
        virStorageVolFree(mem);
        mem = NULL;
    }
    cr_log_info("making template %.12s on %s from team %d vm '%s' (booted once for this host's teams)", key,
                cr_virt_uri(v), pv->team, pv->vm->name);
    vol_drop(pool, ok_vol);
    vol_drop(pool, mem_vol);
    if (t->disk) {
        vol_drop(pool, disk_vol);
        char *vxml = cr_xml_volume(disk_vol, backing, img->disk_virtual_size);
        char *path = NULL;
        rc = cr_virt_ensure_volume(v, w, CR_TEMPLATE_POOL, disk_vol, vxml, &path, &changed);
        free(vxml);
        if (rc == 0 && strcmp(path, t->disk)) {
            free(t->disk);
            t->disk = cr_xstrdup(path);
        }
        free(path);
        if (rc < 0)
            goto cleanup;
    }
    rc = make(v, w, name, t->disk, t->memory, p, pv, shared_steps, img, domtype, agent_timeout_s, t, NULL);
    if (rc < 0)
        goto cleanup;
    /* libvirt wrote the file itself: the pool learns of it on a refresh. */
    virStoragePoolRefresh(pool, 0);
    mem = vol_find(pool, mem_vol);
    if (!mem) {
        rc = cr_error_set(CR_ERROR, "%s: template %.12s: the saved memory is not in pool %s", cr_virt_uri(v), key,
                          CR_TEMPLATE_POOL);
        goto cleanup;
    }
    rc = read_remote(t, v, w, mem);
    if (rc == 0) {
        char *okxml = cr_xasprintf("<volume><name>%s</name><capacity unit='bytes'>1</capacity>"
                                   "<target><format type='raw'/></target></volume>",
                                   ok_vol);
        virStorageVolPtr made = virStorageVolCreateXML(pool, okxml, 0);
        free(okxml);
        if (!made)
            rc = cr_error_set(CR_ERROR, "%s: %s: %s", cr_virt_uri(v), ok_vol, virGetLastErrorMessage());
        else
            virStorageVolFree(made);
    }
    if (rc == 0)
        *built = true;
cleanup:
    if (rc == 0 && fd >= 0 && flock(fd, LOCK_SH) == 0) {
        t->lockfd = fd;
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    if (mem)
        virStorageVolFree(mem);
    if (ok)
        virStorageVolFree(ok);
    if (pool)
        virStoragePoolFree(pool);
    free(mem_vol);
    free(ok_vol);
    free(disk_vol);
    free(lock);
    free(name);
    if (rc < 0)
        cr_template_free(t);
    else
        *out = t;
    return rc;
}

int cr_template_clone_remote(cr_virt *v, int w, const cr_template *t, const char *name, const char *identity_xml,
                             bool paused)
{
    char *xml = NULL, *head = NULL, *copy_name = cr_xasprintf("%s.restore", name);
    size_t head_len = 0;
    virConnectPtr c = cr_virt_conn(v, w);
    virStoragePoolPtr pool = virStoragePoolLookupByName(c, CR_TEMPLATE_POOL);
    virStorageVolPtr src = NULL, copy = NULL;
    virStreamPtr st = NULL;
    int rc = cr_clone_xml(&xml, t->image.xml, identity_xml);
    if (rc == 0)
        rc = set_tb_cache(&xml, CR_CLONE_TB_CACHE_MIB);
    if (rc == 0)
        rc = cr_saveimage_head(&head, &head_len, &t->image, xml, t->memory);
    if (rc < 0)
        goto cleanup;
    char *mem_vol = cr_xasprintf("%s.save", t->key);
    src = pool ? vol_find(pool, mem_vol) : NULL;
    free(mem_vol);
    if (!src) {
        rc = cr_error_set(CR_ERROR, "%s: template %.12s's memory is gone", cr_virt_uri(v), t->key);
        goto cleanup;
    }
    /* The copy is made on the host, from its own disk; only the new header
     * and XML cross the network. */
    vol_drop(pool, copy_name);
    char *cxml = cr_xasprintf("<volume><name>%s</name><capacity unit='bytes'>%llu</capacity>"
                              "<target><format type='raw'/></target></volume>",
                              copy_name, (unsigned long long)(t->image.stream_offset + t->image.stream_len));
    copy = virStorageVolCreateXMLFrom(pool, cxml, src, 0);
    free(cxml);
    st = copy ? virStreamNew(c, 0) : NULL;
    if (!copy || !st || virStorageVolUpload(copy, st, 0, head_len, 0) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: a copy of template %.12s for %s: %s", cr_virt_uri(v), t->key, name,
                          virGetLastErrorMessage());
        goto cleanup;
    }
    size_t sent = 0;
    while (rc == 0 && sent < head_len) {
        int n = virStreamSend(st, head + sent, head_len - sent);
        if (n <= 0)
            rc = cr_error_set(CR_ERROR, "%s: writing %s's header: %s", cr_virt_uri(v), name, virGetLastErrorMessage());
        else
            sent += (size_t)n;
    }
    if (rc == 0 && virStreamFinish(st) < 0)
        rc = cr_error_set(CR_ERROR, "%s: writing %s's header: %s", cr_virt_uri(v), name, virGetLastErrorMessage());
    virStreamFree(st);
    st = NULL;
    if (rc < 0)
        goto cleanup;
    char *path = virStorageVolGetPath(copy);
    if (!path || virDomainRestoreFlags(c, path, NULL, paused ? VIR_DOMAIN_SAVE_PAUSED : VIR_DOMAIN_SAVE_RUNNING) < 0)
        rc = cr_error_set(CR_ERROR, "restoring from template %.12s on %s: %s", t->key, cr_virt_uri(v),
                          virGetLastErrorMessage());
    free(path);
    if (rc < 0)
        goto cleanup;
    virDomainPtr d = virDomainLookupByName(c, name);
    char *live = d ? virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE) : NULL;
    if (live && set_tb_cache(&live, CR_TB_CACHE_MIB) < 0) {
        rc = CR_EINVAL;
        virDomainFree(d);
        free(live);
        goto cleanup;
    }
    virDomainPtr def = live ? virDomainDefineXML(c, live) : NULL;
    if (!def)
        rc = cr_error_set(CR_ERROR, "defining a clone of template %.12s: %s", t->key, virGetLastErrorMessage());
    if (def)
        virDomainFree(def);
    if (d)
        virDomainFree(d);
    free(live);
cleanup:
    if (st) {
        virStreamAbort(st);
        virStreamFree(st);
    }
    if (copy) {
        virStorageVolDelete(copy, 0);
        virStorageVolFree(copy);
    }
    virResetLastError();
    if (src)
        virStorageVolFree(src);
    if (pool)
        virStoragePoolFree(pool);
    free(copy_name);
    free(head);
    free(xml);
    return rc;
}

/* Runs as root through the agent; stdin is 64 bytes of host randomness. The
 * MACs to give the NICs are the arguments, in NIC order; the template's are
 * in the marker, in the same order.
 *
 * Its time is the agent timeout of `up`, not a fixed 120 s. Under TCG every
 * command of it costs CPU, and clones restored at once all reseal at once:
 * in a 10-team class of telework-router (40 guests on 2 cores, shared RAM),
 * debian-12 reseals took 60 s to over 3 minutes (the guest's log and the
 * files' times: machine-id about 20 s in, the SSH host keys a minute after
 * that), and a 120 s limit failed one to three routers in each of 3 runs.
 *
 * One at a time: when `up` gives up on a reseal (its time ran out on a
 * loaded host) the script goes on in the guest, and the next `up` starts
 * another. Seen in e2e: the first removed the marker while the second read
 * it ("sed: can't read /etc/crange/template"), and up failed twice. So a
 * reseal runs under the guest's step lock (cr_agent_exec_step), waits for
 * the one before it, and then finds the marker gone. */
static const char reseal_script[] =
    "set -e\n"
    "m=" CR_TEMPLATE_MARKER "\n"
    "[ -e \"$m\" ] || exit 0\n"
    "if [ -x /usr/libexec/crange/crange-reseed ]; then /usr/libexec/crange/crange-reseed\n"
    "else head -c 64 > /dev/urandom; fi\n"
    "i=0\n"
    "for new in \"$@\"; do\n"
    "  i=$((i + 1)); old=$(sed -n \"${i}p\" \"$m\")\n"
    "  [ -n \"$old\" ] && [ \"$old\" != \"$new\" ] || continue\n"
    "  for d in /sys/class/net/*; do\n"
    "    if [ \"$(cat \"$d/address\")\" = \"$old\" ]; then ip link set dev \"${d##*/}\" address \"$new\"; fi\n"
    "  done\n"
    "done\n"
    "ip neigh flush all >/dev/null 2>&1 || true\n"
    "if [ -e /etc/machine-id ]; then\n"
    "  tr -d '-' < /proc/sys/kernel/random/uuid > /etc/machine-id.crange && mv /etc/machine-id.crange /etc/machine-id\n"
    "  if [ -e /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then\n"
    "    cp /etc/machine-id /var/lib/dbus/machine-id\n"
    "  fi\n"
    "fi\n"
    /* The SSH host keys again, of the types the guest had: not `ssh-keygen
     * -A`, which also makes an RSA key, about 20 CPU-s under TCG, that the
     * debian-12 image leaves out on purpose (crange-sshkeys). In a 10-team
     * class of telework-router the keys came about a minute after the
     * machine-id (2026-12-06). */
    "made=\n"
    "if command -v ssh-keygen >/dev/null; then\n"
    "  for k in /etc/ssh/ssh_host_*_key; do\n"
    "    [ -e \"$k\" ] || continue\n"
    "    t=${k#/etc/ssh/ssh_host_}; t=${t%_key}\n"
    "    rm -f \"$k\" \"$k.pub\"\n"
    "    ssh-keygen -q -t \"$t\" -N '' -f \"$k\" >/dev/null\n"
    "    made=1\n"
    "  done\n"
    "fi\n"
    "[ -z \"$made\" ] || systemctl try-restart ssh >/dev/null 2>&1 || true\n"
    "rm -f \"$m\"\n"
    /* A clone never booted, so its console (and the log of it on the host)
     * would stay empty until someone pressed Enter: say what happened. */
    "printf '\\r\\ncrange: restored from a template (instant clone) at %s; press Enter for a prompt\\r\\n' "
    "\"$(date -u +%H:%M:%S)\" > /dev/console 2>/dev/null || true\n";

int cr_template_reseal(virDomainPtr dom, const cr_plan_vm *pv, int timeout_s, bool *resealed)
{
    *resealed = false;
    char *have = NULL;
    size_t len = 0;
    int rc = cr_agent_read_file(&have, &len, dom, CR_TEMPLATE_MARKER, 4096);
    free(have);
    if (rc == CR_ENOTFOUND) {
        cr_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    /* The clock first: the guest's is where the template's stopped. qemu-ga
     * sets it, then writes it to the RTC (tiny has /sbin/hwclock for it). */
    json_t *cmd = json_pack("{s:s, s:{s:I}}", "execute", "guest-set-time", "arguments", "time",
                            (json_int_t)cr_wall_ms() * 1000000);
    json_t *ret = NULL;
    rc = cr_agent_command(&ret, dom, cmd, 30);
    json_decref(cmd);
    json_decref(ret);
    if (rc < 0) {
        /* debian-12 has no hwclock (util-linux-extra), which qemu-ga 7.2
         * needs for guest-set-time even when given the time. */
        cr_log_debug("team %d vm '%s': guest-set-time: %s; setting the clock with date", pv->team, pv->vm->name,
                     cr_error_message());
        cr_error_clear();
        char when[32];
        snprintf(when, sizeof when, "@%lld", (long long)(cr_wall_ms() / 1000));
        const char *argv[] = {"/bin/date", "-u", "-s", when, NULL};
        cr_exec_result res;
        if (cr_agent_exec(&res, dom, argv, NULL, 0, 30) == 0)
            cr_exec_result_free(&res);
        cr_error_clear();
    }
    unsigned char seed[64];
    randombytes_buf(seed, sizeof seed);
    const char *argv[8 + 16] = {"/bin/sh", "-c", reseal_script, "reseal"};
    size_t a = 4;
    for (size_t k = 0; k < pv->n_nics && a < sizeof argv / sizeof *argv - 1; k++)
        argv[a++] = pv->nics[k].mac;
    argv[a] = NULL;
    cr_exec_result res;
    rc = cr_agent_exec_step(&res, dom, argv, seed, sizeof seed, timeout_s); /* one reseal at a time */
    sodium_memzero(seed, sizeof seed);
    if (rc == 0) {
        if (res.exit_code != 0 || res.signal) {
            const char *why = res.err_len ? res.err : "";
            rc = cr_error_set(CR_ERROR, "resealing the clone exited with %d: %.*s", res.exit_code,
                              (int)strcspn(why, "\n"), why);
        }
        cr_exec_result_free(&res);
    }
    if (rc == 0)
        *resealed = true;
    return rc;
}

int cr_template_list(char ***keys, size_t *n, const char *root)
{
    *keys = NULL;
    *n = 0;
    size_t cap = 0;
    DIR *dir = opendir(root);
    if (!dir)
        return errno == ENOENT ? 0 : cr_error_set(CR_ERROR, "%s: %s", root, strerror(errno));
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (l != 64 + 5 || strcmp(e->d_name + 64, ".save"))
            continue;
        cr_grow(keys, &cap, *n + 2, sizeof **keys);
        (*keys)[(*n)++] = cr_xstrndup(e->d_name, 64);
        (*keys)[*n] = NULL;
    }
    closedir(dir);
    return 0;
}

/* The backing file of every volume in every crange storage pool (a range's
 * overlays), as a newline-separated list in *out. */
static int backing_files(cr_buf *out, virConnectPtr c)
{
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(c, &pools, 0);
    if (n < 0)
        return cr_error_set(CR_ERROR, "listing storage pools: %s", virGetLastErrorMessage());
    for (int i = 0; i < n; i++) {
        const char *pname = virStoragePoolGetName(pools[i]);
        virStorageVolPtr *vols = NULL;
        int nv = pname && !strncmp(pname, "crange.", 7) && virStoragePoolIsActive(pools[i]) == 1
                     ? virStoragePoolListAllVolumes(pools[i], &vols, 0)
                     : 0;
        for (int k = 0; k < nv; k++) {
            char *xml = virStorageVolGetXMLDesc(vols[k], 0);
            xmlDocPtr d = xml ? xmlReadMemory(xml, (int)strlen(xml), "volume", NULL, XML_PARSE_NONET) : NULL;
            xmlXPathContextPtr ctx = d ? xmlXPathNewContext(d) : NULL;
            xmlXPathObjectPtr r = ctx ? xmlXPathEvalExpression((const xmlChar *)"string(/volume/backingStore/path)", ctx)
                                      : NULL;
            if (r && r->stringval && *r->stringval)
                cr_buf_addf(out, "%s\n", (const char *)r->stringval);
            xmlXPathFreeObject(r);
            xmlXPathFreeContext(ctx);
            xmlFreeDoc(d);
            free(xml);
            virStorageVolFree(vols[k]);
        }
        free(vols);
        virStoragePoolFree(pools[i]);
    }
    free(pools);
    virResetLastError();
    return 0;
}

/* Whether no up makes or uses template `key` now: its lock is free (taken
 * exclusively and handed back at once). */
static bool template_idle(const char *root, const char *key)
{
    char *lock = cr_xasprintf("%s/%s.lock", root, key);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    bool idle = fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (fd >= 0)
        close(fd);
    free(lock);
    return idle;
}

int cr_template_sweep(cr_virt *v, const char *root)
{
    virConnectPtr c = cr_virt_conn(v, 0);
    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_TRANSIENT);
    if (nd < 0)
        return cr_error_set(CR_ERROR, "listing domains: %s", virGetLastErrorMessage());
    /* The keys under root, to match the 16 characters a domain name holds. */
    char **keys = NULL;
    size_t nk = 0, cap = 0;
    DIR *dir = opendir(root);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (l != 64 + 5 || strcmp(e->d_name + 64, ".lock"))
            continue;
        cr_grow(&keys, &cap, nk + 1, sizeof *keys);
        keys[nk++] = cr_xstrndup(e->d_name, 64);
    }
    if (dir)
        closedir(dir);
    int destroyed = 0;
    for (int i = 0; i < nd; i++) {
        /* Only templates of this state folder (another may share the
         * libvirtd), and only when no up holds their lock. */
        const char *name = virDomainGetName(doms[i]);
        bool ours = false, stale = name && !strncmp(name, "crange-template-", 16);
        for (size_t k = 0; stale && k < nk; k++) {
            if (strncmp(name + 16, keys[k], 16))
                continue;
            ours = true;
            stale = template_idle(root, keys[k]);
        }
        stale = stale && ours;
        if (stale && virDomainDestroy(doms[i]) == 0) {
            cr_log_info("removed %s, left by an up that was stopped while making it", name);
            destroyed++;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    /* Templates never saved: their disk and half-written memory image. */
    for (size_t k = 0; k < nk; k++) {
        char *save = cr_xasprintf("%s/%s.save", root, keys[k]);
        if (!cr_path_exists(save) && template_idle(root, keys[k])) {
            char *vol = cr_xasprintf("%s.qcow2", keys[k]);
            char *qcow = cr_xasprintf("%s/%s.qcow2", root, keys[k]);
            char *tmp = cr_xasprintf("%s/%s.save.tmp", root, keys[k]);
            char *ram = cr_xasprintf("%s/%s.ram", root, keys[k]);
            if (cr_virt_remove_volume(v, 0, CR_TEMPLATE_POOL, vol) < 0)
                cr_error_clear();
            unlink(qcow);
            unlink(tmp);
            unlink(ram);
            free(ram);
            free(tmp);
            free(qcow);
            free(vol);
        }
        free(save);
        free(keys[k]);
    }
    free(keys);
    return destroyed;
}

int cr_template_prune(char ***removed, size_t *n, cr_virt *v, const char *root, bool dry_run)
{
    *removed = NULL;
    *n = 0;
    char **keys = NULL;
    size_t nk = 0, cap = 0;
    cr_buf used = {0};
    int rc = cr_template_list(&keys, &nk, root);
    if (rc == 0 && nk)
        rc = backing_files(&used, cr_virt_conn(v, 0));
    for (size_t i = 0; rc == 0 && i < nk; i++) {
        char *disk = cr_xasprintf("%s/%s.qcow2\n", root, keys[i]);
        bool in_use = used.data && strstr(used.data, disk);
        free(disk);
        if (in_use)
            continue;
        char *lock = cr_xasprintf("%s/%s.lock", root, keys[i]);
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        /* An up holds it while it clones: skip that template. */
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (!dry_run) {
                char *vol = cr_xasprintf("%s.qcow2", keys[i]);
                char *save = cr_xasprintf("%s/%s.save", root, keys[i]);
                char *qcow = cr_xasprintf("%s/%s.qcow2", root, keys[i]);
                char *ram = cr_xasprintf("%s/%s.ram", root, keys[i]);
                if (cr_virt_remove_volume(v, 0, CR_TEMPLATE_POOL, vol) < 0)
                    cr_error_clear(); /* no pool (libvirtd restarted): the file goes below */
                /* The console log of its one boot goes with it. */
                char *dom = cr_xasprintf("crange-template-%.16s", keys[i]);
                char *log = cr_console_log_path(dom);
                unlink(save);
                unlink(qcow);
                unlink(ram);
                unlink(lock);
                free(ram);
                unlink(log);
                free(log);
                free(dom);
                free(qcow);
                free(save);
                free(vol);
            }
            cr_grow(removed, &cap, *n + 2, sizeof **removed);
            (*removed)[(*n)++] = cr_xstrdup(keys[i]);
            (*removed)[*n] = NULL;
        }
        if (fd >= 0)
            close(fd);
        free(lock);
    }
    for (size_t i = 0; i < nk; i++)
        free(keys[i]);
    free(keys);
    cr_buf_free(&used);
    return rc;
}

/* ------------------------------------------------ pruning a remote host */

/* "<64 hex>.<suffix>": the template key a volume of the pool belongs to. */
static bool volume_key(char key[65], const char *name)
{
    if (strlen(name) < 66 || name[64] != '.')
        return false;
    for (int i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return false;
    memcpy(key, name, 64);
    key[64] = '\0';
    return true;
}

int cr_template_prune_remote(char ***removed, size_t *n, cr_virt *v, const char *lock_root, bool dry_run)
{
    *removed = NULL;
    *n = 0;
    virConnectPtr c = cr_virt_conn(v, 0);
    virStoragePoolPtr pool = virStoragePoolLookupByName(c, CR_TEMPLATE_POOL);
    if (!pool) {
        virResetLastError();
        return 0; /* no template was ever made there */
    }
    int rc = cr_mkdir_p(lock_root, 0700);
    virStorageVolPtr *vols = NULL;
    int nv = 0;
    if (rc == 0 && virStoragePoolIsActive(pool) == 1) {
        virStoragePoolRefresh(pool, 0);
        nv = virStoragePoolListAllVolumes(pool, &vols, 0);
        if (nv < 0)
            rc = cr_error_set(CR_ERROR, "%s: listing pool %s: %s", cr_virt_uri(v), CR_TEMPLATE_POOL,
                              virGetLastErrorMessage());
    }
    char **keys = NULL;
    size_t nk = 0, cap = 0, rcap = 0;
    for (int i = 0; i < nv; i++) {
        char key[65];
        const char *name = virStorageVolGetName(vols[i]);
        bool seen = false;
        if (name && volume_key(key, name)) {
            for (size_t k = 0; k < nk && !seen; k++)
                seen = !strcmp(keys[k], key);
            if (!seen) {
                cr_grow(&keys, &cap, nk + 1, sizeof *keys);
                keys[nk++] = cr_xstrdup(key);
            }
        }
        virStorageVolFree(vols[i]);
    }
    free(vols);
    cr_buf used = {0};
    if (rc == 0 && nk)
        rc = backing_files(&used, c);
    for (size_t k = 0; rc == 0 && k < nk; k++) {
        /* The template's disk, wherever the pool keeps it, is what the
         * clones' overlays name as their backing file. */
        char *disk_vol = cr_xasprintf("%s.qcow2", keys[k]);
        virStorageVolPtr disk = vol_find(pool, disk_vol);
        char *path = disk ? virStorageVolGetPath(disk) : NULL;
        char *line = path ? cr_xasprintf("%s\n", path) : NULL;
        bool in_use = line && used.data && strstr(used.data, line);
        free(line);
        free(path);
        if (disk)
            virStorageVolFree(disk);
        char *lock = cr_xasprintf("%s/%s.lock", lock_root, keys[k]);
        int fd = in_use ? -1 : open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        /* An up making or cloning it holds its lock: it stays. */
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (!dry_run) {
                /* A template VM an up left running on its disk goes first. */
                char *name = cr_xasprintf("crange-template-%.16s", keys[k]);
                virDomainPtr d = virDomainLookupByName(c, name);
                if (d) {
                    virDomainDestroy(d);
                    virDomainFree(d);
                }
                virResetLastError();
                free(name);
                char *ok_vol = cr_xasprintf("%s.save.ok", keys[k]), *mem_vol = cr_xasprintf("%s.save", keys[k]);
                vol_drop(pool, ok_vol); /* first: a template cut short here is remade, never used */
                vol_drop(pool, mem_vol);
                vol_drop(pool, disk_vol);
                free(mem_vol);
                free(ok_vol);
            }
            cr_grow(removed, &rcap, *n + 2, sizeof **removed);
            (*removed)[(*n)++] = cr_xstrdup(keys[k]);
            (*removed)[*n] = NULL;
        }
        if (fd >= 0)
            close(fd);
        free(lock);
        free(disk_vol);
    }
    for (size_t k = 0; k < nk; k++)
        free(keys[k]);
    free(keys);
    cr_buf_free(&used);
    virStoragePoolFree(pool);
    return rc;
}
