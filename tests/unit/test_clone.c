/*
 * test_clone.c: a clone's domain XML (clone.h) from a template's saved XML
 * (as libvirt 9.0 wrote it for a demo VM) and the XML generated for the
 * clone: the identity fields change, the devices libvirt laid out do not,
 * and templates and clones that disagree on their devices are refused; the
 * XML a template boots from, and the MACs read back from a saved XML; the
 * translation cache a clone runs with, and its definition keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clone.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

static const char template_xml[] =
    "<domain type='qemu'>\n"
    "  <name>crange.po.t1.victim</name>\n"
    "  <uuid>b50f4fa9-8fa4-4f5b-84d6-cd8ef00d8339</uuid>\n"
    "  <metadata>\n"
    "    <crange:object xmlns:crange=\"urn:crange:range:1\" range=\"po\" team=\"1\" scenario=\"demo\" "
    "name=\"victim\" kind=\"vm\" digest=\"aaaa\"/>\n"
    "  </metadata>\n"
    "  <memory unit='KiB'>131072</memory>\n"
    "  <os>\n"
    "    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n"
    "    <cmdline>console=ttyS0 crange.net=52:54:00:42:06:36/10.20.0.20/24</cmdline>\n"
    "  </os>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/state/overlays/po/t1.victim.qcow2'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n"
    "    </disk>\n"
    "    <interface type='network'>\n"
    "      <mac address='52:54:00:42:06:36'/>\n"
    "      <source network='crange.po.t1.inside'/>\n"
    "      <model type='virtio'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
    "    </interface>\n"
    "    <serial type='pty'>\n"
    "      <log file='/var/log/libvirt/qemu/crange.po.t1.victim.console.log' append='on'/>\n"
    "    </serial>\n"
    "    <console type='pty'>\n"
    "      <log file='/var/log/libvirt/qemu/crange.po.t1.victim.console.log' append='on'/>\n"
    "    </console>\n"
    "  </devices>\n"
    "</domain>\n";

static const char identity_xml[] =
    "<domain type='qemu'>\n"
    "  <name>crange.po.t2.victim</name>\n"
    "  <metadata>\n"
    "    <crange:object xmlns:crange=\"urn:crange:range:1\" range=\"po\" team=\"2\" scenario=\"demo\" "
    "name=\"victim\" kind=\"vm\" digest=\"bbbb\"/>\n"
    "  </metadata>\n"
    "  <os><type>hvm</type><cmdline>console=ttyS0 crange.net=52:54:00:11:22:33/10.20.0.20/24</cmdline></os>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='/state/overlays/po/t2&amp;x&lt;y.qcow2'/></disk>\n"
    "    <interface type='network'><mac address='52:54:00:11:22:33'/><source network='crange.po.t2.inside'/>"
    "</interface>\n"
    "    <serial type='pty'><log file='/var/log/libvirt/qemu/crange.po.t2.victim.console.log'/></serial>\n"
    "    <console type='pty'><log file='/var/log/libvirt/qemu/crange.po.t2.victim.console.log'/></console>\n"
    "  </devices>\n"
    "</domain>\n";

static void test_identity_changes_devices_stay(void **state)
{
    (void)state;
    char *xml = NULL;
    assert_int_equal(cr_clone_xml(&xml, template_xml, identity_xml), 0);
    assert_non_null(xml);
    assert_null(strstr(xml, "<?xml"));
    assert_non_null(strstr(xml, "<name>crange.po.t2.victim</name>"));
    assert_null(strstr(xml, "<uuid>"));
    assert_null(strstr(xml, "t1"));
    assert_non_null(strstr(xml, "team=\"2\""));
    assert_non_null(strstr(xml, "digest=\"bbbb\""));
    assert_non_null(strstr(xml, "/state/overlays/po/t2&amp;x&lt;y.qcow2"));
    assert_non_null(strstr(xml, "crange.po.t2.inside"));
    assert_non_null(strstr(xml, "52:54:00:11:22:33'") || strstr(xml, "52:54:00:11:22:33\""));
    assert_non_null(strstr(xml, "crange.po.t2.victim.console.log"));
    /* What the memory image depends on is the template's. */
    assert_non_null(strstr(xml, "machine=\"pc-i440fx-7.2\"") ? strstr(xml, "machine=\"pc-i440fx-7.2\"")
                                                              : strstr(xml, "machine='pc-i440fx-7.2'"));
    assert_non_null(strstr(xml, "slot=\"0x04\"") ? strstr(xml, "slot=\"0x04\"") : strstr(xml, "slot='0x04'"));
    /* The command line is the clone's, for when it boots cold. */
    assert_non_null(strstr(xml, "crange.net=52:54:00:11:22:33"));
    free(xml);
}

