/*
 * provision.c: the provisioning steps of provision.h, each one guest-agent
 * exec (files go in on stdin), so they work on any guest with a POSIX shell:
 * the busybox tiny image and Debian alike.
 */
#include "provision.h"

#include "agent.h"
#include "err.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A step's time limit unless the scenario gives one, and that of crange's
 * own steps (addresses, file copies, markers). These had 30 and 60 s until
 * a class of 5 teams of cnc-takedown booting at once on 2 cores under TCG
 * had routers that took over 30 s to answer one of them (issue 12). */
#define DEFAULT_STEP_TIMEOUT_S 120

static void hash_str(crypto_generichash_state *h, const char *s)
{
    if (!s)
        s = "";
    crypto_generichash_update(h, (const unsigned char *)s, strlen(s) + 1);
}

/* The digest of the first n steps (n = all: the VM's provisioning digest). */
static int digest_steps(char out[65], const cr_scenario *s, const cr_plan_vm *pv, size_t n)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    hash_str(&h, "crange.provision.v1");
    for (size_t i = 0; i < n && i < pv->vm->n_steps; i++) {
        const cr_step *st = &pv->vm->steps[i];
        char kind[8];
        snprintf(kind, sizeof kind, "%d", st->kind);
        hash_str(&h, kind);
        hash_str(&h, st->dest);
        hash_str(&h, st->user);
        hash_str(&h, st->password);
        hash_str(&h, st->shell);
        for (size_t g = 0; st->groups && st->groups[g]; g++)
            hash_str(&h, st->groups[g]);
        for (size_t a = 0; st->argv && st->argv[a]; a++)
            hash_str(&h, st->argv[a]);
        char mode[16];
        snprintf(mode, sizeof mode, "%o", st->mode);
        hash_str(&h, mode);
        if (st->content)
            crypto_generichash_update(&h, (const unsigned char *)st->content, st->content_len);
        if (st->src) {
            char *path = cr_path_join(s->dir, st->src), *data = NULL;
            size_t len = 0;
            int rc = cr_read_file(&data, &len, path);
            free(path);
            if (rc < 0)
                return rc;
            crypto_generichash_update(&h, (const unsigned char *)data, len);
            free(data);
        }
    }
    unsigned char d[32];
    crypto_generichash_final(&h, d, sizeof d);
    cr_hex(out, d, sizeof d);
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool strv_eq(char *const *a, char *const *b)
{
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return (!a || !a[i]) && (!b || !b[i]);
}

/* Whether two steps do the same thing (a file's source is the same path in
 * the same scenario folder, so the same bytes). */
static bool step_eq(const cr_step *a, const cr_step *b)
{
    return a->kind == b->kind && str_eq(a->src, b->src) && a->content_len == b->content_len &&
           (a->content == b->content || (a->content && b->content && !memcmp(a->content, b->content, a->content_len))) &&
           str_eq(a->dest, b->dest) && a->mode == b->mode && str_eq(a->user, b->user) &&
           str_eq(a->password, b->password) && str_eq(a->shell, b->shell) && strv_eq(a->groups, b->groups) &&
           strv_eq(a->argv, b->argv) && a->timeout_s == b->timeout_s;
}

size_t cr_provision_shared_steps(const cr_plan_vm *const *vms, size_t n)
{
    if (n == 0)
        return 0;
    size_t shared = vms[0]->vm->n_steps;
    for (size_t v = 1; v < n; v++) {
        size_t k = 0;
        while (k < shared && k < vms[v]->vm->n_steps && step_eq(&vms[0]->vm->steps[k], &vms[v]->vm->steps[k]))
            k++;
        shared = k;
    }
    return shared;
}

int cr_provision_digest(char out[65], const cr_scenario *s, const cr_plan_vm *pv)
{
    return digest_steps(out, s, pv, pv->vm->n_steps);
}

int cr_provision_prefix_digest(char out[65], const cr_scenario *s, const cr_plan_vm *pv, size_t n)
{
    return digest_steps(out, s, pv, n);
}

/* Re-reports the pending error as the failure of a step, at its line. */
static int step_error(const cr_plan_vm *pv, const cr_where *w, const char *what)
{
    char *inner = cr_xstrdup(cr_error_message());
    cr_error_clear();
    int rc = cr_model_error(w, "team %d vm '%s': %s: %s", pv->team, pv->vm->name, what, inner);
    free(inner);
    return rc;
}

/* Runs argv with optional stdin, under the guest's step lock
 * (cr_agent_exec_step); a non-zero exit is an error naming the step. */
