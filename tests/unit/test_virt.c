/*
 * test_virt.c: the libvirt backend of virt.h against libvirt's own fake
 * hypervisor, test:///default (no libvirtd, no QEMU): connections and their
 * references, the XML crange writes, the metadata parser, the idempotent
 * ensure/remove operations, and scanning a range by metadata.
 *
 * About test:///default, as verified with libvirt 9.0:
 * - every connection a process opens to it shares one in-memory state, which
 *   is reset when the last of them closes. Each test opens and closes its
 *   own connections and still uses names of its own, so that tests neither
 *   see nor depend on each other.
 * - it starts with a domain "test", a network "default" and a storage pool
 *   "default-pool", none of them crange's: scans must not report them.
 * - it accepts <domain type="qemu">, so the XML crange generates is used
 *   unchanged; it never reads the kernel, initrd or disk paths, so the image
 *   below points at files that do not exist.
 * - its "dir" storage pools and volumes live in memory only: building,
 *   deleting or creating volumes touches no file, so the pool tests check
 *   libvirt's view, not the folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "image.h"
#include "plan.h"
#include "scenario.h"
#include "template.h"
#include "testutil.h"
#include "util.h"
#include "virt.h"

#include <fcntl.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define URI "test:///default"

static const char *const HOSTS[] = {URI};

/* A scenario with the three kinds of network crange writes. */
static const char NETS_SCENARIO[] =
    "scenario { id = \"nets\", title = { ja = \"網\", en = \"Nets\" },\n"
    "  description = { ja = \"説明\", en = \"D\" } }\n"
    "network { name = \"iso\", cidr = \"10.30.0.0/24\" }\n"
    "network { name = \"dh\", cidr = \"10.31.0.0/24\", dhcp = true }\n"
    "network { name = \"out\", cidr = \"10.32.0.0/24\", forward = \"nat\" }\n";

typedef struct fixture {
    cr_scenario *s;
    cr_plan *p;
    cr_image img;
    cr_virt *v;
} fixture;

static cr_scenario *load_demo(int teams)
{
    char *path = tu_source("scenarios/demo");
    cr_load_opts o = {.teams = teams};
    cr_scenario *s = NULL;
    cr_error_clear();
    if (cr_scenario_load(&s, path, &o) < 0)
        fail_msg("loading %s: %s", path, cr_error_message());
    free(path);
    return s;
}

static cr_plan *build(const cr_scenario *s, const char *range)
{
    cr_plan *p = NULL;
    if (cr_plan_build(&p, s, range, HOSTS, 1, NULL) < 0)
        fail_msg("plan: %s", cr_error_message());
    return p;
}

/* An image as cr_image_open would return it for a direct-kernel-boot build;
 * the test driver never opens these paths. */
static cr_image fake_image(void)
{
    return (cr_image){.name = (char *)"tiny",
                      .dir = (char *)"/nonexistent/images/tiny",
                      .boot = (char *)"kernel",
                      .kernel = (char *)"/nonexistent/images/tiny/vmlinuz",
                      .initrd = (char *)"/nonexistent/images/tiny/initrd.img",
                      .disk = (char *)"/nonexistent/images/tiny/disk.qcow2",
                      .disk_virtual_size = 1 << 30,
                      .cmdline = (char *)"console=ttyS0 quiet"};
}

static void open_fixture(fixture *f, const char *range, int teams)
{
    memset(f, 0, sizeof *f);
    f->s = load_demo(teams);
    f->p = build(f->s, range);
    f->img = fake_image();
    cr_error_clear();
    if (cr_virt_open(&f->v, URI, 2) < 0)
        fail_msg("open: %s", cr_error_message());
}

/* Closing must give back every reference: a leaked virDomainPtr or
 * virNetworkPtr anywhere in virt.c shows up here. */
static void close_fixture(fixture *f)
{
    assert_int_equal(cr_virt_close(f->v), 0);
    cr_plan_free(f->p);
    cr_scenario_free(f->s);
}

static const cr_plan_net *plan_net(const cr_plan *p, int team, const char *name)
{
    for (size_t i = 0; i < p->n_nets; i++)
        if (p->nets[i].team == team && !strcmp(p->nets[i].net->name, name))
            return &p->nets[i];
    fail_msg("no network %s in team %d", name, team);
    return NULL;
}

static void ensure_network(fixture *f, int team, const char *name)
{
    const cr_plan_net *pn = plan_net(f->p, team, name);
    char *xml = cr_xml_network(f->p, pn);
    bool changed = false;
    if (cr_virt_ensure_network(f->v, 0, pn->libvirt_name, xml, &changed) < 0)
        fail_msg("ensure network: %s", cr_error_message());
    free(xml);
}

static void ensure_vm(fixture *f, int team, const char *vm)
{
    const cr_plan_vm *pv = cr_plan_find_vm(f->p, team, vm);
    assert_non_null(pv);
    for (size_t k = 0; k < pv->n_nics; k++)
        ensure_network(f, team, pv->nics[k].pnet->net->name);
    char *xml = cr_xml_domain(f->p, pv, &f->img, NULL, "qemu");
    bool defined, started;
    if (cr_virt_ensure_domain(f->v, 1, pv->domain, xml, false, false, &defined, &started) < 0)
        fail_msg("ensure domain: %s", cr_error_message());
    free(xml);
}

/* Defines raw XML directly through libvirt (objects crange did not make). */
static void define_raw_domain(cr_virt *v, const char *xml)
{
    virDomainPtr d = virDomainDefineXML(cr_virt_conn(v, 0), xml);
    if (!d)
        fail_msg("define: %s", virGetLastErrorMessage());
    assert_int_equal(virDomainCreate(d), 0);
    virDomainFree(d);
}

static bool domain_exists(cr_virt *v, const char *name)
{
    virDomainPtr d = virDomainLookupByName(cr_virt_conn(v, 0), name);
    if (d)
        virDomainFree(d);
    return d != NULL;
}

