/*
 * provision.h: applies a VM's provisioning steps (files, users, commands)
 * through the guest agent, once.
 *
 * "Once" is recorded inside the guest: the last step writes the digest of
 * all steps to /etc/crange/provisioned. A guest whose marker matches is left
 * alone; one without it (new, or rebooted from a volatile image) is
 * provisioned again. So `up` after a crash half-way re-runs the steps of the
 * VMs that did not finish: commands should be safe to run twice.
 *
 * Images that do not take addresses on the kernel command line (boot=disk)
 * get their static addresses here first.
 */
#ifndef CRANGE_PROVISION_H
#define CRANGE_PROVISION_H

#include "image.h"
#include "plan.h"

#include <libvirt/libvirt.h>
#include <stdbool.h>

#define CR_PROVISION_MARKER "/etc/crange/provisioned"
/* "<digest of the first N steps> N": written by a template (template.h), so
 * that its clones run only their own remaining steps. */
#define CR_PROVISION_PREFIX_MARKER "/etc/crange/provisioned-prefix"

/* The digest of a VM's steps (hex, 64 chars + NUL). File sources are read
 * from the scenario folder, so changing a file changes the digest. */
int cr_provision_digest(char out[65], const cr_scenario *s, const cr_plan_vm *pv);

/* The digest of the VM's first n steps (the template a clone shares). */
int cr_provision_prefix_digest(char out[65], const cr_scenario *s, const cr_plan_vm *pv, size_t n);

/* How many first steps all of vms (the same VM of several teams) share:
 * the steps a template runs, before any team's own value. */
size_t cr_provision_shared_steps(const cr_plan_vm *const *vms, size_t n);

/* A template's provisioning: addresses (disk-boot images) and the first n
 * steps, then the prefix marker. */
int cr_provision_template(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, const cr_image *img,
                          size_t n);

/* Provisions the VM unless its marker matches; a clone whose prefix marker
 * matches its own first steps runs only the rest. *applied says whether steps
 * ran. Errors name the step: "scenario.lua:12: team 1 vm 'router': ...". */
int cr_provision_vm(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, const cr_image *img,
                    bool *applied);

#endif
