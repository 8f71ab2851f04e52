/*
 * vmwatch.h: brings back a VM that stopped during the exercise.
 *
 * A trainee is root in their VMs: `poweroff`, a kernel panic or a host that
 * kills a QEMU (the OOM killer, a mistaken kill) leaves a team without a
 * machine the scenario needs, and nobody in the room may notice. Between
 * rounds, `crange run` and `crange serve` look at every VM of the range; one
 * that is shut off for a reason of its own (crashed, destroyed, shut down,
 * failed; not a domain just defined and not yet started) in two looks in a
 * row is recorded as `vm.stopped` and reverted (`crange revert`: restored
 * from its template, or booted and provisioned again), with `vm.revert.done`
 * or `vm.revert.failed` after it. A revert runs beside the engine, one at a
 * time; a VM is brought back at most CR_VMWATCH_MAX times per engine, so
 * that one that stops again at once does not loop forever.
 *
 * Ownership: a cr_vmwatch owns its copies of the range name and the config
 * and its revert thread, which cr_vmwatch_free waits for.
 */
#ifndef CR_VMWATCH_H
#define CR_VMWATCH_H

#include "config.h"
#include "model.h"
#include "state.h"
#include "virt.h"

#define CR_VMWATCH_MAX 3

typedef struct cr_vmwatch cr_vmwatch;

/* The VMs of `teams` teams of scenario s (borrowed; must outlive it). */
cr_vmwatch *cr_vmwatch_new(const cr_config *c, const char *range, const cr_scenario *s, int teams);

struct cr_engine;

/* Where a VM is: the connection to its host (borrowed). */
typedef struct cr_virt *(*cr_vmwatch_where)(const struct cr_engine *e, int team, const char *vm);

/* One look at every VM through its host's connection (where(ctx, team,
 * vm), worker 0); records through st. Errors
 * (libvirt restarting) are logged, never fatal: the next look tries again. */
void cr_vmwatch_poll(cr_vmwatch *w, cr_vmwatch_where where, const struct cr_engine *ctx, cr_state *st);

/* Waits for a revert still running, then frees. NULL is fine. */
void cr_vmwatch_free(cr_vmwatch *w);

#endif