static int domain_state(cr_virt *v, const char *name)
{
    virDomainPtr d = virDomainLookupByName(cr_virt_conn(v, 0), name);
    assert_non_null(d);
    int state = -1, reason;
    assert_int_equal(virDomainGetState(d, &state, &reason, 0), 0);
    virDomainFree(d);
    return state;
}

static bool network_exists(cr_virt *v, const char *name)
{
    virNetworkPtr n = virNetworkLookupByName(cr_virt_conn(v, 0), name);
    if (n)
        virNetworkFree(n);
    return n != NULL;
}

/* ------------------------------------------------------------ connections */

static void test_virt_open_3_connections_and_close_leaks_nothing(void **state)
{
    (void)state;
    cr_virt *v = NULL;
    cr_error_clear();
    assert_int_equal(cr_virt_open(&v, URI, 3), 0);
    assert_non_null(v);
    assert_string_equal(cr_virt_uri(v), URI);
    /* Worker w uses connection w % 3. */
    virConnectPtr c0 = cr_virt_conn(v, 0), c1 = cr_virt_conn(v, 1), c2 = cr_virt_conn(v, 2);
    assert_ptr_not_equal(c0, c1);
    assert_ptr_not_equal(c1, c2);
    assert_ptr_not_equal(c0, c2);
    assert_ptr_equal(cr_virt_conn(v, 3), c0);
    assert_ptr_equal(cr_virt_conn(v, 7), c1);
    assert_ptr_equal(cr_virt_conn(v, -1), c0);
    /* Every connection works. */
    for (int w = 0; w < 3; w++)
        assert_true(virConnectIsAlive(cr_virt_conn(v, w)) >= 0);
    assert_int_equal(cr_virt_close(v), 0);
    assert_int_equal(cr_virt_close(NULL), 0);
}

static void test_virt_close_reports_a_leaked_reference(void **state)
{
    (void)state;
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    /* A domain handle holds a reference on its connection. */
    virDomainPtr d = virDomainLookupByName(cr_virt_conn(v, 0), "test");
    assert_non_null(d);
    assert_true(cr_virt_close(v) > 0);
    virDomainFree(d); /* drops the last reference */
}

static void test_virt_open_failure_names_the_uri(void **state)
{
    (void)state;
    /* The test driver loads a file given as its path; a missing one fails
     * without any daemon being involved. */
    cr_virt *v = (cr_virt *)&v; /* any non-NULL value: a failed open resets it */
    cr_error_clear();
    assert_int_equal(cr_virt_open(&v, "test:///nonexistent/crange-no-such-file.xml", 2), CR_ERROR);
    assert_null(v);
    assert_non_null(strstr(cr_error_message(), "cannot connect to libvirt at test:///nonexistent"));
    cr_error_clear();
}

/* ------------------------------------------------------------ XML */

