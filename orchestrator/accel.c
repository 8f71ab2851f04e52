/*
 * accel.c: the KVM probe and the accelerator choice of accel.h.
 */
#include "accel.h"

#include "agent.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

bool cr_accel_kvm_offered(cr_virt *v)
{
    char *caps = virConnectGetDomainCapabilities(cr_virt_conn(v, 0), NULL, "x86_64", NULL, "kvm", 0);
    bool ok = caps != NULL;
    free(caps);
    return ok;
}

int cr_accel_probe(cr_probe *out, cr_virt *v, const cr_image *img, const char *domtype, int timeout_s)
{
    memset(out, 0, sizeof *out);
    if (!img->kernel || !img->initrd)
        return cr_error_set(CR_EINVAL, "image '%s' cannot be used for a probe boot (no kernel)", img->name);
    char *cmdline = cr_xasprintf("%s crange.hostname=probe", img->cmdline);
    /* Only the agent's channel: the probe asks whether a guest comes up. */
    cr_domain_spec spec = {
        .domtype = domtype,
        .memory_mib = 128,
        .vcpus = 1,
        .kernel = img->kernel,
        .initrd = img->initrd,
        .cmdline = cmdline,
        .reboot_destroys = true,
    };
    cr_buf b = {0};
    cr_buf_addf(&b, "<domain type=\"%s\">\n  <name>crange-probe-%s-%ld</name>\n", domtype, domtype, (long)getpid());
    cr_xml_domain_head(&b, &spec);
    cr_xml_domain_tail(&b, &spec);
    cr_buf_add(&b, "</domain>\n");
    free(cmdline);
    double t0 = cr_now_seconds();
    /* AUTODESTROY: the probe dies with our connection, even on kill -9. */
    virDomainPtr d = virDomainCreateXML(cr_virt_conn(v, 0), b.data, VIR_DOMAIN_START_AUTODESTROY);
    cr_buf_free(&b);
    if (!d) {
        out->seconds = cr_now_seconds() - t0;
        snprintf(out->detail, sizeof out->detail, "QEMU did not start: %s", virGetLastErrorMessage());
        return 0;
    }
    int64_t deadline = cr_now_ms() + (int64_t)timeout_s * 1000;
    for (;;) {
        int state = 0, reason = 0;
        if (virDomainGetState(d, &state, &reason, 0) < 0 || state != VIR_DOMAIN_RUNNING) {
            snprintf(out->detail, sizeof out->detail, "the guest stopped (state %d, reason %d): QEMU aborted or the "
                     "kernel panicked", state, reason);
            break;
        }
        if (cr_agent_ping(d, 1) == 0) {
            out->ok = true;
            snprintf(out->detail, sizeof out->detail, "guest agent answered");
            break;
        }
        cr_error_clear();
        if (cr_now_ms() >= deadline) {
            snprintf(out->detail, sizeof out->detail, "no guest agent after %d s: the guest hangs", timeout_s);
            break;
        }
        cr_sleep_ms(200);
    }
    out->seconds = cr_now_seconds() - t0;
    virDomainDestroy(d);
    virDomainFree(d);
    cr_error_clear();
    return 0;
}

/* The cache key: what, when it changes, can change the verdict. */
static char *cache_key(cr_virt *v)
{
    unsigned long lib = 0, hv = 0;
    virConnectGetLibVersion(cr_virt_conn(v, 0), &lib);
    virConnectGetVersion(cr_virt_conn(v, 0), &hv);
    struct utsname u;
    uname(&u);
    return cr_xasprintf("libvirt %lu, qemu %lu, kernel %s", lib, hv, u.release);
}

/* The probe cache (accel.json): one entry per libvirt URI; an empty object
 * when the file is missing or unreadable. A new reference. */
static json_t *load_cache(const char *path)
{
    json_t *cache = json_load_file(path, 0, NULL);
    if (!json_is_object(cache)) {
        json_decref(cache);
        cache = json_object();
    }
    return cache;
}

void cr_accel_remember(const cr_config *c, cr_virt *v, const cr_probe *p)
{
    char *path = cr_path_join(c->state_dir, "accel.json");
    char *key = cache_key(v);
    json_t *cache = load_cache(path);
    char when[32];
    cr_iso8601(when, cr_wall_ms());
    json_object_set_new(cache, cr_virt_uri(v),
                        json_pack("{s:s, s:b, s:s, s:f, s:s}", "key", key, "kvm_works", p->ok, "detail", p->detail,
                                  "seconds", p->seconds, "checked_at", when));
    if (json_dump_file(cache, path, JSON_INDENT(2)) < 0)
        cr_log_warn("cannot write %s", path);
    json_decref(cache);
    free(key);
    free(path);
}

int cr_accel_resolve(char out[8], const cr_config *c, cr_virt *v, const char **why)
{
    const char *reason = NULL;
    int rc = 0;
    if (!strcmp(c->accel, "tcg")) {
        strcpy(out, "qemu");
        reason = "--accel tcg";
        goto done;
    }
    if (!strcmp(c->accel, "kvm")) {
        strcpy(out, "kvm");
        reason = "--accel kvm";
        goto done;
    }
    strcpy(out, "qemu");
    if (!cr_accel_kvm_offered(v)) {
        reason = "KVM is not offered by this host";
        goto done;
    }

    char *path = cr_path_join(c->state_dir, "accel.json");
    char *key = cache_key(v);
    json_t *cache = load_cache(path);
    json_t *entry = json_object_get(cache, cr_virt_uri(v));
    const char *have = json_string_value(json_object_get(entry, "key"));
    if (have && !strcmp(have, key)) {
        bool works = json_is_true(json_object_get(entry, "kvm_works"));
        strcpy(out, works ? "kvm" : "qemu");
        reason = works ? "KVM passed its probe boot (cached)" : "KVM failed its probe boot (cached; crange doctor)";
    } else {
        char *store = cr_config_images(c);
        bool rebuilt = false;
        cr_image *img = NULL;
        rc = cr_image_build(store, "tiny", false, &rebuilt);
        if (rc == 0)
            rc = cr_image_open(&img, store, "tiny");
        cr_probe probe;
        if (rc == 0) {
            cr_log_info("probing KVM with a %d s test boot (the result is cached)", CR_PROBE_TIMEOUT_S);
            rc = cr_accel_probe(&probe, v, img, "kvm", CR_PROBE_TIMEOUT_S);
        }
        if (rc == 0) {
            strcpy(out, probe.ok ? "kvm" : "qemu");
            reason = probe.ok ? "KVM passed its probe boot" : "KVM failed its probe boot; using TCG";
            if (!probe.ok)
                cr_log_warn("KVM probe: %s", probe.detail);
            cr_accel_remember(c, v, &probe);
        }
        cr_image_free(img);
        free(store);
    }
    json_decref(cache);
    free(key);
    free(path);
done:
    if (why)
        *why = reason;
    return rc;
}
