/*
 * template.h: instant clones (issue 12). A VM that repeats across teams is
 * booted and provisioned once, as a template, and saved with its memory;
 * every team's copy is then restored from that memory image under its own
 * identity (clone.h, saveimage.h) instead of booting.
 *
 * A template is defined by everything that makes its memory and disk: the
 * image (name and recipe hash) or role layer under it, the accelerator,
 * memory and vCPUs, NIC count, the kernel command line with the MACs taken
 * out, and the provisioning steps every team's copy shares (the first steps,
 * up to the first that differs between teams: a per-team password, say).
 * Its key is a hash of those, so a second `up` of the same scenario, in
 * this range or another, finds the template already made. Each clone runs
 * its own remaining steps after the restore (provision.h's prefix marker).
 *
 * The cache, <state>/templates/ (pool "crange-templates"):
 *   <key>.qcow2   the template's disk at save time: the read-only backing of
 *                 every clone's overlay (never written after the save)
 *   <key>.save    libvirt's save image: header, XML, QEMU's stream
 *   <key>.lock    flock, so that two `up`s never build one template twice
 *   <key>.ram     with shared RAM (local hosts): the guest's RAM at save time
 *                 (never written after the save)
 *   qmp/          sockets where starting QEMUs wait for qmp.h's monitor
 * The .save appears (by rename) only once complete: a kill -9 while a
 * template is made leaves no .save, and the next `up` makes it again.
 *
 * What clones share, and why it is safe: the template's disk (read-only,
 * under each clone's own overlay) and, until it is reset, its memory: the
 * guest's clock, its MACs, its random state, machine-id and SSH host keys.
 * cr_template_reseal resets each of those through the agent right after the
 * restore; a guest marks itself a template (/etc/crange/template, holding its
 * MACs) before the save, so that a clone not yet resealed (up killed just
 * after the restore) is found and resealed by the next `up`.
 *
 * Shared RAM (on the local host; CRANGE_CLONE_MEMORY=copy turns it off): the
 * template's guest RAM is a file, <key>.ram, which its QEMU maps shared, so
 * at the save the file holds the guest's memory; with QEMU's migration
 * capability x-ignore-shared the save image then carries no RAM at all
 * (about 0.8 MB for a tiny template, against 98 MB). Each clone maps the
 * same file private: it reads the template's pages from the host's page
 * cache, one copy for every clone, and a page it writes becomes its own
 * (copy-on-write). docs/DESIGN.md says why this is sound.
 */
#ifndef CRANGE_TEMPLATE_H
#define CRANGE_TEMPLATE_H

#include "image.h"
#include "plan.h"
#include "saveimage.h"
#include "virt.h"

#include <libvirt/libvirt.h>
#include <stdbool.h>

#define CR_TEMPLATE_POOL "crange-templates"
#define CR_TEMPLATE_MARKER "/etc/crange/template"

typedef struct cr_template {
    char key[65];
    char *disk;           /* <root>/<key>.qcow2; NULL for a diskless image */
    char *memory;         /* <root>/<key>.save */
    cr_saveimage image;   /* memory's header and XML */
    int lockfd;           /* <key>.lock, held shared while in use (-1: none) */
    bool remote;          /* on a remote host: disk and memory are its paths (below) */
    char *ram;            /* <root>/<key>.ram: shared RAM (below); NULL: RAM in the stream */
    unsigned ram_mib;     /* its size */
    char *qmp_dir;        /* <root>/qmp, QEMU's user's: sockets of the QMP monitor (shared RAM only) */
} cr_template;

/* The template key of a VM (hex) whose first shared_steps steps go into the
 * template. backing is the disk its overlay would sit on (the image's or its
 * role layer's), or NULL. */
int cr_template_key(char out[65], const cr_scenario *s, const cr_plan_vm *pv, size_t shared_steps,
                    const cr_image *img, const char *backing, const char *domtype, bool shared_ram);

/* Whether templates under root can share their RAM (a local host, and a
 * QMP socket path under root that fits in a sockaddr_un). */
bool cr_template_shared_ram_ok(const char *root);