static void test_template_xml_and_macs(void **state)
{
    (void)state;
    char *xml = NULL;
    assert_int_equal(cr_clone_template_xml(&xml, identity_xml, "crange-template-0123", "/log/t.log"), 0);
    assert_non_null(strstr(xml, "<name>crange-template-0123</name>"));
    assert_null(strstr(xml, "metadata"));
    assert_null(strstr(xml, "crange.po.t2.victim.console.log"));
    assert_non_null(strstr(xml, "/log/t.log"));
    assert_non_null(strstr(xml, "type=\"ethernet\""));
    assert_null(strstr(xml, "crange.po.t2.inside")); /* on no team's network */
    /* A clone of a template with unattached NICs is on its team's network. */
    char *clone = NULL;
    assert_int_equal(cr_clone_xml(&clone, xml, identity_xml), 0);
    assert_null(strstr(clone, "ethernet"));
    assert_non_null(strstr(clone, "type=\"network\"") ? strstr(clone, "type=\"network\"") : strstr(clone, "type='network'"));
    assert_non_null(strstr(clone, "crange.po.t2.inside"));
    free(clone);
    char **macs = NULL;
    size_t n = 0;
    assert_int_equal(cr_clone_macs(&macs, &n, template_xml), 0);
    assert_int_equal(n, 1);
    assert_string_equal(macs[0], "52:54:00:42:06:36");
    assert_null(macs[1]);
    free(macs[0]);
    free(macs);
    free(xml);
}

static void test_refuses_other_devices(void **state)
{
    (void)state;
    char *xml = (char *)"x";
    cr_error_clear();
    char *two_nics = strdup(identity_xml);
    char *at = strstr(two_nics, "</devices>");
    size_t head = (size_t)(at - two_nics);
    char *patched = malloc(strlen(two_nics) + 200);
    memcpy(patched, two_nics, head);
    strcpy(patched + head, "<interface type='network'><mac address='52:54:00:00:00:01'/>"
                           "<source network='crange.po.t2.outside'/></interface>");
    strcat(patched, at);
    assert_int_equal(cr_clone_xml(&xml, template_xml, patched), CR_EINVAL);
    assert_null(xml);
    assert_non_null(strstr(cr_error_message(), "the clone has 2 NICs, its template 1"));
    free(patched);
    free(two_nics);

    cr_error_clear();
    assert_int_equal(cr_clone_xml(&xml, "<domain><name>x</name>", identity_xml), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "template's domain XML"));
    cr_error_clear();
    assert_int_equal(cr_clone_xml(&xml, template_xml, "<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                                                      "<domain><name>&e;</name></domain>"),
                     CR_EINVAL); /* an external entity is never fetched: the device counts differ */
    assert_null(xml);
}

/* Shared RAM (template.h): the template's arguments map the file shared and
 * wait for crange's monitor; a clone's map it private; a definition waits
 * for nothing; a second call replaces the first's arguments; commas in a
 * path are doubled, so a path cannot add QEMU options of its own. */
