/*
 * agent.h: talking to the QEMU guest agent inside a VM, through libvirt
 * (virDomainQemuAgentCommand), so it works the same on local and remote
 * hosts. Used by provisioning, `crange exec`, status and, later, objective
 * checks.
 *
 * Ownership: results own their buffers; free them with cr_exec_result_free.
 * Domains are borrowed.
 */
#ifndef CRANGE_AGENT_H
#define CRANGE_AGENT_H

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>

/* Sends one command ({"execute":..., "arguments":...}, borrowed) and returns
 * the "return" member as a new reference in *ret (may be NULL to ignore). */
int cr_agent_command(json_t **ret, virDomainPtr dom, json_t *cmd, int timeout_s);

/* 0 when the agent answers guest-ping within timeout_s. */
int cr_agent_ping(virDomainPtr dom, int timeout_s);

/* Polls guest-ping until it answers or timeout_s passes (CR_ETIMEOUT). */
int cr_agent_wait(virDomainPtr dom, int timeout_s);

typedef struct cr_exec_result {
    int exit_code;    /* valid when signal == 0 */
    int signal;       /* the signal that killed it, or 0 */
    char *out;        /* NUL-terminated; may contain NULs before out_len */
    size_t out_len;
    char *err;
    size_t err_len;
    bool truncated;   /* the agent dropped output beyond its limit */
} cr_exec_result;

/*
 * Runs argv[0] (an absolute path or a name in the guest's PATH) with the
 * given stdin (may be NULL), waits for it up to timeout_s, and captures its
 * output. Returns 0 when it ran (whatever its exit code), CR_ETIMEOUT when
 * it did not finish, CR_ERROR when it could not be started.
 */
int cr_agent_exec(cr_exec_result *res, virDomainPtr dom, const char *const *argv, const void *input,
                  size_t input_len, int timeout_s);
void cr_exec_result_free(cr_exec_result *res);

/*
 * cr_agent_exec for crange's own steps in a guest (provisioning, file writes,
 * the reseal of a clone): they run one at a time in the guest, under the lock
 * folder /run/crange-step.lock. A step started by an `up` killed with -9 goes
 * on in the guest, and the next `up` runs the same steps: without the lock
 * two copies of one step (say, busybox user{} appending to /etc/passwd) could
 * interleave. A step waits at most 100 s for the lock (then runs anyway), and
 * takes over a lock whose holder is no longer running.
 */
int cr_agent_exec_step(cr_exec_result *res, virDomainPtr dom, const char *const *argv, const void *input,
                       size_t input_len, int timeout_s);

/* Reads a whole guest file, at most max bytes (CR_ELIMIT beyond). Returns
 * CR_ENOTFOUND when the file does not exist. */
int cr_agent_read_file(char **out, size_t *len, virDomainPtr dom, const char *path, size_t max);

/* Writes a guest file (creating parent folders) with the given mode, as a
 * step (cr_agent_exec_step). */
int cr_agent_write_file(virDomainPtr dom, const char *path, const void *data, size_t len, unsigned mode,
                        int timeout_s);

#endif