/* Opens the template `key` under root, making it first when it is not there
 * (built says which): boots pv's VM as a transient domain on pv's networks
 * (its disk an overlay of backing, in pool CR_TEMPLATE_POOL over root, which
 * the caller ensures), waits for its agent, runs its shared
 * steps, marks it, and saves it. *out is freed with cr_template_free. */
int cr_template_ensure(cr_template **out, bool *built, cr_virt *v, int w, const char *root, const char *key,
                       const cr_plan *p, const cr_plan_vm *pv, size_t shared_steps, const cr_image *img,
                       const char *backing, const char *domtype, int agent_timeout_s, bool shared_ram);
void cr_template_free(cr_template *t);

/* Restores a clone of t as domain `name`: identity_xml is the XML crange
 * generates for it (its overlay must already exist, on t->disk); scratch is the
 * path of the FIFO the clone's save image is streamed through (made and removed
 * here). The clone is persistent when this returns 0, and running unless
 * paused (up restores clones paused to let them in through its boot window). */
int cr_template_clone(cr_virt *v, int w, const cr_template *t, const char *name, const char *identity_xml,
                      const char *scratch, bool paused);

/*
 * The same on a remote host (hosts.h), through libvirt alone: the template's
 * disk and memory are volumes of the host's pool CR_TEMPLATE_POOL at
 * CR_TEMPLATE_REMOTE_PATH there (<key>.qcow2, <key>.save), and <key>.save.ok
 * is made once the save is complete (a half-made template is made again).
 * Its header is read through virStorageVolDownload. A clone is a copy of the
 * memory volume made on the host (virStorageVolCreateXMLFrom) whose header
 * and XML are overwritten in place (virStorageVolUpload at offset 0: the
 * clone's XML must fit in the template's data part, as it does), restored
 * (paused or not, as by cr_template_clone) and deleted. lock_root is the local
 * folder of the templates' lock files; the caller ensures the pool.
 */
#define CR_TEMPLATE_REMOTE_PATH "/var/lib/libvirt/images/crange-templates"
int cr_template_ensure_remote(cr_template **out, bool *built, cr_virt *v, int w, const char *lock_root,
                              const char *key, const cr_plan *p, const cr_plan_vm *pv, size_t shared_steps,
                              const cr_image *img, const char *backing, const char *domtype, int agent_timeout_s);
int cr_template_clone_remote(cr_virt *v, int w, const cr_template *t, const char *name, const char *identity_xml,
                             bool paused);

/* If the guest is a clone not yet resealed (its marker is there): sets its
 * clock, gives its NICs pv's MACs and flushes its neighbours, stirs host
 * randomness into its pool and reseeds it, and regenerates machine-id and
 * SSH host keys where the guest has them; then removes the marker. The
 * script that does all but the clock gets timeout_s (the agent timeout of
 * `up`). *resealed says whether it did. */
int cr_template_reseal(virDomainPtr dom, const cr_plan_vm *pv, int timeout_s, bool *resealed);

/* Template keys under root (NULL-terminated new array of new strings). */
int cr_template_list(char ***keys, size_t *n, const char *root);

/* Removes the templates no range's overlay sits on (found through libvirt's
 * storage pools), except those an `up` holds at this moment; *removed lists
 * their keys (NULL-terminated, new strings). dry_run: only list them. */
int cr_template_prune(char ***removed, size_t *n, cr_virt *v, const char *root, bool dry_run);

/* The same on a remote host (hosts.h) through libvirt: the templates in the
 * host's pool CR_TEMPLATE_POOL that no overlay of the host sits on and no up
 * holds (their locks are under lock_root, as when they are made), with a
 * template VM an up left running on one. */
int cr_template_prune_remote(char ***removed, size_t *n, cr_virt *v, const char *lock_root, bool dry_run);

/* Removes what an up killed while making a template left behind, for every
 * template of root no up is making or using now (its lock is free): the
 * template's running domain (crange-template-<key>), and for a template that was never
 * saved, its disk and its half-written memory image. Keys change with the
 * scenario and, for a range whose team count is 1, with the range's values,
 * so such leftovers are not always remade (and so removed) by the next up.
 * Returns the number of domains destroyed, or a negative code. */
int cr_template_sweep(cr_virt *v, const char *root);

#endif
