/*
 * virt_xml.c: the libvirt XML documents crange writes (virt.h) and the
 * parser for its own metadata element. Every value put into XML is escaped;
 * every name was validated before it got here, but escaping is cheap.
 *
 * Domain choices, and why:
 * - machine "pc" with <acpi/>: without ACPI q35/pc guests log IRQ errors.
 * - no graphics, video, USB or balloon: less to emulate under TCG.
 * - a pty serial console (crange console), logged by virtlogd to
 *   /var/log/libvirt/qemu/<domain>.console.log, and two unix-socket channels
 *   (libvirt picks their paths): the QEMU guest agent, and
 *   org.crange.actions.0 for the trainee action log, read through
 *   virDomainOpenChannel (which needs a unix socket), so it also works on
 *   remote hosts.
 * - virtio-rng so that guests have entropy early (sshd, TLS keys).
 * - under TCG, a 64 MiB translation cache instead of QEMU's 1 GiB default.
 */
#include "virt.h"

#include "err.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void meta_element_with(cr_buf *b, const char *range, int team, const char *scenario, const char *name,
                              const char *kind, const char *digest, const char *extra)
{
    cr_buf_add(b, "  <metadata>\n    <" CR_XMLNS_PREFIX ":object xmlns:" CR_XMLNS_PREFIX "=\"" CR_XMLNS "\"");
    cr_buf_add(b, " range=\"");
    cr_buf_add_xml(b, range);
    cr_buf_addf(b, "\" team=\"%d\" scenario=\"", team);
    cr_buf_add_xml(b, scenario);
    cr_buf_add(b, "\" name=\"");
    cr_buf_add_xml(b, name);
    cr_buf_addf(b, "\" kind=\"%s\" digest=\"%s\"/>\n%s  </metadata>\n", kind, digest, extra ? extra : "");
}

static void meta_element(cr_buf *b, const char *range, int team, const char *scenario, const char *name,
                         const char *kind, const char *digest)
{
    meta_element_with(b, range, team, scenario, name, kind, digest, NULL);
}

/*
 * A spread team's network: the element the libvirt network hook of each
 * host reads (orchestrator/hooks/network, docs/HOSTS.md) to make the VXLAN
 * device that joins this bridge to the same network's bridges on the
 * other hosts, one line with every value it needs. NULL for a network on
 * one host; CR_EINVAL (message set, *out NULL) when a host lacks an address.
 */
static int vxlan_element(char **out, const cr_plan *p, const cr_plan_net *pn)
{
    *out = NULL;
    if (!pn->vni)
        return 0;
    const char *local = p->addrs ? p->addrs[pn->host] : NULL;
    if (!local)
        return cr_error_set(CR_EINVAL, "team %d network '%s' spans hosts, and %s has no address for VXLAN (crange "
                            "host add NAME URI --address IP)", pn->team, pn->net->name, p->hosts[pn->host]);
    cr_buf peers = {0};
    for (size_t i = 0; i < p->n_nets; i++) {
        const cr_plan_net *o = &p->nets[i];
        if (o == pn || o->vni != pn->vni || o->host == pn->host)
            continue;
        const char *a = p->addrs[o->host];
        if (!a) {
            cr_buf_free(&peers);
            return cr_error_set(CR_EINVAL, "team %d network '%s' spans hosts, and %s has no address for VXLAN "
                                "(crange host add NAME URI --address IP)", pn->team, pn->net->name, p->hosts[o->host]);
        }
        cr_buf_addf(&peers, "%s%s", peers.len ? "," : "", a);
    }
    /* The device is named like the bridge, "cv" for "cr": within 15
     * characters, and one per network and team. */
    cr_buf b = {0};
    cr_buf_add(&b, "    <" CR_VXLAN_PREFIX ":vxlan xmlns:" CR_VXLAN_PREFIX "=\"" CR_VXLAN_XMLNS "\"");
    cr_buf_addf(&b, " vni=\"%u\" dev=\"cv%s\" bridge=\"", pn->vni, pn->bridge + 2);
    cr_buf_add_xml(&b, pn->bridge);
    cr_buf_add(&b, "\" local=\"");
    cr_buf_add_xml(&b, local);
    cr_buf_add(&b, "\" peers=\"");
    cr_buf_add_xml(&b, peers.data ? peers.data : "");
    cr_buf_addf(&b, "\" mtu=\"%d\"/>\n", CR_VXLAN_MTU);
    cr_buf_free(&peers);
    *out = cr_buf_steal(&b);
    return 0;
}

