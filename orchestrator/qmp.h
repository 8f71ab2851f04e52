/*
 * qmp.h: a second QMP monitor that crange holds for a moment while QEMU
 * starts, to turn on the migration capability x-ignore-shared, which
 * libvirt 9.0 does not know (template.h: clones that map their RAM from the
 * template's file). QEMU 7.2 offers no command-line switch for it, and the
 * incoming side must have it before libvirt starts the incoming migration.
 *
 * The domain XML gives QEMU `-qmp unix:PATH,server=on,wait=on`: QEMU then
 * waits, before it runs its main loop, until someone connects there. The
 * thread started here connects as soon as the socket appears and writes its
 * two commands at once, so they are queued ahead of anything libvirt sends
 * on its own monitor. Should they ever come too late, the restore fails
 * with QEMU's "Capability x-ignore-shared is off" and nothing is loaded.
 */
#ifndef CRANGE_QMP_H
#define CRANGE_QMP_H

typedef struct cr_qmp_arm cr_qmp_arm;

/* Starts the thread for socket `path` (a copy is kept). It gives up after
 * timeout_ms without a QEMU there. *out is owned by the caller, who must
 * end it with cr_qmp_arm_end. */
int cr_qmp_arm_start(cr_qmp_arm **out, const char *path, int timeout_ms);

/* Waits for the thread and frees it (NULL is fine). With `cancel` (QEMU did
 * not start), a thread still waiting for the socket stops at once. Returns 0
 * when QEMU accepted the capability, CR_ENOTFOUND when no QEMU came, or
 * another negative code with the reason set; the socket file is removed in
 * every case (QEMU keeps listening on its descriptor; nothing needs the
 * name again). */
int cr_qmp_arm_end(cr_qmp_arm *a, int cancel);

#endif
