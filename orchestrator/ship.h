/*
 * ship.h: base images and role layers reach a remote libvirt host through
 * libvirt's storage API alone (virStorageVolUpload into the host's image
 * pool), since crange has no agent and no file access there.
 *
 * The host's pool, CR_SHIP_POOL, is a folder pool at CR_SHIP_POOL_PATH on
 * that host. Volumes are named by content (image, file and the first 16 hex
 * digits of its SHA-256), so a changed image is a new volume and an old one
 * is never overwritten under a running VM. An upload is checked by reading
 * the volume back (virStorageVolDownload) and comparing SHA-256; only then
 * is a small "<volume>.ok" volume written beside it. A volume without its
 * .ok (an upload cut short by a kill or a lost link) is deleted and sent
 * again: a file is shipped once, and only when missing.
 *
 * A role layer's qcow2 names its base disk by local path; the shipped copy
 * is rebased (qemu-img rebase -u, on a temporary local copy) onto the base
 * disk's path on the host first.
 *
 * Ownership: the out strings and images are the caller's. Errors follow
 * err.h and name the host's URI.
 */
#ifndef CRANGE_SHIP_H
#define CRANGE_SHIP_H

#include "image.h"
#include "virt.h"

#define CR_SHIP_POOL "crange-images"
#define CR_SHIP_POOL_PATH "/var/lib/libvirt/images/crange-images"

/* Makes sure the host's image pool exists and runs. */
int cr_ship_pool(cr_virt *v, int w);

/*
 * Makes sure the host has a verified copy of local file `path` named
 * `<prefix>-<sha16><suffix>`; *remote_path is its path on the host. sha256
 * is the file's hex digest when known (image.json has the disk's), else
 * NULL and it is computed. *sent tells whether it was uploaded now.
 */
int cr_ship_file(char **remote_path, bool *sent, cr_virt *v, int w, const char *path, const char *sha256,
                 const char *prefix, const char *suffix);

/* A copy of img whose disk, kernel and initrd are the host's copies. */
int cr_ship_image(cr_image **out, size_t *sent, cr_virt *v, int w, const cr_image *img);

/* A role layer's disk on the host, rebased onto remote_base (the host's
 * copy of its base disk). key names the layer. */
int cr_ship_layer(char **remote_path, bool *sent, cr_virt *v, int w, const char *layer_disk, const char *key,
                  const char *remote_base);

/*
 * Removes from the host's image pool what nothing on the host uses: no
 * volume outside the pool sits on it (overlays, templates), no domain's XML
 * names it (disks, kernels), and no kept volume of the pool sits on it (a
 * layer's base). *removed lists the volumes (NULL-terminated, new strings).
 * dry_run: only list them. Run it after the templates' prune, whose disks
 * sit on these.
 */
int cr_ship_prune(char ***removed, size_t *n, cr_virt *v, bool dry_run);

#endif