static void digest_of(char out[65], const char *text)
{
    unsigned char d[32];
    crypto_generichash(d, sizeof d, (const unsigned char *)text, strlen(text), NULL, 0);
    cr_hex(out, d, sizeof d);
}

char *cr_xml_network(const cr_plan *p, const cr_plan_net *pn)
{
    char *vxlan = NULL;
    if (vxlan_element(&vxlan, p, pn) < 0)
        return NULL;
    cr_buf body = {0};
    cr_buf_addf(&body, "  <bridge name=\"%s\" stp=\"off\" delay=\"0\"/>\n", pn->bridge);
    /* VXLAN takes 50 bytes of the hosts' 1500: the bridge, its taps and
     * (virtio's host_mtu) the guests use what is left. */
    if (vxlan)
        cr_buf_addf(&body, "  <mtu size=\"%d\"/>\n", CR_VXLAN_MTU);
    if (pn->net->forward) {
        cr_buf_add(&body, "  <forward mode=\"");
        cr_buf_add_xml(&body, pn->net->forward);
        cr_buf_add(&body, "\"/>\n");
    }
    if (pn->net->dhcp || pn->net->forward) {
        /* The host needs an address on the bridge only to serve DHCP or to
         * forward; an isolated network without DHCP has none, so the host
         * is unreachable from the range. The host takes the first address. */
        char addr[16], mask[16], lo[16], hi[16];
        uint32_t m = cr_cidr_mask(pn->net->prefix);
        cr_ipv4_format(addr, pn->net->addr + 1);
        cr_ipv4_format(mask, m);
        cr_buf_addf(&body, "  <ip address=\"%s\" netmask=\"%s\">\n", addr, mask);
        if (pn->net->dhcp) {
            uint32_t size = ~m + 1u;
            cr_ipv4_format(lo, pn->net->addr + size / 2);
            cr_ipv4_format(hi, pn->net->addr + size - 2);
            cr_buf_addf(&body, "    <dhcp><range start=\"%s\" end=\"%s\"/></dhcp>\n", lo, hi);
        }
        cr_buf_add(&body, "  </ip>\n");
    }
    /* The peers are part of what the network is: a change redefines it. */
    if (vxlan)
        cr_buf_add(&body, vxlan);
    char digest[65];
    digest_of(digest, body.data);
    if (vxlan)
        body.data[body.len - strlen(vxlan)] = '\0';

    cr_buf b = {0};
    cr_buf_add(&b, "<network>\n  <name>");
    cr_buf_add_xml(&b, pn->libvirt_name);
    cr_buf_add(&b, "</name>\n");
    meta_element_with(&b, p->range, pn->team, p->scenario->id, pn->net->name, "network", digest, vxlan);
    cr_buf_add(&b, body.data);
    cr_buf_add(&b, "</network>\n");
    cr_buf_free(&body);
    free(vxlan);
    return cr_buf_steal(&b);
}

char *cr_xml_pool(const char *pool, const char *path)
{
    cr_buf b = {0};
    cr_buf_add(&b, "<pool type=\"dir\">\n  <name>");
    cr_buf_add_xml(&b, pool);
    cr_buf_add(&b, "</name>\n  <target>\n    <path>");
    cr_buf_add_xml(&b, path);
    cr_buf_add(&b, "</path>\n    <permissions><mode>0755</mode></permissions>\n  </target>\n</pool>\n");
    return cr_buf_steal(&b);
}

char *cr_xml_volume(const char *name, const char *backing, uint64_t capacity)
{
    cr_buf b = {0};
    cr_buf_add(&b, "<volume>\n  <name>");
    cr_buf_add_xml(&b, name);
    cr_buf_addf(&b, "</name>\n  <capacity unit=\"bytes\">%llu</capacity>\n",
                (unsigned long long)capacity);
    cr_buf_add(&b, "  <target>\n    <format type=\"qcow2\"/>\n"
                   "    <permissions><mode>0600</mode></permissions>\n  </target>\n");
    cr_buf_add(&b, "  <backingStore>\n    <path>");
    cr_buf_add_xml(&b, backing);
    cr_buf_add(&b, "</path>\n    <format type=\"qcow2\"/>\n  </backingStore>\n</volume>\n");
    return cr_buf_steal(&b);
}

char *cr_console_log_path(const char *domain)
{
    return cr_xasprintf("%s/%s.console.log", CR_CONSOLE_LOG_DIR, domain);
}