static void test_ram_arguments(void **state)
{
    (void)state;
    char *tpl = NULL, *clone = NULL, *def = NULL, *none = NULL;
    assert_int_equal(cr_clone_ram_xml(&tpl, template_xml, "/st/t,share=on/k.ram", 128, true, "/st/qmp/a.sock"), 0);
    assert_non_null(strstr(tpl, "xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\""));
    assert_non_null(strstr(tpl, "<qemu:arg value=\"memory-backend-file,id=crange.ram,size=128M,"
                                "mem-path=/st/t,,share=on/k.ram,share=on\"/>"));
    assert_non_null(strstr(tpl, "<qemu:arg value=\"memory-backend=crange.ram\"/>"));
    assert_non_null(strstr(tpl, "<qemu:arg value=\"unix:/st/qmp/a.sock,server=on,wait=on\"/>"));
    assert_non_null(strstr(tpl, "<name>crange.po.t1.victim</name>")); /* the rest stays */

    assert_int_equal(cr_clone_ram_xml(&clone, tpl, "/st/t,share=on/k.ram", 128, false, "/st/qmp/b.sock"), 0);
    assert_non_null(strstr(clone, "k.ram,share=off\"/>"));
    assert_null(strstr(clone, "a.sock"));
    assert_non_null(strstr(clone, "unix:/st/qmp/b.sock,server=on,wait=on"));
    const char *first = strstr(clone, "<qemu:commandline");
    assert_non_null(first);
    assert_null(strstr(first + 1, "<qemu:commandline")); /* replaced, not added */
    assert_null(strstr(clone, "xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\" xmlns:qemu"));

    assert_int_equal(cr_clone_ram_xml(&def, clone, "/st/t,share=on/k.ram", 128, false, NULL), 0);
    assert_null(strstr(def, "-qmp"));
    assert_null(strstr(def, "wait=on"));
    assert_non_null(strstr(def, "share=off"));

    assert_int_equal(cr_clone_ram_xml(&none, def, NULL, 0, false, NULL), 0);
    assert_null(strstr(none, "qemu:commandline"));
    assert_null(strstr(none, "memory-backend-file"));
    free(none);
    free(def);
    free(clone);
    free(tpl);

    char *bad = (char *)"x";
    cr_error_clear();
    assert_int_equal(cr_clone_ram_xml(&bad, "<domain>", "/r", 1, true, NULL), CR_EINVAL);
    assert_null(bad);
}

/* libvirt writes the cache in KiB; crange sets it in MiB, and a domain
 * without one (KVM) is left as it was. */
static void test_tb_cache(void **state)
{
    (void)state;
    static const char live[] = "<domain type='qemu'><name>c</name><features><acpi/>"
                               "<tcg><tb-cache unit='KiB'>65536</tb-cache></tcg></features></domain>";
    char *small = NULL, *back = NULL, *kvm = NULL;
    assert_int_equal(cr_clone_tb_cache(&small, live, 32), 0);
    assert_non_null(strstr(small, "<tcg><tb-cache unit=\"MiB\">32</tb-cache></tcg>"));
    assert_null(strstr(small, "65536"));
    assert_non_null(strstr(small, "<acpi/>"));
    assert_int_equal(cr_clone_tb_cache(&back, small, 64), 0);
    assert_non_null(strstr(back, "<tb-cache unit=\"MiB\">64</tb-cache>"));
    assert_int_equal(cr_clone_tb_cache(&kvm, "<domain type='kvm'><name>k</name><features><acpi/></features></domain>", 32),
                     0);
    assert_null(strstr(kvm, "tb-cache"));
    free(kvm);
    free(back);
    free(small);

    char *bad = (char *)"x";
    cr_error_clear();
    assert_int_equal(cr_clone_tb_cache(&bad, "<domain><features>", 32), CR_EINVAL);
    assert_null(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_changes_devices_stay),
        cmocka_unit_test(test_refuses_other_devices),
        cmocka_unit_test(test_template_xml_and_macs),
        cmocka_unit_test(test_ram_arguments),
        cmocka_unit_test(test_tb_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
