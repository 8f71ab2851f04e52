/*
 * proc.c: fork/exec with optional capture of stdout and stderr, read with
 * poll() so that neither pipe can fill up and stall the child.
 */
#include "proc.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int cr_proc_run(const char *const *argv, char **out, char **err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (out && pipe2(po, O_CLOEXEC) < 0)
        return cr_error_set(CR_ERROR, "pipe: %s", strerror(errno));
    if (err && pipe2(pe, O_CLOEXEC) < 0) {
        if (out) {
            close(po[0]);
            close(po[1]);
        }
        return cr_error_set(CR_ERROR, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0) close(po[i]);
            if (pe[i] >= 0) close(pe[i]);
        }
        return cr_error_set(CR_ERROR, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        if (out)
            dup2(po[1], 1);
        else
            dup2(2, 1);
        if (err)
            dup2(pe[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (out)
        close(po[1]);
    if (err)
        close(pe[1]);

    cr_buf bo = {0}, be = {0};
    struct pollfd fds[2];
    int nfds = 0;
    if (out)
        fds[nfds++] = (struct pollfd){.fd = po[0], .events = POLLIN};
    if (err)
        fds[nfds++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
    int open_fds = nfds;
    while (open_fds > 0) {
        if (poll(fds, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < nfds; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                cr_buf_addn(out && fds[i].fd == po[0] ? &bo : &be, chunk, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out)
        *out = cr_buf_steal(&bo);
    if (err)
        *err = cr_buf_steal(&be);
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 127)
            return cr_error_set(CR_ERROR, "%s: could not run (not installed?)", argv[0]);
        return WEXITSTATUS(status);
    }
    return cr_error_set(CR_ERROR, "%s: killed by signal %d", argv[0], WTERMSIG(status));
}