static int run_step(virDomainPtr dom, const cr_plan_vm *pv, const cr_where *w, const char *what,
                    const char *const *argv, const void *input, size_t input_len, int timeout_s)
{
    cr_exec_result res;
    int rc = cr_agent_exec_step(&res, dom, argv, input, input_len,
                                timeout_s > 0 ? timeout_s : DEFAULT_STEP_TIMEOUT_S);
    if (rc < 0)
        return step_error(pv, w, what);
    if (res.signal || res.exit_code != 0) {
        /* Keep the first line of stderr (or stdout) as the reason. */
        const char *why = res.err_len ? res.err : res.out ? res.out : "";
        size_t n = strcspn(why, "\n");
        if (res.signal)
            rc = cr_model_error(w, "team %d vm '%s': %s was killed by signal %d", pv->team, pv->vm->name, what,
                                res.signal);
        else
            rc = cr_model_error(w, "team %d vm '%s': %s exited with %d%s%.*s", pv->team, pv->vm->name, what,
                                res.exit_code, n ? ": " : "", (int)(n > 300 ? 300 : n), why);
    }
    cr_exec_result_free(&res);
    return rc;
}

/* Creates a user on Debian (useradd/chpasswd) or busybox (files + mkpasswd).
 * The password arrives on stdin so it never shows in a process list. The
 * step lock keeps the same step of an `up` killed with -9, still running in
 * the guest, from appending the user a second time beside this one. */
static const char user_script[] =
    "set -e\n"
    "name=$1 shell=$2 groups=$3\n"
    "IFS= read -r pw || true\n"
    "if command -v useradd >/dev/null 2>&1; then\n"
    "  id \"$name\" >/dev/null 2>&1 || useradd -m -s \"$shell\" \"$name\"\n"
    "  for g in $groups; do getent group \"$g\" >/dev/null || groupadd \"$g\"; usermod -aG \"$g\" \"$name\"; done\n"
    "  if [ -n \"$pw\" ]; then echo \"$name:$pw\" | chpasswd; else passwd -l \"$name\" >/dev/null; fi\n"
    "else\n"
    "  if ! grep -q \"^$name:\" /etc/passwd; then\n"
    "    uid=1000; while cut -d: -f3 /etc/passwd | grep -qx \"$uid\"; do uid=$((uid + 1)); done\n"
    "    mkdir -p \"/home/$name\"\n"
    "    echo \"$name:!:$uid:$uid::/home/$name:$shell\" >> /etc/passwd\n"
    "    echo \"$name:x:$uid:\" >> /etc/group\n"
    "    chown \"$uid:$uid\" \"/home/$name\"\n"
    "  fi\n"
    "  for g in $groups; do grep -q \"^$g:\" /etc/group || echo \"$g:x:$(( $(cut -d: -f3 /etc/group | sort -n | tail -1) + 1 )):\" >> /etc/group;\n"
    "    sed -i \"/^$g:/{/[:,]$name\\(,\\|$\\)/!s/\\(:[^:]*\\)$/\\1,$name/;s/:,/:/}\" /etc/group; done\n"
    "  hash='!'; [ -z \"$pw\" ] || hash=$(mkpasswd -m sha512 \"$pw\")\n"
    "  awk -F: -v OFS=: -v n=\"$name\" -v h=\"$hash\" '$1 == n { $2 = h } { print }' /etc/passwd > /etc/passwd.crange.$$\n"
    "  cat /etc/passwd.crange.$$ > /etc/passwd && rm -f /etc/passwd.crange.$$\n"
    "fi\n";

/* Sets static addresses through the agent, for images booted from disk. */
static const char addr_script[] =
    "set -e\n"
    "mac=$1 addr=$2 gw=$3 name=$4\n"
    "[ -z \"$name\" ] || hostname \"$name\"\n"
    "for d in /sys/class/net/*; do\n"
    "  [ \"$(cat \"$d/address\")\" = \"$mac\" ] || continue\n"
    "  dev=${d##*/}\n"
    "  ip link set \"$dev\" up\n"
    "  [ \"$addr\" = none ] || ip addr replace \"$addr\" dev \"$dev\"\n"
    "done\n"
    "[ -z \"$gw\" ] || ip route replace default via \"$gw\"\n";

