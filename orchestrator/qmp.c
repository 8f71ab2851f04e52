/*
 * qmp.c: the short-lived second QMP monitor of qmp.h. One thread per QEMU
 * start: connect (retrying while the socket is not there yet), write
 * qmp_capabilities and migrate-set-capabilities, read QEMU's greeting and
 * its two answers with jansson, close. What QEMU sends is read with a cap
 * and a deadline: a QEMU may run a hostile guest's code.
 */
#include "qmp.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (64 * 1024) /* the greeting and two short answers */

struct cr_qmp_arm {
    char *path;
    int timeout_ms;
    atomic_int cancel;
    pthread_t thread;
    int rc;          /* the thread's result */
    char why[512];   /* its message (messages are per thread) */
};

static void *arm_fail(cr_qmp_arm *a, int rc, const char *fmt, const char *detail)
{
    a->rc = rc;
    snprintf(a->why, sizeof a->why, fmt, a->path, detail ? detail : "");
    return NULL;
}

/* Reads QEMU's lines until both commands are answered: 0, or the first
 * error QEMU gave. */
static void *read_answers(cr_qmp_arm *a, int fd, double deadline)
{
    char *buf = cr_xmalloc(REPLY_MAX + 1);
    size_t len = 0;
    int answers = 0;
    while (answers < 2) {
        char *nl;
        while (answers < 2 && (nl = memchr(buf, '\n', len))) {
            *nl = '\0';
            json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
            json_t *err = json_object_get(j, "error");
            if (err) {
                const char *desc = json_string_value(json_object_get(err, "desc"));
                char d[256];
                snprintf(d, sizeof d, "%.200s", desc ? desc : "no description");
                json_decref(j);
                free(buf);
                return arm_fail(a, CR_ERROR, "%s: QEMU refused x-ignore-shared: %s", d);
            }
            if (json_object_get(j, "return"))
                answers++;
            json_decref(j); /* the greeting, or an event */
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
        }
        if (answers == 2)
            break;
        int wait = (int)((deadline - cr_now_seconds()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (len == REPLY_MAX) {
            free(buf);
            return arm_fail(a, CR_EINVAL, "%s: QEMU's monitor sent an overlong line%s", NULL);
        }
        if (wait <= 0 || poll(&p, 1, wait) <= 0) {
            free(buf);
            return arm_fail(a, CR_ETIMEOUT, "%s: QEMU's monitor did not answer%s", NULL);
        }
        ssize_t n = read(fd, buf + len, REPLY_MAX - len);
        if (n <= 0) {
            free(buf);
            return arm_fail(a, CR_ERROR, "%s: QEMU closed its monitor%s", NULL);
        }
        len += (size_t)n;
    }
    free(buf);
    a->rc = 0;
    return NULL;
}

static void *arm_main(void *arg)
{
    cr_qmp_arm *a = arg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", a->path);
    double deadline = cr_now_seconds() + a->timeout_ms / 1000.0;
    int fd = -1;
    for (;;) {
        if (atomic_load(&a->cancel))
            return arm_fail(a, CR_ENOTFOUND, "%s: QEMU did not start%s", NULL);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return arm_fail(a, CR_ERROR, "%s: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        int e = errno;
        close(fd);
        fd = -1;
        if (e != ENOENT && e != ECONNREFUSED)
            return arm_fail(a, CR_ERROR, "%s: %s", strerror(e));
        if (cr_now_seconds() > deadline)
            return arm_fail(a, CR_ENOTFOUND, "%s: no QEMU listened there in time%s", NULL);
        usleep(5000);
    }
    /* Written before QEMU reads anything: queued ahead of libvirt's commands. */
    static const char cmds[] =
        "{\"execute\":\"qmp_capabilities\"}\n"
        "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
        "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}\n";
    size_t sent = 0;
    while (sent < sizeof cmds - 1) {
        ssize_t n = send(fd, cmds + sent, sizeof cmds - 1 - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            close(fd);
            return arm_fail(a, CR_ERROR, "%s: writing to QEMU's monitor: %s", strerror(errno));
        }
        sent += (size_t)n;
    }
    read_answers(a, fd, cr_now_seconds() + 60);
    close(fd);
    return NULL;
}

int cr_qmp_arm_start(cr_qmp_arm **out, const char *path, int timeout_ms)
{
    *out = NULL;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path)
        return cr_error_set(CR_EINVAL, "%s: too long for a socket", path);
    cr_qmp_arm *a = cr_xcalloc(1, sizeof *a);
    a->path = cr_xstrdup(path);
    a->timeout_ms = timeout_ms;
    a->rc = CR_ERROR;
    unlink(path); /* one left by a QEMU killed before anyone connected */
    if (pthread_create(&a->thread, NULL, arm_main, a) != 0) {
        free(a->path);
        free(a);
        return cr_error_set(CR_ERROR, "cannot start a thread for %s", path);
    }
    *out = a;
    return 0;
}

int cr_qmp_arm_end(cr_qmp_arm *a, int cancel)
{
    if (!a)
        return 0;
    if (cancel)
        atomic_store(&a->cancel, 1);
    pthread_join(a->thread, NULL);
    unlink(a->path);
    int rc = a->rc;
    if (rc < 0)
        cr_error_set(rc, "%s", a->why);
    free(a->path);
    free(a);
    return rc;
}
