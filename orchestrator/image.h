/*
 * image.h: the image store. A recipe is a folder images/<name>/ with a
 * build.sh that writes an image into a folder; the store keeps the built
 * image under <state>/images/<name>/ with image.json: file checksums
 * (SHA-256), sizes, the recipe hash and the build date.
 *
 * Recipe hash: BLAKE2b over the recipe folder's files plus the output of the
 * recipe's optional inputs.sh (the versions of the Debian packages it uses),
 * so that a build is skipped when neither changed.
 *
 * Built images are read-only bases: VMs get qcow2 overlays, never copies.
 * Role layers (layer.h) live beside them, under <store>/layers/, a name no
 * image can take.
 */
#ifndef CRANGE_IMAGE_H
#define CRANGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cr_image {
    char *name;
    char *dir;            /* <store>/<name> */
    char *boot;           /* "kernel" (direct kernel boot) or "disk" */
    char *kernel;         /* absolute paths, NULL when absent */
    char *initrd;
    char *disk;
    char *disk_sha256;    /* hex, from image.json; NULL without a disk */
    uint64_t disk_virtual_size; /* bytes; 0 without a disk */
    char *dpkg_status;    /* Debian images: the image's /var/lib/dpkg/status and */
    char *apt_sources;    /* its sources.list (role layers use them); else NULL */
    char *cmdline;        /* base kernel arguments */
    bool actions;         /* the guest feeds the org.crange.actions.0 channel */
    char *recipe_hash;    /* hex */
    char *built_at;       /* ISO 8601 */
    uint64_t size;        /* bytes on disk, all files */
} cr_image;

/* Opens a built image. CR_ENOTFOUND with "image 'x' is not built (crange
 * image build x)" when absent. *out is freed with cr_image_free. */
int cr_image_open(cr_image **out, const char *store, const char *name);
void cr_image_free(cr_image *img);
/* A deep copy (every string new); freed with cr_image_free. */
cr_image *cr_image_copy(const cr_image *img);

/* Whether a recipe images/<name>/build.sh exists in the data folder. */
bool cr_image_recipe_exists(const char *name);

/* Whether image `name` can take a role layer: a recipe whose build.sh
 * writes dpkg-status (debian-12's does; a marker file would change the
 * recipe's hash and so rebuild every image and layer made from it), or a
 * built image that has dpkg-status and apt-sources. An unknown name answers true (the load
 * refuses unknown images itself). */
bool cr_image_takes_roles(const char *name, const char *store);

/* Returns 0, or CR_EINVAL with "scenario.lua:LINE: role 'r': image 'tiny'
 * cannot take a role ..." for the first role of the scenario on an image
 * that cannot take one (validate, plan and lint call it; up refuses the
 * same when it builds the layer). */
struct cr_scenario;
#define CR_ROLE_IMAGE_REFUSED                                                                                        \
    "role '%s': image '%s' cannot take a role (it is not a Debian image with a root disk and dpkg-status); use one " \
    "such as debian-12"
int cr_image_check_roles(const struct cr_scenario *s, const char *store);

/* Whether the name is a recipe or a built image (for scenario validation). */
bool cr_image_known(const char *name, void *store);

/*
 * Builds the image unless the stored one has the same recipe hash and intact
 * files (force rebuilds anyway). *rebuilt says which happened. The recipe's
 * output goes to stderr.
 */
int cr_image_build(const char *store, const char *name, bool force, bool *rebuilt);

/* SHA-256 (hex) and size of a file, as image.json records them. */
int cr_file_sha256(char out[65], uint64_t *size, const char *path);

/* Recomputes the checksums of a built image; CR_EINVAL names a bad file. */
int cr_image_verify(const char *store, const char *name);

/* Every recipe and built image: kind "image", name, built, size, hash,
 * built_at, recipe state ("current", "stale", "no recipe", "not built");
 * then every role layer (layer.h): kind "layer". New reference. */
json_t *cr_image_list(const char *store);

#endif