static int set_addresses(virDomainPtr dom, const cr_plan_vm *pv)
{
    char gw[16] = "";
    if (pv->vm->gateway)
        cr_ipv4_format(gw, pv->vm->gateway);
    for (size_t k = 0; k < pv->n_nics; k++) {
        char addr[16] = "none";
        char *spec;
        if (pv->nics[k].nic->addr) {
            cr_ipv4_format(addr, pv->nics[k].nic->addr);
            spec = cr_xasprintf("%s/%d", addr, pv->nics[k].pnet->net->prefix);
        } else {
            spec = cr_xstrdup("none");
        }
        const char *argv[] = {"/bin/sh", "-c", addr_script, "sh", pv->nics[k].mac, spec,
                              k + 1 == pv->n_nics ? gw : "", k == 0 ? pv->vm->name : "", NULL};
        int rc = run_step(dom, pv, &pv->vm->where, "setting addresses", argv, NULL, 0,
                          DEFAULT_STEP_TIMEOUT_S);
        free(spec);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Runs steps [from, to) of the VM. */
static int run_steps(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, size_t from, size_t to)
{
    int rc = 0;
    for (size_t i = from; i < to && i < pv->vm->n_steps; i++) {
        const cr_step *st = &pv->vm->steps[i];
        char what[300];
        switch (st->kind) {
        case CR_STEP_FILE: {
            char *data = NULL;
            size_t len = st->content_len;
            const char *bytes = st->content;
            if (st->src) {
                char *path = cr_path_join(s->dir, st->src);
                rc = cr_read_file(&data, &len, path);
                free(path);
                if (rc < 0)
                    return rc;
                bytes = data;
            }
            snprintf(what, sizeof what, "copying %s", st->dest);
            rc = cr_agent_write_file(dom, st->dest, bytes ? bytes : "", bytes ? len : 0, st->mode ? st->mode : 0644,
                                     DEFAULT_STEP_TIMEOUT_S);
            if (rc < 0)
                rc = step_error(pv, &st->where, what);
            free(data);
            break;
        }
        case CR_STEP_USER: {
            cr_buf groups = {0};
            for (size_t g = 0; st->groups && st->groups[g]; g++)
                cr_buf_addf(&groups, "%s%s", g ? " " : "", st->groups[g]);
            snprintf(what, sizeof what, "creating user %s", st->user);
            const char *argv[] = {"/bin/sh", "-c", user_script, "sh", st->user, st->shell ? st->shell : "/bin/sh",
                                  groups.data ? groups.data : "", NULL};
            char *pw = cr_xasprintf("%s\n", st->password ? st->password : "");
            rc = run_step(dom, pv, &st->where, what, argv, pw, strlen(pw), DEFAULT_STEP_TIMEOUT_S);
            free(pw);
            cr_buf_free(&groups);
            break;
        }
        case CR_STEP_RUN:
            snprintf(what, sizeof what, "command '%.200s'",
                     st->argv[0] && st->argv[1] && st->argv[2] && !strcmp(st->argv[0], "/bin/sh") &&
                             !strcmp(st->argv[1], "-c")
                         ? st->argv[2]
                         : st->argv[0]);
            rc = run_step(dom, pv, &st->where, what, (const char *const *)st->argv, NULL, 0, st->timeout_s);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cr_provision_vm(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, const cr_image *img,
                    bool *applied)
{
    *applied = false;
    char digest[65];
    int rc = cr_provision_digest(digest, s, pv);
    if (rc < 0)
        return rc;

    char *have = NULL;
    size_t have_len = 0;
    rc = cr_agent_read_file(&have, &have_len, dom, CR_PROVISION_MARKER, 4096);
    if (rc == 0 && have_len >= 64 && !strncmp(have, digest, 64)) {
        free(have);
        return 0;
    }
    free(have);
    if (rc < 0 && rc != CR_ENOTFOUND)
        return rc;
    cr_error_clear();

    /* A clone of a template (template.h) has the shared first steps done,
     * and its addresses set: it says so, with the digest of those steps. */
    size_t from = 0;
    bool from_template = false;
    rc = cr_agent_read_file(&have, &have_len, dom, CR_PROVISION_PREFIX_MARKER, 4096);
    if (rc == 0) {
        char want[65], got[65] = "";
        unsigned long n = 0;
        if (sscanf(have, "%64s %lu", got, &n) == 2 && n <= pv->vm->n_steps &&
            cr_provision_prefix_digest(want, s, pv, n) == 0 && !strcmp(want, got)) {
            from = n;
            from_template = true;
        }
    } else if (rc != CR_ENOTFOUND) {
        free(have);
        return rc;
    }
    free(have);
    cr_error_clear();

    if (!from_template && strcmp(img->boot, "kernel")) {
        rc = set_addresses(dom, pv);
        if (rc < 0)
            return rc;
    }
    rc = run_steps(dom, s, pv, from, pv->vm->n_steps);
    if (rc < 0)
        return rc;
    rc = cr_agent_write_file(dom, CR_PROVISION_MARKER, digest, 64, 0644, DEFAULT_STEP_TIMEOUT_S);
    if (rc == 0)
        *applied = true;
    return rc;
}

int cr_provision_template(virDomainPtr dom, const cr_scenario *s, const cr_plan_vm *pv, const cr_image *img,
                          size_t n)
{
    char digest[65];
    int rc = cr_provision_prefix_digest(digest, s, pv, n);
    if (rc == 0 && strcmp(img->boot, "kernel"))
        rc = set_addresses(dom, pv);
    if (rc == 0)
        rc = run_steps(dom, s, pv, 0, n);
    if (rc < 0)
        return rc;
    char line[96];
    int len = snprintf(line, sizeof line, "%s %zu\n", digest, n);
    return cr_agent_write_file(dom, CR_PROVISION_PREFIX_MARKER, line, (size_t)len, 0644, DEFAULT_STEP_TIMEOUT_S);
}
