/*
 * agent.c: the guest-agent calls of agent.h. Commands are built with jansson
 * (never by pasting strings), payloads are base64 via libsodium, and
 * guest-exec is polled with a short, growing interval.
 */
#include "agent.h"

#include "err.h"
#include "util.h"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define READ_OPEN_TRIES 3 /* guest-file-open for reading, when unanswered */
#define STATUS_TRIES 6    /* guest-exec-status in a row, when unanswered */

static char *b64_encode(const void *data, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = cr_xmalloc(n);
    sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

static int b64_decode(char **out, size_t *len, const char *b64)
{
    size_t in = strlen(b64);
    char *buf = cr_xmalloc(in * 3 / 4 + 2);
    size_t n = 0;
    if (sodium_base642bin((unsigned char *)buf, in * 3 / 4 + 1, b64, in, "\n\r ", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(buf);
        return cr_error_set(CR_ERROR, "guest agent sent bad base64");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int cr_agent_command(json_t **ret, virDomainPtr dom, json_t *cmd, int timeout_s)
{
    if (ret)
        *ret = NULL;
    char *text = json_dumps(cmd, JSON_COMPACT);
    char *reply = virDomainQemuAgentCommand(dom, text, timeout_s, 0);
    int rc = 0;
    if (!reply) {
        /* Copy libvirt's message first: most libvirt calls, even
         * virDomainGetName, reset the thread's last error. */
        char *lverr = cr_xstrdup(virGetLastErrorMessage());
        int code = virGetLastErrorCode();
        const char *what = json_string_value(json_object_get(cmd, "execute"));
        rc = cr_error_set(code == VIR_ERR_AGENT_UNRESPONSIVE ? CR_ETIMEOUT : CR_ERROR, "%s: %s: %s",
                          virDomainGetName(dom), what ? what : "agent", lverr);
        free(lverr);
        goto cleanup;
    }
    json_t *j = json_loads(reply, 0, NULL);
    json_t *r = json_object_get(j, "return");
    if (!r) {
        rc = cr_error_set(CR_ERROR, "%s: guest agent reply without a result: %.200s", virDomainGetName(dom), reply);
    } else if (ret) {
        *ret = json_incref(r);
    }
    json_decref(j);
cleanup:
    free(reply);
    free(text);
    return rc;
}

int cr_agent_ping(virDomainPtr dom, int timeout_s)
{
    json_t *cmd = json_pack("{s:s}", "execute", "guest-ping");
    int rc = cr_agent_command(NULL, dom, cmd, timeout_s);
    json_decref(cmd);
    return rc;
}

int cr_agent_wait(virDomainPtr dom, int timeout_s)
{
    int64_t deadline = cr_now_ms() + (int64_t)timeout_s * 1000;
    int interval = 100;
    for (;;) {
        if (cr_agent_ping(dom, 2) == 0)
            return 0;
        if (cr_now_ms() + interval > deadline) {
            char *last = cr_xstrdup(cr_error_message());
            cr_error_clear();
            int rc = cr_error_set(CR_ETIMEOUT, "%s: the guest agent did not answer within %d s (%s)",
                                  virDomainGetName(dom), timeout_s, last);
            free(last);
            return rc;
        }
        cr_error_clear();
        cr_sleep_ms(interval);
        if (interval < 500)
            interval += 100;
    }
}

void cr_exec_result_free(cr_exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

int cr_agent_exec(cr_exec_result *res, virDomainPtr dom, const char *const *argv, const void *input,
                  size_t input_len, int timeout_s)
{
    memset(res, 0, sizeof *res);
    json_t *args = json_array();
    for (size_t i = 1; argv[i]; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_t *cmd = json_pack("{s:s, s:{s:s, s:o, s:b}}", "execute", "guest-exec", "arguments", "path", argv[0], "arg",
                            args, "capture-output", 1);
    if (input) {
        char *b64 = b64_encode(input, input_len);
        json_object_set_new(json_object_get(cmd, "arguments"), "input-data", json_string(b64));
        free(b64);
    }
    json_t *ret = NULL;
    int rc = cr_agent_command(&ret, dom, cmd, timeout_s > 0 ? timeout_s : 10);
    json_decref(cmd);
    if (rc < 0)
        return rc;
    json_int_t pid = json_integer_value(json_object_get(ret, "pid"));
    json_decref(ret);

    int64_t deadline = cr_now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : 120) * 1000;
    int interval = 5;
    json_t *status = json_pack("{s:s, s:{s:I}}", "execute", "guest-exec-status", "arguments", "pid", pid);
    int unanswered = 0;
    for (;;) {
        rc = cr_agent_command(&ret, dom, status, 10);
        if (rc == CR_ETIMEOUT && ++unanswered < STATUS_TRIES && cr_now_ms() < deadline) {
            /* Asking again is harmless, and on a loaded host (40 TCG guests
             * on 2 cores) one call can miss libvirt's guest-sync while the
             * command goes on. A guest going down ("not connected") fails
             * at once each time, so the tries cost it only seconds. */
            cr_error_clear();
            cr_sleep_ms(500);
            continue;
        }
        if (rc < 0)
            break;
        unanswered = 0;
        if (json_is_true(json_object_get(ret, "exited"))) {
            res->exit_code = (int)json_integer_value(json_object_get(ret, "exitcode"));
            res->signal = (int)json_integer_value(json_object_get(ret, "signal"));
            res->truncated = json_is_true(json_object_get(ret, "out-truncated")) ||
                             json_is_true(json_object_get(ret, "err-truncated"));
            const char *o = json_string_value(json_object_get(ret, "out-data"));
            const char *e = json_string_value(json_object_get(ret, "err-data"));
            rc = b64_decode(&res->out, &res->out_len, o ? o : "");
            if (rc == 0)
                rc = b64_decode(&res->err, &res->err_len, e ? e : "");
            json_decref(ret);
            break;
        }
        json_decref(ret);
        if (cr_now_ms() >= deadline) {
            rc = cr_error_set(CR_ETIMEOUT, "%s: %s did not finish within %d s", virDomainGetName(dom), argv[0],
                              timeout_s);
            break;
        }
        cr_sleep_ms(interval);
        if (interval < 200)
            interval *= 2;
    }
    json_decref(status);
    if (rc < 0)
        cr_exec_result_free(res);
    return rc;
}

/*
 * "$@" under the guest's step lock. The holder's PID is in the folder, so a
 * lock left by a shell that is gone (killed, or its guest reset without
 * clearing /run) is taken over at once rather than waited out. A guest
 * without a writable /run runs steps unlocked, as before.
 */
static const char step_lock_script[] =
    "l=/run/crange-step.lock w=0 own=\n"
    "while [ -d /run ] && [ -w /run ]; do\n"
    "  if mkdir \"$l\" 2>/dev/null; then echo $$ > \"$l/pid\"; own=1; break; fi\n"
    "  p=$(cat \"$l/pid\" 2>/dev/null) || p=\n"
    "  if [ -n \"$p\" ] && ! kill -0 \"$p\" 2>/dev/null; then rm -rf \"$l\"; continue; fi\n"
    "  w=$((w + 1)); [ $w -le 100 ] || break; sleep 1\n"
    "done\n"
    "[ -z \"$own\" ] || trap 'rm -rf \"$l\"' EXIT\n"
    "\"$@\"\n";

int cr_agent_exec_step(cr_exec_result *res, virDomainPtr dom, const char *const *argv, const void *input,
                       size_t input_len, int timeout_s)
{
    size_t n = 0;
    while (argv[n])
        n++;
    const char **wrapped = cr_xcalloc(n + 5, sizeof *wrapped);
    wrapped[0] = "/bin/sh";
    wrapped[1] = "-c";
    wrapped[2] = step_lock_script;
    wrapped[3] = "crange-step";
    memcpy(&wrapped[4], argv, n * sizeof *argv);
    int rc = cr_agent_exec(res, dom, wrapped, input, input_len, timeout_s);
    free(wrapped);
    return rc;
}

int cr_agent_read_file(char **out, size_t *len, virDomainPtr dom, const char *path, size_t max)
{
    *out = NULL;
    *len = 0;
    json_t *cmd = json_pack("{s:s, s:{s:s, s:s}}", "execute", "guest-file-open", "arguments", "path", path, "mode",
                            "r");
    json_t *ret = NULL;
    int rc = cr_agent_command(&ret, dom, cmd, 10);
    /* Opening to read changes nothing in the guest, so an unanswered open
     * is asked again (at worst qemu-ga keeps one idle handle): the demo
     * once failed on one such call beside a 40-guest class. */
    for (int tries = 1; rc == CR_ETIMEOUT && tries < READ_OPEN_TRIES; tries++) {
        cr_error_clear();
        cr_sleep_ms(1000);
        rc = cr_agent_command(&ret, dom, cmd, 10);
    }
    json_decref(cmd);
    if (rc < 0) {
        if (strstr(cr_error_message(), "No such file")) {
            cr_error_clear();
            rc = cr_error_set(CR_ENOTFOUND, "%s: %s: no such file", virDomainGetName(dom), path);
        }
        return rc;
    }
    json_int_t handle = json_integer_value(ret);
    json_decref(ret);

    cr_buf b = {0};
    json_t *rd = json_pack("{s:s, s:{s:I, s:i}}", "execute", "guest-file-read", "arguments", "handle", handle,
                           "count", 48 * 1024);
    for (;;) {
        rc = cr_agent_command(&ret, dom, rd, 10);
        if (rc < 0)
            break;
        const char *data = json_string_value(json_object_get(ret, "buf-b64"));
        char *chunk = NULL;
        size_t n = 0;
        rc = b64_decode(&chunk, &n, data ? data : "");
        if (rc == 0)
            cr_buf_addn(&b, chunk, n);
        free(chunk);
        bool eof = json_is_true(json_object_get(ret, "eof")) || n == 0;
        json_decref(ret);
        if (rc < 0 || eof)
            break;
        if (b.len > max) {
            rc = cr_error_set(CR_ELIMIT, "%s: %s is larger than %zu bytes", virDomainGetName(dom), path, max);
            break;
        }
    }
    json_decref(rd);
    json_t *cl = json_pack("{s:s, s:{s:I}}", "execute", "guest-file-close", "arguments", "handle", handle);
    json_t *ignored = NULL;
    if (cr_agent_command(&ignored, dom, cl, 10) < 0 && rc == 0)
        rc = CR_ERROR;
    json_decref(ignored);
    json_decref(cl);
    if (rc < 0) {
        cr_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = cr_buf_steal(&b);
    return 0;
}

int cr_agent_write_file(virDomainPtr dom, const char *path, const void *data, size_t len, unsigned mode,
                        int timeout_s)
{
    /* One guest-exec with the content on stdin: works on any guest with a
     * POSIX shell, creates parent folders and sets the mode in one call.
     * The temporary file is the shell's own ($$), as well as the write
     * holding the step lock: a write of an `up` killed with -9 goes on in
     * the guest, and with one shared name and no lock, the next `up`'s
     * write of the same file took the other's file in its mv, and the
     * other's chmod failed (CI, 2026-12-05). */
    char modes[8];
    snprintf(modes, sizeof modes, "%o", mode & 07777);
    const char *argv[] = {"/bin/sh", "-c",
                          "set -e; t=\"$1.crange-tmp.$$\"; mkdir -p \"$(dirname \"$1\")\";"
                          " (umask 077; cat > \"$t\"); chmod \"$2\" \"$t\"; mv -f \"$t\" \"$1\"",
                          "sh", path, modes, NULL};
    cr_exec_result res;
    int rc = cr_agent_exec_step(&res, dom, argv, data, len, timeout_s);
    if (rc == 0 && (res.exit_code != 0 || res.signal))
        rc = cr_error_set(CR_ERROR, "%s: writing %s failed: %.*s", virDomainGetName(dom), path, (int)res.err_len,
                          res.err ? res.err : "");
    cr_exec_result_free(&res);
    return rc;
}