char *cr_kernel_cmdline(const cr_plan_vm *pv, const cr_image *img)
{
    cr_buf b = {0};
    cr_buf_add(&b, img->cmdline && *img->cmdline ? img->cmdline : "console=ttyS0");
    cr_buf_addf(&b, " crange.hostname=%s", pv->vm->name);
    bool first = true;
    for (size_t k = 0; k < pv->n_nics; k++) {
        char addr[16] = "none";
        if (pv->nics[k].nic->addr)
            cr_ipv4_format(addr, pv->nics[k].nic->addr);
        cr_buf_addf(&b, "%s%s/%s", first ? " crange.net=" : ",", pv->nics[k].mac, addr);
        if (pv->nics[k].nic->addr)
            cr_buf_addf(&b, "/%d", pv->nics[k].pnet->net->prefix);
        first = false;
    }
    if (pv->vm->gateway) {
        char gw[16];
        cr_ipv4_format(gw, pv->vm->gateway);
        cr_buf_addf(&b, " crange.gw=%s", gw);
    }
    return cr_buf_steal(&b);
}

void cr_xml_domain_head(cr_buf *b, const cr_domain_spec *s)
{
    bool kvm = !strcmp(s->domtype, "kvm");
    cr_buf_addf(b, "  <memory unit=\"MiB\">%u</memory>\n  <vcpu>%u</vcpu>\n", s->memory_mib, s->vcpus);
    cr_buf_add(b, "  <os>\n    <type arch=\"x86_64\" machine=\"pc\">hvm</type>\n");
    if (s->kernel) {
        cr_buf_add(b, "    <kernel>");
        cr_buf_add_xml(b, s->kernel);
        cr_buf_add(b, "</kernel>\n    <initrd>");
        cr_buf_add_xml(b, s->initrd);
        cr_buf_add(b, "</initrd>\n    <cmdline>");
        cr_buf_add_xml(b, s->cmdline);
        cr_buf_add(b, "</cmdline>\n");
    } else {
        cr_buf_add(b, "    <boot dev=\"hd\"/>\n");
    }
    /* Under TCG, QEMU's translation cache defaults to 1 GiB and fills as
     * the guest runs, which makes a 128 MiB guest cost ~250 MiB of host
     * memory; 64 MiB holds a guest's hot code. */
    if (kvm)
        cr_buf_add(b, "  </os>\n  <features><acpi/><apic/></features>\n  <cpu mode=\"host-passthrough\"/>\n");
    else
        cr_buf_addf(b, "  </os>\n  <features><acpi/><apic/><tcg><tb-cache unit=\"MiB\">%u</tb-cache></tcg></features>\n",
                    CR_TB_CACHE_MIB);
    cr_buf_addf(b, "  <clock offset=\"utc\"/>\n  <on_poweroff>destroy</on_poweroff>\n"
                   "  <on_reboot>%s</on_reboot>\n  <on_crash>destroy</on_crash>\n  <devices>\n",
                s->reboot_destroys ? "destroy" : "restart");
}

void cr_xml_domain_tail(cr_buf *b, const cr_domain_spec *s)
{
    /* The console is also logged, by virtlogd on the VM's host, beside
     * QEMU's own log: what a guest printed before it failed to come up. */
    cr_buf_add(b, "    <serial type=\"pty\">");
    if (s->console_log) {
        cr_buf_add(b, "<log file=\"");
        cr_buf_add_xml(b, s->console_log);
        cr_buf_addf(b, "\" append=\"%s\"/>", s->console_append ? "on" : "off");
    }
    cr_buf_add(b, "<target port=\"0\"/></serial>\n");
    if (s->console_element)
        cr_buf_add(b, "    <console type=\"pty\"><target type=\"serial\" port=\"0\"/></console>\n");
    cr_buf_add(b, "    <channel type=\"unix\"><target type=\"virtio\" name=\"org.qemu.guest_agent.0\"/></channel>\n");
    if (s->actions_channel)
        cr_buf_add(b, "    <channel type=\"unix\"><target type=\"virtio\" name=\"org.crange.actions.0\"/></channel>\n");
    cr_buf_add(b, "    <controller type=\"usb\" model=\"none\"/>\n    <memballoon model=\"none\"/>\n");
    if (s->rng)
        cr_buf_add(b, "    <rng model=\"virtio\"><backend model=\"random\">/dev/urandom</backend></rng>\n");
    cr_buf_add(b, "  </devices>\n");
}