static void test_xml_network_isolated_has_no_forward_and_no_ip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "scenario.lua", NETS_SCENARIO);
    cr_scenario *s = NULL;
    cr_load_opts o = {0};
    if (cr_scenario_load(&s, dir, &o) < 0)
        fail_msg("load: %s", cr_error_message());
    cr_plan *p = build(s, "xmlnet");

    char *iso = cr_xml_network(p, plan_net(p, 1, "iso"));
    assert_non_null(strstr(iso, "<name>crange.xmlnet.t1.iso</name>"));
    char *bridge = cr_xasprintf("<bridge name=\"%s\"", plan_net(p, 1, "iso")->bridge);
    assert_non_null(strstr(iso, bridge));
    free(bridge);
    /* Isolated: no route out, and no host address the range could reach. */
    assert_null(strstr(iso, "<forward"));
    assert_null(strstr(iso, "<ip"));
    assert_null(strstr(iso, "<dhcp"));
    assert_non_null(strstr(iso, "xmlns:crange=\"urn:crange:range:1\""));
    assert_non_null(strstr(iso, "kind=\"network\""));

    char *dh = cr_xml_network(p, plan_net(p, 1, "dh"));
    assert_null(strstr(dh, "<forward"));
    assert_non_null(strstr(dh, "<ip address=\"10.31.0.1\" netmask=\"255.255.255.0\">"));
    assert_non_null(strstr(dh, "<dhcp><range start=\"10.31.0.128\" end=\"10.31.0.254\"/></dhcp>"));

    char *out = cr_xml_network(p, plan_net(p, 1, "out"));
    assert_non_null(strstr(out, "<forward mode=\"nat\"/>"));
    assert_non_null(strstr(out, "<ip address=\"10.32.0.1\" netmask=\"255.255.255.0\">"));
    assert_null(strstr(out, "<dhcp"));

    /* The digest covers the definition: different bodies, different digests;
     * the same plan, the same document. */
    cr_meta m1, m2;
    assert_int_equal(cr_meta_parse(&m1, iso), 0);
    assert_int_equal(cr_meta_parse(&m2, dh), 0);
    assert_string_not_equal(m1.digest, m2.digest);
    char *again = cr_xml_network(p, plan_net(p, 1, "iso"));
    assert_string_equal(iso, again);
    free(again);

    /* libvirt accepts all three. */
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    const char *names[] = {"iso", "dh", "out"};
    char *docs[] = {iso, dh, out};
    for (int i = 0; i < 3; i++) {
        bool changed = false;
        const cr_plan_net *pn = plan_net(p, 1, names[i]);
        if (cr_virt_ensure_network(v, 0, pn->libvirt_name, docs[i], &changed) < 0)
            fail_msg("%s: %s", names[i], cr_error_message());
        assert_true(changed);
        assert_int_equal(cr_virt_remove_network(v, 0, pn->libvirt_name), 0);
    }
    assert_int_equal(cr_virt_close(v), 0);

    free(iso);
    free(dh);
    free(out);
    cr_plan_free(p);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_xml_domain_boots_the_kernel_with_the_plan_on_its_cmdline(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(1);
    cr_plan *p = build(s, "xmldom");
    cr_image img = fake_image();
    const cr_plan_vm *router = cr_plan_find_vm(p, 1, "router");
    const cr_plan_vm *attacker = cr_plan_find_vm(p, 1, "attacker");

    char *cmd = cr_kernel_cmdline(router, &img);
    char *want = cr_xasprintf("console=ttyS0 quiet crange.hostname=router crange.net=%s/10.10.0.1/24,%s/10.20.0.1/24",
                              router->nics[0].mac, router->nics[1].mac);
    assert_string_equal(cmd, want);
    free(want);
    free(cmd);
    cmd = cr_kernel_cmdline(attacker, &img);
    assert_non_null(strstr(cmd, " crange.gw=10.10.0.1"));
    free(cmd);
    /* Without base arguments the serial console is still there. */
    cr_image bare = img;
    bare.cmdline = NULL;
    cmd = cr_kernel_cmdline(attacker, &bare);
    assert_int_equal(strncmp(cmd, "console=ttyS0 crange.hostname=attacker", 38), 0);
    free(cmd);

    char *xml = cr_xml_domain(p, router, &img, "/nonexistent/overlay.qcow2", "qemu");
    assert_int_equal(strncmp(xml, "<domain type=\"qemu\">", 20), 0);
    assert_non_null(strstr(xml, "<name>crange.xmldom.t1.router</name>"));
    assert_non_null(strstr(xml, "<kernel>/nonexistent/images/tiny/vmlinuz</kernel>"));
    assert_non_null(strstr(xml, "<initrd>/nonexistent/images/tiny/initrd.img</initrd>"));
    assert_non_null(strstr(xml, "<source file=\"/nonexistent/overlay.qcow2\"/>"));
    assert_non_null(strstr(xml, "<log file=\"/var/log/libvirt/qemu/crange.xmldom.t1.router.console.log\" append=\"on\"/>"));
    assert_non_null(strstr(xml, "<source network=\"crange.xmldom.t1.outside\"/>"));
    assert_non_null(strstr(xml, "<source network=\"crange.xmldom.t1.inside\"/>"));
    char *mac = cr_xasprintf("<mac address=\"%s\"/>", router->nics[1].mac);
    assert_non_null(strstr(xml, mac));
    free(mac);
    assert_non_null(strstr(xml, "org.qemu.guest_agent.0"));
    assert_non_null(strstr(xml, "org.crange.actions.0"));
    assert_null(strstr(xml, "host-passthrough")); /* TCG cannot pass the host CPU */
    cr_meta m;
    assert_int_equal(cr_meta_parse(&m, xml), 0);
    assert_string_equal(m.kind, "vm");
    assert_string_equal(m.name, "router");
    free(xml);

    xml = cr_xml_domain(p, router, &img, NULL, "kvm");
    assert_int_equal(strncmp(xml, "<domain type=\"kvm\">", 19), 0);
    assert_non_null(strstr(xml, "<cpu mode=\"host-passthrough\"/>"));
    assert_null(strstr(xml, "<disk")); /* diskless without an overlay */
    free(xml);

    cr_image disk = img;
    disk.boot = (char *)"disk";
    xml = cr_xml_domain(p, router, &disk, "/nonexistent/overlay.qcow2", "qemu");
    assert_non_null(strstr(xml, "<boot dev=\"hd\"/>"));
    assert_null(strstr(xml, "<kernel>"));
    free(xml);

    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_xml_pool_and_volume_escape_and_back_the_image(void **state)
{
    (void)state;
    char *pool = cr_xml_pool("crange.r", "/var/lib/a&b");
    assert_non_null(strstr(pool, "<pool type=\"dir\">"));
    assert_non_null(strstr(pool, "<name>crange.r</name>"));
    assert_non_null(strstr(pool, "<path>/var/lib/a&amp;b</path>"));
    free(pool);
    cr_image img = fake_image();
    char *vol = cr_xml_volume("t1.vm.qcow2", img.disk, img.disk_virtual_size);
    assert_non_null(strstr(vol, "<name>t1.vm.qcow2</name>"));
    assert_non_null(strstr(vol, "<capacity unit=\"bytes\">1073741824</capacity>"));
    assert_non_null(strstr(vol, "<backingStore>\n    <path>/nonexistent/images/tiny/disk.qcow2</path>"));
    free(vol);
}

/* ------------------------------------------------------------ metadata */

static void test_meta_parse_reads_a_full_network_document(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(2);
    cr_plan *p = build(s, "metarange");
    char *xml = cr_xml_network(p, plan_net(p, 2, "inside"));
    cr_meta m;
    assert_int_equal(cr_meta_parse(&m, xml), 0);
    assert_string_equal(m.range, "metarange");
    assert_int_equal(m.team, 2);
    assert_string_equal(m.scenario, "demo");
    assert_string_equal(m.name, "inside");
    assert_string_equal(m.kind, "network");
    assert_int_equal(strlen(m.digest), 64);
    assert_int_equal(strspn(m.digest, "0123456789abcdef"), 64);
    free(xml);
    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_meta_parse_reads_the_bare_element_libvirt_returns(void **state)
{
    (void)state;
    /* What virDomainGetMetadata gives back: the prefix and namespace gone. */
    cr_meta m;
    assert_int_equal(cr_meta_parse(&m, "<object range=\"r1\" team=\"7\" scenario=\"demo\" name=\"web\" "
                                       "kind=\"vm\" digest=\"abc\"/>\n"),
                     0);
    assert_string_equal(m.range, "r1");
    assert_int_equal(m.team, 7);
    assert_string_equal(m.scenario, "demo");
    assert_string_equal(m.name, "web");
    assert_string_equal(m.kind, "vm");
    assert_string_equal(m.digest, "abc");

    /* Single quotes, other attribute order, leading blanks, no digest. */
    assert_int_equal(cr_meta_parse(&m, "  <object kind='network' name='lan' scenario='s' team='1' range='r2'/>"), 0);
    assert_string_equal(m.range, "r2");
    assert_string_equal(m.kind, "network");
    assert_string_equal(m.digest, "");

    /* An attribute whose name ends like ours is not ours. */
    assert_int_equal(cr_meta_parse(&m, "<object xrange=\"evil\" range=\"good\" team=\"1\" scenario=\"s\" "
                                       "name=\"n\" kind=\"vm\"/>"),
                     0);
    assert_string_equal(m.range, "good");

    /* And the real thing: what the test driver returns for a domain we define. */
    cr_scenario *s = load_demo(1);
    cr_plan *p = build(s, "metaround");
    cr_image img = fake_image();
    const cr_plan_vm *pv = cr_plan_find_vm(p, 1, "victim");
    char *xml = cr_xml_domain(p, pv, &img, NULL, "qemu");
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    virDomainPtr d = virDomainDefineXML(cr_virt_conn(v, 0), xml);
    assert_non_null(d);
    char *meta = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, CR_XMLNS, 0);
    assert_non_null(meta);
    assert_int_equal(cr_meta_parse(&m, meta), 0);
    assert_string_equal(m.range, "metaround");
    assert_int_equal(m.team, 1);
    assert_string_equal(m.name, "victim");
    assert_string_equal(m.kind, "vm");
    cr_meta from_doc;
    assert_int_equal(cr_meta_parse(&from_doc, xml), 0);
    assert_string_equal(m.digest, from_doc.digest);
    free(meta);
    assert_int_equal(virDomainUndefine(d), 0);
    virDomainFree(d);
    assert_int_equal(cr_virt_close(v), 0);
    free(xml);
    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_meta_parse_rejects_garbage_and_foreign_xml(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "not xml at all",
        "<object>",
        "<object/>",
        "<objects range=\"r\" team=\"1\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        "<domain><name>x</name></domain>",
        /* Someone else's element with the same attributes. */
        "<domain><metadata><other:object xmlns:other=\"urn:other:1\" range=\"r\" team=\"1\" scenario=\"s\" "
        "name=\"n\" kind=\"vm\"/></metadata></domain>",
        /* Ours, but a required attribute is missing. */
        "<object range=\"r\" team=\"1\" scenario=\"s\" name=\"n\"/>",
        "<c:object xmlns:c=\"urn:crange:range:1\" team=\"1\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        /* Teams are 0..999 and decimal. */
        "<object range=\"r\" team=\"1000\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        "<object range=\"r\" team=\"-1\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        "<object range=\"r\" team=\"one\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        "<object range=\"r\" team=\"\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        /* Values too long for the struct are refused, not truncated. */
        "<object range=\"abcdefghijklmnopqrstuvwxyz\" team=\"1\" scenario=\"s\" name=\"n\" kind=\"vm\"/>",
        "<object range=\"r\" team=\"1\" scenario=\"s\" name=\"n\" kind=\"container\"/>",
        /* Unterminated. */
        "<object range=\"r\" team=\"1\" scenario=\"s\" name=\"n\" kind=\"vm",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_meta m;
        if (cr_meta_parse(&m, bad[i]) != CR_ENOTFOUND)
            fail_msg("accepted: %s", bad[i]);
    }
    cr_meta m;
    assert_int_equal(cr_meta_parse(&m, NULL), CR_ENOTFOUND);
}

/* ------------------------------------------------------------ ensure */

static void test_virt_ensure_network_twice_changes_once(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "ens-net", 1);
    const cr_plan_net *pn = plan_net(f.p, 1, "outside");
    char *xml = cr_xml_network(f.p, pn);
    bool changed = false;

    assert_int_equal(cr_virt_ensure_network(f.v, 0, pn->libvirt_name, xml, &changed), 0);
    assert_true(changed);
    assert_true(network_exists(f.v, pn->libvirt_name));
    changed = true;
    assert_int_equal(cr_virt_ensure_network(f.v, 1, pn->libvirt_name, xml, &changed), 0);
    assert_false(changed);

    /* A defined but stopped network is started, and that is a change. */
    virNetworkPtr n = virNetworkLookupByName(cr_virt_conn(f.v, 0), pn->libvirt_name);
    assert_int_equal(virNetworkDestroy(n), 0);
    assert_int_equal(virNetworkIsActive(n), 0);
    assert_int_equal(cr_virt_ensure_network(f.v, 0, pn->libvirt_name, xml, &changed), 0);
    assert_true(changed);
    assert_int_equal(virNetworkIsActive(n), 1);
    assert_int_equal(virNetworkIsPersistent(n), 1);
    virNetworkFree(n);

    /* Removal twice: the second finds nothing and succeeds. */
    assert_int_equal(cr_virt_remove_network(f.v, 0, pn->libvirt_name), 0);
    assert_false(network_exists(f.v, pn->libvirt_name));
    assert_int_equal(cr_virt_remove_network(f.v, 0, pn->libvirt_name), 0);

    free(xml);
    close_fixture(&f);
}

