/*
 * config.h: the global options every command shares, resolved once from
 * flags, then environment variables, then defaults:
 *
 *   --state DIR      CRANGE_STATE     /var/lib/crange (root), ~/.local/state/crange
 *   --connect URI    CRANGE_CONNECT   qemu:///system
 *   --accel MODE     CRANGE_ACCEL     auto (kvm only where a probe boot proved it works)
 *   --jobs N         CRANGE_JOBS      8 parallel libvirt operations
 *   --json           CRANGE_JSON=1    machine-readable output
 *
 * Ownership: a cr_config owns its strings; cr_config_free releases them.
 */
#ifndef CRANGE_CONFIG_H
#define CRANGE_CONFIG_H

#include <stdbool.h>

typedef struct cr_config {
    char *state_dir;   /* absolute */
    char *connect;
    char *accel;       /* "auto", "kvm" or "tcg" */
    int jobs;
    bool json;
    bool progress;     /* draw a progress bar (stdout is a TTY, not --json) */
} cr_config;

/* Fills defaults from the environment. Flags then override fields. */
void cr_config_defaults(cr_config *c);
/* Validates and normalises (absolute state folder, known accel). Makes the
 * state folder when missing, mode 0711 (paths.h). */
int cr_config_finish(cr_config *c);
void cr_config_free(cr_config *c);

/* Paths under the state folder (new strings). */
char *cr_config_images(const cr_config *c);              /* <state>/images */
char *cr_config_overlays(const cr_config *c, const char *range); /* <state>/overlays/<range> */
char *cr_config_templates(const cr_config *c);           /* <state>/templates (instant clones) */

#endif