char *cr_xml_domain(const cr_plan *p, const cr_plan_vm *pv, const cr_image *img, const char *overlay,
                    const char *domtype)
{
    bool kernel = !strcmp(img->boot, "kernel");
    char *cmdline = kernel ? cr_kernel_cmdline(pv, img) : NULL;
    char *console = cr_console_log_path(pv->domain);
    cr_domain_spec spec = {
        .domtype = domtype,
        .memory_mib = pv->vm->memory_mib,
        .vcpus = pv->vm->vcpus,
        .kernel = kernel ? img->kernel : NULL,
        .initrd = img->initrd,
        .cmdline = cmdline,
        .console_log = console,
        .console_append = true,
        .console_element = true,
        .actions_channel = true,
        .rng = true,
    };
    cr_buf body = {0};
    cr_xml_domain_head(&body, &spec);
    if (overlay) {
        cr_buf_add(&body, "    <disk type=\"file\" device=\"disk\">\n"
                          "      <driver name=\"qemu\" type=\"qcow2\" discard=\"unmap\"/>\n      <source file=\"");
        cr_buf_add_xml(&body, overlay);
        cr_buf_add(&body, "\"/>\n      <target dev=\"vda\" bus=\"virtio\"/>\n    </disk>\n");
    }
    for (size_t k = 0; k < pv->n_nics; k++) {
        cr_buf_add(&body, "    <interface type=\"network\">\n      <source network=\"");
        cr_buf_add_xml(&body, pv->nics[k].pnet->libvirt_name);
        cr_buf_addf(&body, "\"/>\n      <mac address=\"%s\"/>\n      <model type=\"virtio\"/>\n    </interface>\n",
                    pv->nics[k].mac);
    }
    cr_xml_domain_tail(&body, &spec);
    free(cmdline);
    free(console);
    char digest[65];
    digest_of(digest, body.data);

    cr_buf b = {0};
    cr_buf_addf(&b, "<domain type=\"%s\">\n  <name>", domtype);
    cr_buf_add_xml(&b, pv->domain);
    cr_buf_add(&b, "</name>\n");
    meta_element(&b, p->range, pv->team, p->scenario->id, pv->vm->name, "vm", digest);
    cr_buf_add(&b, body.data);
    cr_buf_add(&b, "</domain>\n");
    cr_buf_free(&body);
    return cr_buf_steal(&b);
}

/* Copies the value of attr="..." within [start, end) into out. */
static bool attr_value(char *out, size_t n, const char *start, const char *end, const char *attr)
{
    size_t alen = strlen(attr);
    for (const char *p = start; p + alen + 2 < end; p++) {
        if ((p[-1] != ' ' && p[-1] != '\n' && p[-1] != '\t') || strncmp(p, attr, alen) || p[alen] != '=')
            continue;
        char quote = p[alen + 1];
        if (quote != '"' && quote != '\'')
            continue;
        const char *v = p + alen + 2;
        const char *q = memchr(v, quote, (size_t)(end - v));
        if (!q || (size_t)(q - v) >= n)
            return false;
        memcpy(out, v, (size_t)(q - v));
        out[q - v] = '\0';
        return true;
    }
    return false;
}

int cr_meta_parse(cr_meta *out, const char *xml)
{
    memset(out, 0, sizeof *out);
    if (!xml)
        return CR_ENOTFOUND;
    /* In a whole document, the element is the one declaring our namespace;
     * virDomainGetMetadata returns the bare element, namespace stripped. */
    const char *ns = strstr(xml, CR_XMLNS);
    const char *start = ns;
    if (ns) {
        while (start > xml && *start != '<')
            start--;
    } else {
        start = xml + strspn(xml, " \t\r\n");
        if (strncmp(start, "<object ", 8))
            return CR_ENOTFOUND;
    }
    const char *end = strchr(ns ? ns : start, '>');
    if (*start != '<' || !end)
        return CR_ENOTFOUND;
    start++;
    char team[16];
    if (!attr_value(out->range, sizeof out->range, start, end, "range") ||
        !attr_value(team, sizeof team, start, end, "team") ||
        !attr_value(out->scenario, sizeof out->scenario, start, end, "scenario") ||
        !attr_value(out->name, sizeof out->name, start, end, "name") ||
        !attr_value(out->kind, sizeof out->kind, start, end, "kind"))
        return CR_ENOTFOUND;
    attr_value(out->digest, sizeof out->digest, start, end, "digest");
    char *stop;
    long t = strtol(team, &stop, 10);
    if (!team[0] || *stop || t < 0 || t > CR_MAX_TEAMS)
        return CR_ENOTFOUND;
    out->team = (int)t;
    return 0;
}