static void test_virt_ensure_network_reports_bad_xml_with_the_name(void **state)
{
    (void)state;
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    bool changed = true;
    cr_error_clear();
    assert_int_equal(cr_virt_ensure_network(v, 0, "crange.badxml.t1.n", "<network><oops", &changed), CR_ERROR);
    assert_false(changed);
    assert_non_null(strstr(cr_error_message(), "define network 'crange.badxml.t1.n': "));
    cr_error_clear();
    assert_int_equal(cr_virt_close(v), 0);
}

static void test_virt_ensure_domain_twice_defines_and_starts_once(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "ens-dom", 1);
    ensure_network(&f, 1, "outside");
    const cr_plan_vm *pv = cr_plan_find_vm(f.p, 1, "attacker");
    char *xml = cr_xml_domain(f.p, pv, &f.img, "/nonexistent/overlay.qcow2", "qemu");
    bool defined = false, started = false;

    cr_error_clear();
    if (cr_virt_ensure_domain(f.v, 0, pv->domain, xml, false, false, &defined, &started) < 0)
        fail_msg("%s", cr_error_message());
    assert_true(defined);
    assert_true(started);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_RUNNING);

    assert_int_equal(cr_virt_ensure_domain(f.v, 1, pv->domain, xml, false, false, &defined, &started), 0);
    assert_false(defined);
    assert_false(started);

    /* A domain that stopped is started again, not redefined. */
    virDomainPtr d = NULL;
    assert_int_equal(cr_virt_domain(&d, f.v, 0, pv->domain), 0);
    assert_int_equal(virDomainDestroy(d), 0);
    virDomainFree(d);
    assert_int_equal(cr_virt_ensure_domain(f.v, 0, pv->domain, xml, false, false, &defined, &started), 0);
    assert_false(defined);
    assert_true(started);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_RUNNING);

    /* Removal twice. */
    assert_int_equal(cr_virt_remove_domain(f.v, 0, pv->domain), 0);
    assert_false(domain_exists(f.v, pv->domain));
    assert_int_equal(cr_virt_remove_domain(f.v, 1, pv->domain), 0);
    assert_int_equal(cr_virt_remove_network(f.v, 0, plan_net(f.p, 1, "outside")->libvirt_name), 0);

    free(xml);
    close_fixture(&f);
}

