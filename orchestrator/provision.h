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

/* The digest of a VM's steps (hex, 64 chars + NUL). File sources are read
 * from the scenario folder, so changing a file changes the digest. */
int cr_provision_digest(char out[65], const cr_scenario *s, const cr_plan_vm *pv);

/* Provisions the VM unless its marker matches. *applied says whether steps
 * ran. Errors name the step: "scenario.lua:12: team 1 vm 'router': ...". */
int cr_provision_vm(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, const cr_image *img,
                    bool *applied);

#endif
