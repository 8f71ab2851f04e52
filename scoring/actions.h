/*
 * actions.h: collects trainee actions (shell command lines) from every VM's
 * org.crange.actions.0 virtio-serial channel and stores them as
 * action.command events.
 *
 * The guest side (images/tiny/rootfs/sbin/crange-action{,d}) keeps a spool of
 * JSON lines numbered 1, 2, ... and resends everything past the last
 * acknowledged line. The collector stores lines in order, one spool at a
 * time per VM, with the dedupe key action:<team>:<vm>:<spool>:<seq>, and
 * acknowledges "ack N" only after the lines are committed. So a collector
 * killed at any moment and restarted loses nothing and stores nothing twice.
 *
 * Channels are read through libvirt streams (virDomainOpenChannel), so the
 * collector also works for VMs on remote hosts. It runs libvirt's default
 * event loop in its own thread and reopens channels of VMs that restart.
 */
#ifndef CRANGE_ACTIONS_H
#define CRANGE_ACTIONS_H

#include "actionlog.h"

#include <stddef.h>

typedef struct cr_actions cr_actions;

typedef struct cr_actions_vm {
    int team;
    const char *vm;      /* name in the scenario */
    const char *domain;  /* libvirt domain name */
} cr_actions_vm;

/*
 * Starts collecting for the given VMs (copied). db_path is the range
 * database (the collector opens its own handle). uri is the libvirt host.
 * Must be called before any other libvirt connection of the process is
 * opened, because it registers libvirt's default event loop. limits apply
 * to each VM (NULL: CR_ACTIONLOG_DEFAULTS).
 */
int cr_actions_start(cr_actions **out, const char *uri, const char *db_path, const cr_actions_vm *vms, size_t n,
                     const cr_actionlog_limits *limits);

/* Stops the thread, flushes, closes streams; accepts NULL. Returns how many
 * actions were stored in this run. */
size_t cr_actions_stop(cr_actions *a);

#endif