/* A paused domain is resumed when asked to run and left alone when asked
 * to stay paused. The domain is paused with virDomainSuspend, because the
 * test driver refuses VIR_DOMAIN_START_PAUSED (see the next test). */
static void test_virt_ensure_domain_resumes_a_paused_domain_only_when_asked(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "ens-pause", 1);
    ensure_network(&f, 1, "inside");
    const cr_plan_vm *pv = cr_plan_find_vm(f.p, 1, "victim");
    char *xml = cr_xml_domain(f.p, pv, &f.img, NULL, "qemu");
    bool defined, started;

    assert_int_equal(cr_virt_ensure_domain(f.v, 0, pv->domain, xml, false, false, &defined, &started), 0);
    virDomainPtr d = NULL;
    assert_int_equal(cr_virt_domain(&d, f.v, 0, pv->domain), 0);
    assert_int_equal(virDomainSuspend(d), 0);
    virDomainFree(d);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_PAUSED);

    /* Paused is what was asked: nothing to do. */
    assert_int_equal(cr_virt_ensure_domain(f.v, 0, pv->domain, xml, true, false, &defined, &started), 0);
    assert_false(defined);
    assert_false(started);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_PAUSED);
    /* Asked to run: resumed. */
    assert_int_equal(cr_virt_ensure_domain(f.v, 0, pv->domain, xml, false, false, &defined, &started), 0);
    assert_false(defined);
    assert_true(started);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_RUNNING);
    /* up's resume phase: a paused domain is resumed, a running one left. */
    assert_int_equal(cr_virt_domain(&d, f.v, 0, pv->domain), 0);
    assert_int_equal(virDomainSuspend(d), 0);
    virDomainFree(d);
    bool resumed = false;
    assert_int_equal(cr_virt_resume_domain(f.v, 0, pv->domain, &resumed), 0);
    assert_true(resumed);
    assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_RUNNING);
    assert_int_equal(cr_virt_resume_domain(f.v, 0, pv->domain, &resumed), 0);
    assert_false(resumed);
    /* An unknown domain is an error naming it. */
    assert_int_not_equal(cr_virt_resume_domain(f.v, 0, "crange.nope.t1.x", &resumed), 0);
    assert_non_null(strstr(cr_error_message(), "crange.nope.t1.x"));
    cr_error_clear();

    assert_int_equal(cr_virt_remove_domain(f.v, 0, pv->domain), 0);
    assert_int_equal(cr_virt_remove_network(f.v, 0, plan_net(f.p, 1, "inside")->libvirt_name), 0);
    free(xml);
    close_fixture(&f);
}

/* Starting paused (crange up --paused) needs VIR_DOMAIN_START_PAUSED, which
 * libvirt 9.0's test driver refuses; there this is skipped and only the
 * failure path is checked: the domain stays defined and the error names it,
 * so a second `up` can finish the job. The e2e tests cover it on QEMU. */
static void test_virt_ensure_domain_start_paused(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "ens-startp", 1);
    ensure_network(&f, 1, "inside");
    const cr_plan_vm *pv = cr_plan_find_vm(f.p, 1, "victim");
    char *xml = cr_xml_domain(f.p, pv, &f.img, NULL, "qemu");
    bool defined = false, started = true;

    cr_error_clear();
    int rc = cr_virt_ensure_domain(f.v, 0, pv->domain, xml, true, false, &defined, &started);
    bool supported = rc == 0;
    if (supported) {
        assert_true(defined);
        assert_true(started);
        assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_PAUSED);
    } else {
        assert_true(defined);
        assert_false(started);
        char *want = cr_xasprintf("start domain '%s': ", pv->domain);
        assert_non_null(strstr(cr_error_message(), want));
        free(want);
        assert_true(domain_exists(f.v, pv->domain));
        cr_error_clear();
        /* When the pause is only up's batching (pause_optional), a driver
         * that cannot start paused starts the domain running instead. */
        assert_int_equal(cr_virt_ensure_domain(f.v, 0, pv->domain, xml, true, true, &defined, &started), 0);
        assert_false(defined);
        assert_true(started);
        assert_int_equal(domain_state(f.v, pv->domain), VIR_DOMAIN_RUNNING);
        bool resumed = true;
        assert_int_equal(cr_virt_resume_domain(f.v, 0, pv->domain, &resumed), 0);
        assert_false(resumed);
    }
    assert_int_equal(cr_virt_remove_domain(f.v, 0, pv->domain), 0);
    assert_int_equal(cr_virt_remove_network(f.v, 0, plan_net(f.p, 1, "inside")->libvirt_name), 0);
    free(xml);
    close_fixture(&f);
    if (!supported) {
        fprintf(stderr, "this libvirt's test driver cannot start a domain paused; skipping\n");
        skip();
    }
}

static void test_virt_remove_domain_also_removes_a_transient_one(void **state)
{
    (void)state;
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    virDomainPtr d = virDomainCreateXML(cr_virt_conn(v, 0),
                                        "<domain type=\"test\"><name>crange.transient.t1.x</name>"
                                        "<memory>1024</memory><os><type>hvm</type></os></domain>",
                                        0);
    assert_non_null(d);
    virDomainFree(d);
    assert_int_equal(cr_virt_remove_domain(v, 0, "crange.transient.t1.x"), 0);
    assert_false(domain_exists(v, "crange.transient.t1.x"));
    assert_int_equal(cr_virt_close(v), 0);
}

