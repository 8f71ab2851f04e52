/*
 * layer.h: role layers (template layers). A role (model.h) is baked once
 * into a qcow2 overlay on its base image, the layer; every VM of the role,
 * in every team, gets its own overlay on the layer, so the chain is
 *   VM overlay -> layer -> base image
 * and 30 teams install the role's packages once, not 30 times.
 *
 * Key: BLAKE2b-256 over the base image's recipe hash and disk checksum, the
 * role's packages (sorted), every file step (destination, mode, content)
 * and every command, in order. The role's name is not part of it, so two
 * roles with the same recipe share a layer; anything that changes what is
 * in the layer changes the key.
 *
 * Store: <images>/layers/<key>/ holds layer.qcow2 (0444), manifest.json
 * (checksum, size, build date, role, base image, packages requested and
 * installed with their versions) and build.log. A build happens in a
 * temporary folder beside it and is renamed into place, so a killed build
 * never leaves a half layer under a key.
 *
 * Build, without giving the guest a network:
 *   1. on the host, apt downloads the packages and their dependencies not
 *      yet in the base image (its dpkg status and sources, recorded by the
 *      recipe as dpkg-status and apt-sources), into a private apt state;
 *   2. the .debs and the role's files go on a small ext4 payload disk;
 *   3. a transient builder domain without NICs (VIR_DOMAIN_START_AUTODESTROY:
 *      it dies with crange) boots the new layer as vda with the payload as
 *      vdb; through the guest agent it installs the packages offline, copies
 *      the files, runs the commands, removes per-machine identity (SSH host
 *      keys, machine id, action spool), trims, and powers off.
 *
 * Ownership: a cr_layer owns its strings; cr_layer_free accepts NULL.
 */
#ifndef CRANGE_LAYER_H
#define CRANGE_LAYER_H

#include "image.h"
#include "model.h"

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

/* The folder of the image store that holds the layers. */
#define CR_LAYER_DIR "layers"

typedef struct cr_layer {
    char *key;        /* hex BLAKE2b-256 */
    char *dir;        /* <store>/layers/<key> */
    char *disk;       /* <dir>/layer.qcow2: the backing file of the role's VM overlays */
    char *role;       /* the role that built it */
    char *image;      /* its base image */
    uint64_t size;    /* bytes of layer.qcow2 */
    char *built_at;   /* ISO 8601 */
} cr_layer;

void cr_layer_free(cr_layer *l);

/* The layer key of a role on its base image (see above). File sources are
 * read from scenario_dir. */
int cr_layer_key(char out[65], const char *scenario_dir, const cr_role *role, const cr_image *base);

/* Opens a built layer; CR_ENOTFOUND when it is not built. */
int cr_layer_open(cr_layer **out, const char *store, const char *key);

/*
 * Returns the role's layer, building it first when the store has none
 * (*built says which). The builder domain runs on conn with the domain type
 * domtype ("qemu" or "kvm"). Concurrent crange processes building the same
 * key wait for each other (a lock file in the store). A failure names the
 * role's declaration ("scenario.lua:12: role 'router': ..."); the build log
 * stays in <store>/layers/.failed-<key>.log.
 */
int cr_layer_ensure(cr_layer **out, bool *built, virConnectPtr conn, const char *domtype, const char *store,
                    const char *scenario_dir, const cr_role *role, const cr_image *base);

/* Every built layer: kind "layer", name (its role), image, key, state
 * ("current", or "stale" when its base image was rebuilt since), size,
 * built_at, installed packages. New reference. */
json_t *cr_layer_list(const char *store);

#endif
