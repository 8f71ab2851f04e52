/*
 * accel.h: choosing between KVM and TCG. /dev/kvm existing proves little:
 * on some hosts KVM guests hang or QEMU aborts on an MSR. So `auto` trusts
 * KVM only after a short, timed probe boot of the tiny image reached its
 * guest agent; the verdict is cached in <state>/accel.json per libvirt host,
 * keyed by the libvirt and QEMU versions, until they change.
 */
#ifndef CRANGE_ACCEL_H
#define CRANGE_ACCEL_H

#include "config.h"
#include "image.h"
#include "virt.h"

#include <stdbool.h>

#define CR_PROBE_TIMEOUT_S 20

typedef struct cr_probe {
    bool ok;
    double seconds;      /* from start until the agent answered (or gave up) */
    char detail[512];    /* why it failed, or "agent answered" */
} cr_probe;

/* Whether libvirt offers the kvm domain type on this host at all. */
bool cr_accel_kvm_offered(cr_virt *v);

/* Boots img as a transient, auto-destroyed domain of domtype ("kvm" or
 * "qemu") and waits up to timeout_s for its guest agent. Returns 0 whatever
 * the verdict (in *out); negative only when the probe could not be tried. */
int cr_accel_probe(cr_probe *out, cr_virt *v, const cr_image *img, const char *domtype, int timeout_s);

/* Records a KVM probe's verdict for `--accel auto` (accel.json). */
void cr_accel_remember(const cr_config *c, cr_virt *v, const cr_probe *p);

/*
 * Resolves c->accel into a libvirt domain type, "kvm" or "qemu" (TCG), in
 * out. For auto it uses the cache or runs the probe (building the tiny image
 * if needed). *why (may be NULL) gets a short reason, a static string.
 */
int cr_accel_resolve(char out[8], const cr_config *c, cr_virt *v, const char **why);

#endif