/* A template VM an up killed while making it goes when no up holds its
 * lock, and so does a never-saved template's disk; a template another up
 * is making, and one of another state folder, stay (cr_template_sweep). */
static void test_template_sweep_removes_only_idle_half_made_templates(void **state)
{
    (void)state;
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 1), 0);
    char *root = tu_tmpdir();
    char key[3][65];
    for (int k = 0; k < 3; k++) {
        memset(key[k], "abc"[k], 64);
        key[k][64] = '\0';
        char *xml = cr_xasprintf("<domain type=\"test\"><name>crange-template-%.16s</name>"
                                 "<memory>1024</memory><os><type>hvm</type></os></domain>",
                                 key[k]);
        virDomainPtr d = virDomainCreateXML(cr_virt_conn(v, 0), xml, 0);
        assert_non_null(d);
        virDomainFree(d);
        free(xml);
    }
    /* a: idle, half made; b: being made (its lock held); c: not ours. */
    for (int k = 0; k < 2; k++) {
        char *name = cr_xasprintf("%s.lock", key[k]);
        tu_write(root, name, "");
        free(name);
        name = cr_xasprintf("%s.qcow2", key[k]);
        tu_write(root, name, "disk");
        free(name);
        name = cr_xasprintf("%s.save.tmp", key[k]);
        tu_write(root, name, "half");
        free(name);
    }
    char *lock_b = cr_xasprintf("%s/%s.lock", root, key[1]);
    int fd = open(lock_b, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);

    assert_int_equal(cr_template_sweep(v, root), 1);
    char *name = cr_xasprintf("crange-template-%.16s", key[0]);
    assert_false(domain_exists(v, name));
    free(name);
    for (int k = 1; k < 3; k++) {
        name = cr_xasprintf("crange-template-%.16s", key[k]);
        assert_true(domain_exists(v, name));
        assert_int_equal(cr_virt_remove_domain(v, 0, name), 0);
        free(name);
    }
    char *a_disk = cr_xasprintf("%s/%s.qcow2", root, key[0]), *a_tmp = cr_xasprintf("%s/%s.save.tmp", root, key[0]);
    char *b_disk = cr_xasprintf("%s/%s.qcow2", root, key[1]);
    assert_false(cr_path_exists(a_disk));
    assert_false(cr_path_exists(a_tmp));
    assert_true(cr_path_exists(b_disk));
    close(fd);
    free(a_disk);
    free(a_tmp);
    free(b_disk);
    free(lock_b);
    tu_rmtree(root);
    free(root);
    assert_int_equal(cr_virt_close(v), 0);
}

static void test_virt_domain_lookup_found_and_not_found(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "lookup", 1);
    ensure_vm(&f, 1, "attacker");
    virDomainPtr d = NULL;
    assert_int_equal(cr_virt_domain(&d, f.v, 1, "crange.lookup.t1.attacker"), 0);
    assert_non_null(d);
    assert_string_equal(virDomainGetName(d), "crange.lookup.t1.attacker");
    virDomainFree(d);

    cr_error_clear();
    assert_int_equal(cr_virt_domain(&d, f.v, 0, "crange.lookup.t1.nobody"), CR_ENOTFOUND);
    assert_null(d);
    assert_string_equal(cr_error_message(), "no domain 'crange.lookup.t1.nobody' on test:///default");
    cr_error_clear();

    assert_int_equal(cr_virt_remove_domain(f.v, 0, "crange.lookup.t1.attacker"), 0);
    close_fixture(&f);
}

/* ------------------------------------------------------------ storage */

static void test_virt_pool_and_volume_ensure_twice_then_remove_twice(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = cr_path_join(dir, "pool");
    cr_virt *v = NULL;
    assert_int_equal(cr_virt_open(&v, URI, 2), 0);
    cr_image img = fake_image();
    bool changed = false;

    cr_error_clear();
    if (cr_virt_ensure_pool(v, 0, "crange.store", path, &changed) < 0) {
        /* A libvirt whose test driver lacks dir pools cannot run this. */
        const char *why = cr_error_message();
        cr_virt_close(v);
        free(path);
        tu_rmtree(dir);
        free(dir);
        fprintf(stderr, "test driver refused a dir pool (%s); skipping\n", why);
        skip();
    }
    assert_true(changed);
    assert_int_equal(cr_virt_ensure_pool(v, 1, "crange.store", path, &changed), 0);
    assert_false(changed);

    /* The same name over another folder (a second state folder on one
     * libvirtd, as the fixed template pool's name allows) is redefined
     * there, and back. */
    char *other = cr_path_join(dir, "other");
    assert_int_equal(cr_virt_ensure_pool(v, 0, "crange.store", other, &changed), 0);
    assert_true(changed);
    virStoragePoolPtr moved = virStoragePoolLookupByName(cr_virt_conn(v, 0), "crange.store");
    assert_non_null(moved);
    char *moved_xml = virStoragePoolGetXMLDesc(moved, 0);
    char *want_path = cr_xasprintf("<path>%s</path>", other);
    assert_non_null(strstr(moved_xml, want_path));
    free(want_path);
    free(moved_xml);
    virStoragePoolFree(moved);
    assert_int_equal(cr_virt_ensure_pool(v, 0, "crange.store", path, &changed), 0);
    assert_true(changed);
    assert_int_equal(cr_virt_ensure_pool(v, 0, "crange.store", path, &changed), 0);
    assert_false(changed);
    free(other);

    char *xml = cr_xml_volume("t1.vm.qcow2", img.disk, img.disk_virtual_size);
    char *vpath = NULL;
    if (cr_virt_ensure_volume(v, 0, "crange.store", "t1.vm.qcow2", xml, &vpath, &changed) < 0)
        fail_msg("volume: %s", cr_error_message());
    assert_true(changed);
    char *want = cr_path_join(path, "t1.vm.qcow2");
    assert_string_equal(vpath, want);
    free(vpath);
    assert_int_equal(cr_virt_ensure_volume(v, 1, "crange.store", "t1.vm.qcow2", xml, &vpath, &changed), 0);
    assert_false(changed);
    assert_string_equal(vpath, want);
    free(vpath);
    free(want);

    /* A volume in a pool that does not exist fails with the pool's name. */
    cr_error_clear();
    assert_true(cr_virt_ensure_volume(v, 0, "crange.nopool", "t1.vm.qcow2", xml, &vpath, &changed) < 0);
    assert_null(vpath);
    assert_non_null(strstr(cr_error_message(), "storage pool 'crange.nopool'"));
    cr_error_clear();

    assert_int_equal(cr_virt_remove_pool(v, 0, "crange.store"), 0);
    virStoragePoolPtr p = virStoragePoolLookupByName(cr_virt_conn(v, 0), "crange.store");
    assert_null(p);
    assert_int_equal(cr_virt_remove_pool(v, 1, "crange.store"), 0);

    /* An inactive pool with volumes is started to empty it, then removed. */
    assert_int_equal(cr_virt_ensure_pool(v, 0, "crange.store2", path, &changed), 0);
    assert_int_equal(cr_virt_ensure_volume(v, 0, "crange.store2", "t1.a.qcow2", xml, &vpath, &changed), 0);
    free(vpath);
    p = virStoragePoolLookupByName(cr_virt_conn(v, 0), "crange.store2");
    assert_int_equal(virStoragePoolDestroy(p), 0);
    virStoragePoolFree(p);
    assert_int_equal(cr_virt_remove_pool(v, 0, "crange.store2"), 0);
    p = virStoragePoolLookupByName(cr_virt_conn(v, 0), "crange.store2");
    assert_null(p);

    free(xml);
    assert_int_equal(cr_virt_close(v), 0);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------ scan */

static void test_virt_scan_finds_the_range_by_metadata_only(void **state)
{
    (void)state;
    fixture a, b;
    open_fixture(&a, "scan-a", 2);
    /* The second plan shares the first's connections' state (same process,
     * same URI), which is what lets both ranges coexist here. */
    memset(&b, 0, sizeof b);
    b.s = load_demo(1);
    b.p = build(b.s, "scan-b");
    b.img = fake_image();
    b.v = a.v;

    ensure_vm(&a, 1, "attacker"); /* + network outside of team 1 */
    ensure_vm(&a, 2, "victim");   /* + network inside of team 2 */
    ensure_vm(&b, 1, "attacker");

    /* Named like ours, but no metadata: someone else's. */
    define_raw_domain(a.v, "<domain type=\"test\"><name>crange.scan-a.x</name><memory>1024</memory>"
                           "<os><type>hvm</type></os></domain>");
    virNetworkPtr n = virNetworkDefineXML(cr_virt_conn(a.v, 0), "<network><name>crange.scan-a.y</name>"
                                                                "<bridge name=\"crfake0\"/></network>");
    assert_non_null(n);
    virNetworkFree(n);
    /* Named like range a, but the metadata says range b: not range a's. */
    define_raw_domain(a.v, "<domain type=\"test\"><name>crange.scan-a.t1.imposter</name><memory>1024</memory>"
                           "<metadata><c:object xmlns:c=\"urn:crange:range:1\" range=\"scan-b\" team=\"1\" "
                           "scenario=\"demo\" name=\"imposter\" kind=\"vm\"/></metadata>"
                           "<os><type>hvm</type></os></domain>");
    /* Range a's pool, and a pool whose name only starts like it. */
    bool changed;
    /* (libvirt refuses two pools on one folder.) */
    char *dir = tu_tmpdir();
    char *dir_a = cr_path_join(dir, "a"), *dir_extra = cr_path_join(dir, "extra");
    assert_int_equal(cr_virt_ensure_pool(a.v, 0, "crange.scan-a", dir_a, &changed), 0);
    assert_int_equal(cr_virt_ensure_pool(a.v, 0, "crange.scan-a.extra", dir_extra, &changed), 0);
    free(dir_a);
    free(dir_extra);

    cr_found found;
    cr_error_clear();
    if (cr_virt_scan(&found, a.v, "scan-a") < 0)
        fail_msg("scan: %s", cr_error_message());
    assert_int_equal(found.n_doms, 2);
    assert_int_equal(found.n_nets, 2);
    assert_int_equal(found.n_pools, 1);

    const cr_found_dom *fd = cr_found_domain(&found, "crange.scan-a.t1.attacker");
    assert_non_null(fd);
    assert_string_equal(fd->meta.range, "scan-a");
    assert_int_equal(fd->meta.team, 1);
    assert_string_equal(fd->meta.name, "attacker");
    assert_string_equal(fd->meta.kind, "vm");
    assert_string_equal(fd->meta.scenario, "demo");
    assert_int_equal(fd->state, VIR_DOMAIN_RUNNING);
    assert_true(fd->persistent);
    fd = cr_found_domain(&found, "crange.scan-a.t2.victim");
    assert_non_null(fd);
    assert_int_equal(fd->meta.team, 2);
    assert_null(cr_found_domain(&found, "crange.scan-a.x"));
    assert_null(cr_found_domain(&found, "crange.scan-a.t1.imposter"));
    assert_null(cr_found_domain(&found, "crange.scan-b.t1.attacker"));

    const cr_found_net *fn = cr_found_network(&found, "crange.scan-a.t1.outside");
    assert_non_null(fn);
    assert_string_equal(fn->meta.kind, "network");
    assert_string_equal(fn->meta.name, "outside");
    assert_true(fn->active);
    assert_true(fn->persistent);
    assert_non_null(cr_found_network(&found, "crange.scan-a.t2.inside"));
    assert_null(cr_found_network(&found, "crange.scan-a.y"));
    assert_null(cr_found_network(&found, "crange.scan-b.t1.outside"));

    assert_string_equal(found.pools[0].name, "crange.scan-a");
    assert_string_equal(found.pools[0].range, "scan-a");
    assert_true(found.pools[0].active);
    cr_found_free(&found);
    assert_int_equal(found.n_doms, 0);
    assert_null(found.doms);

    /* Every range: both ranges' objects, and still nobody else's. */
    assert_int_equal(cr_virt_scan(&found, a.v, NULL), 0);
    assert_non_null(cr_found_domain(&found, "crange.scan-a.t1.attacker"));
    assert_non_null(cr_found_domain(&found, "crange.scan-b.t1.attacker"));
    assert_non_null(cr_found_network(&found, "crange.scan-b.t1.outside"));
    assert_null(cr_found_domain(&found, "crange.scan-a.x"));
    assert_null(cr_found_domain(&found, "test"));
    assert_null(cr_found_network(&found, "default"));
    assert_null(cr_found_network(&found, "crange.scan-a.y"));
    const cr_found_dom *imp = cr_found_domain(&found, "crange.scan-a.t1.imposter");
    if (imp) /* reported at most under the range its metadata names */
        assert_string_equal(imp->meta.range, "scan-b");
    for (size_t i = 0; i < found.n_pools; i++)
        assert_string_not_equal(found.pools[i].name, "default-pool");
    cr_found_free(&found);

    /* Range b alone. */
    assert_int_equal(cr_virt_scan(&found, a.v, "scan-b"), 0);
    assert_int_equal(found.n_doms, 1);
    assert_int_equal(found.n_nets, 1);
    assert_int_equal(found.n_pools, 0);
    cr_found_free(&found);

    /* After removal, the scan is empty. */
    const char *doms[] = {"crange.scan-a.t1.attacker", "crange.scan-a.t2.victim", "crange.scan-b.t1.attacker",
                          "crange.scan-a.x", "crange.scan-a.t1.imposter"};
    for (size_t i = 0; i < sizeof doms / sizeof *doms; i++)
        assert_int_equal(cr_virt_remove_domain(a.v, 0, doms[i]), 0);
    const char *nets[] = {"crange.scan-a.t1.outside", "crange.scan-a.t2.inside", "crange.scan-b.t1.outside",
                          "crange.scan-a.y"};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        assert_int_equal(cr_virt_remove_network(a.v, 0, nets[i]), 0);
    assert_int_equal(cr_virt_remove_pool(a.v, 0, "crange.scan-a"), 0);
    assert_int_equal(cr_virt_remove_pool(a.v, 0, "crange.scan-a.extra"), 0);
    assert_int_equal(cr_virt_scan(&found, a.v, "scan-a"), 0);
    assert_int_equal(found.n_doms + found.n_nets + found.n_pools, 0);
    cr_found_free(&found);

    tu_rmtree(dir);
    free(dir);
    cr_plan_free(b.p);
    cr_scenario_free(b.s);
    close_fixture(&a);
}

static void test_virt_scan_does_not_confuse_a_range_with_a_longer_name(void **state)
{
    (void)state;
    fixture a, b;
    open_fixture(&a, "pre", 1);
    memset(&b, 0, sizeof b);
    b.s = load_demo(1);
    b.p = build(b.s, "pre-fix");
    b.img = fake_image();
    b.v = a.v;
    ensure_vm(&a, 1, "attacker");
    ensure_vm(&b, 1, "attacker");

    cr_found found;
    assert_int_equal(cr_virt_scan(&found, a.v, "pre"), 0);
    assert_int_equal(found.n_doms, 1);
    assert_string_equal(found.doms[0].name, "crange.pre.t1.attacker");
    assert_int_equal(found.n_nets, 1);
    cr_found_free(&found);

    assert_int_equal(cr_virt_remove_domain(a.v, 0, "crange.pre.t1.attacker"), 0);
    assert_int_equal(cr_virt_remove_domain(a.v, 0, "crange.pre-fix.t1.attacker"), 0);
    assert_int_equal(cr_virt_remove_network(a.v, 0, "crange.pre.t1.outside"), 0);
    assert_int_equal(cr_virt_remove_network(a.v, 0, "crange.pre-fix.t1.outside"), 0);
    cr_plan_free(b.p);
    cr_scenario_free(b.s);
    close_fixture(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virt_open_3_connections_and_close_leaks_nothing),
        cmocka_unit_test(test_virt_close_reports_a_leaked_reference),
        cmocka_unit_test(test_virt_open_failure_names_the_uri),
        cmocka_unit_test(test_xml_network_isolated_has_no_forward_and_no_ip),
        cmocka_unit_test(test_xml_domain_boots_the_kernel_with_the_plan_on_its_cmdline),
        cmocka_unit_test(test_xml_pool_and_volume_escape_and_back_the_image),
        cmocka_unit_test(test_meta_parse_reads_a_full_network_document),
        cmocka_unit_test(test_meta_parse_reads_the_bare_element_libvirt_returns),
        cmocka_unit_test(test_meta_parse_rejects_garbage_and_foreign_xml),
        cmocka_unit_test(test_virt_ensure_network_twice_changes_once),
        cmocka_unit_test(test_virt_ensure_network_reports_bad_xml_with_the_name),
        cmocka_unit_test(test_virt_ensure_domain_twice_defines_and_starts_once),
        cmocka_unit_test(test_virt_ensure_domain_resumes_a_paused_domain_only_when_asked),
        cmocka_unit_test(test_virt_ensure_domain_start_paused),
        cmocka_unit_test(test_virt_remove_domain_also_removes_a_transient_one),
        cmocka_unit_test(test_template_sweep_removes_only_idle_half_made_templates),
        cmocka_unit_test(test_virt_domain_lookup_found_and_not_found),
        cmocka_unit_test(test_virt_pool_and_volume_ensure_twice_then_remove_twice),
        cmocka_unit_test(test_virt_scan_finds_the_range_by_metadata_only),
        cmocka_unit_test(test_virt_scan_does_not_confuse_a_range_with_a_longer_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
