/*
 * test_hosts.c: the host list of hosts.h (hosts.json written and read back,
 * hostile files refused with the file named, names, URIs and labels
 * checked, --hosts selections) and the placement of VMs by capacity:
 * teams in proportion to memory and vCPUs, VMs kept where they live, a
 * team no host holds whole spread over several (its networks joined by
 * VXLAN in the plan), and an error that says what each host has left when
 * a VM fits nowhere. The
 * scenarios are real ones loaded by the Lua loader; nothing touches libvirt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "hosts.h"
#include "plan.h"
#include "scenario.h"
#include "template.h"
#include "testutil.h"
#include "util.h"
#include "virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One VM of 512 MiB and 2 vCPUs per team: a team needs 576 MiB, 2 vCPUs. */
static const char SCENARIO[] =
    "scenario { id = \"placed\", title = { ja = \"配置\", en = \"Placed\" },\n"
    "  description = { ja = \"説明\", en = \"Placement\" }, teams = %d }\n"
    "local a = network { name = \"lan\", cidr = \"10.1.0.0/24\" }\n"
    "vm { name = \"box\", image = \"tiny\", memory = 512, vcpus = 2,\n"
    "  nics = { { network = a, address = a:host(10) } } }\n";

static cr_scenario *load(char **dir, int teams)
{
    char *text = cr_xasprintf(SCENARIO, teams);
    cr_scenario *s = tu_scenario_from_text(dir, text);
    free(text);
    return s;
}

static void test_team_needs_its_vms_memory_plus_qemu_and_their_vcpus(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 1);
    assert_int_equal(cr_place_team_mib(&s->teams[0]), 512 + CR_PLACE_VM_OVERHEAD_MIB);
    assert_int_equal(cr_place_team_vcpus(&s->teams[0]), 2);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_teams_go_where_most_memory_is_left(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 6);
    /* b has room for 8 teams, a for 4: they fill in proportion, 4 and 2. */
    cr_place_host h[] = {{.uri = "a", .memory_mib = 1024 + 4 * 576, .cpus = 4},
                         {.uri = "b", .memory_mib = 1024 + 8 * 576, .cpus = 4}};
    int where[6];
    assert_int_equal(cr_place_vms(where, s, h, 2, NULL), 0);
    int on_b = 0;
    for (int t = 0; t < 6; t++)
        on_b += where[t] == 1;
    assert_int_equal(on_b, 4);
    assert_int_equal(where[0], 1); /* the first goes to the roomiest */
    assert_int_equal(h[0].used_mib + h[1].used_mib, 6 * 576);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_a_team_that_lives_somewhere_stays_there(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 3);
    cr_place_host h[] = {{.uri = "a", .memory_mib = 64 * 1024, .cpus = 8},
                         {.uri = "b", .memory_mib = 64 * 1024, .cpus = 8}};
    /* All three would balance 2/1 from a; teams 1 and 2 already live on b. */
    int keep[] = {1, 1, -1};
    int where[3];
    assert_int_equal(cr_place_vms(where, s, h, 2, keep), 0);
    assert_int_equal(where[0], 1);
    assert_int_equal(where[1], 1);
    assert_int_equal(where[2], 0); /* the new one goes where room is */
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_vcpus_count_in_the_load_but_never_refuse(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 4);
    /* a has 4 times b's memory but a quarter of its CPUs (8 vCPUs, 4 teams'
     * worth): a's vCPUs fill as fast as b's memory, and the teams spread 2
     * and 2 (a first on each tie), where memory alone would give a 3. */
    cr_place_host h[] = {{.uri = "a", .memory_mib = 1024 + 16 * 576, .cpus = 1},
                         {.uri = "b", .memory_mib = 1024 + 4 * 576, .cpus = 4}};
    int where[4];
    assert_int_equal(cr_place_vms(where, s, h, 2, NULL), 0);
    int on_a = 0;
    for (int t = 0; t < 4; t++)
        on_a += where[t] == 0;
    assert_int_equal(on_a, 2);
    /* Over its vCPUs a host still takes teams when its memory allows. */
    cr_place_host one[] = {{.uri = "c", .memory_mib = 1024 + 4 * 576, .cpus = 1}};
    assert_int_equal(cr_place_vms(where, s, one, 1, NULL), 0);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_a_team_that_fits_nowhere_says_what_each_host_has_left(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 3);
    cr_place_host h[] = {{.uri = "qemu+tcp://a/system", .memory_mib = 1024 + 576, .cpus = 2},
                         {.uri = "qemu+tcp://b/system", .memory_mib = 1024 + 700, .cpus = 2}};
    int where[3];
    cr_error_clear();
    assert_int_equal(cr_place_vms(where, s, h, 2, NULL), CR_ELIMIT);
    const char *m = cr_error_message();
    assert_non_null(strstr(m, "team 3: vm 'box' needs 576 MiB"));
    assert_non_null(strstr(m, "qemu+tcp://a/system: 0 MiB"));
    assert_non_null(strstr(m, "qemu+tcp://b/system: 124 MiB"));
    cr_error_clear();
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_hosts_are_saved_and_read_back(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cr_hosts h;
    assert_int_equal(cr_hosts_load(&h, dir), 0);
    assert_int_equal(h.n, 0); /* no file: no hosts */
    const char *labels[] = {"room=B203", "rack=2"};
    assert_int_equal(cr_hosts_add(&h, "lab1", "qemu+ssh://root@lab1/system", 65536, 16, "192.0.2.7", labels, 2), 0);
    assert_int_equal(cr_hosts_add(&h, "here", "qemu:///system", 0, 0, NULL, NULL, 0), 0);
    assert_int_equal(cr_hosts_save(&h, dir), 0);
    cr_hosts_free(&h);

    assert_int_equal(cr_hosts_load(&h, dir), 0);
    assert_int_equal(h.n, 2);
    const cr_host *x = cr_hosts_find(&h, "lab1");
    assert_non_null(x);
    assert_string_equal(x->uri, "qemu+ssh://root@lab1/system");
    assert_int_equal(x->memory_mib, 65536);
    assert_int_equal(x->cpus, 16);
    assert_string_equal(x->address, "192.0.2.7");
    assert_string_equal(json_string_value(json_object_get(x->labels, "room")), "B203");
    assert_int_equal(cr_hosts_remove(&h, "lab1"), 0);
    assert_int_equal(cr_hosts_remove(&h, "lab1"), CR_ENOTFOUND);
    cr_error_clear();
    assert_int_equal(h.n, 1);
    cr_hosts_free(&h);
    tu_rmtree(dir);
    free(dir);
}

static void test_bad_names_uris_and_labels_are_refused(void **state)
{
    (void)state;
    cr_hosts h = {0};
    struct {
        const char *name, *uri, *label, *expect, *addr;
    } bad[] = {
        {"lab", "qemu:///system", NULL, "is not an IPv4 address", "10.0.0.256"},
        {"Lab", "qemu:///system", NULL, "host name 'Lab'", NULL},
        {"all", "qemu:///system", NULL, "taken by --hosts all", NULL},
        {"lab", "lab2", NULL, "is not a libvirt URI", NULL},
        {"lab", "qemu+ssh://a b/system", NULL, "has a character", NULL},
        {"lab", "qemu+ssh://a\"/system", NULL, "has a character", NULL},
        {"lab", "QEMU://a/system", NULL, "bad scheme", NULL},
        {"lab", "qemu:///system", "room", "must be KEY=VALUE", NULL},
        {"lab", "qemu:///system", "Room=1", "label key 'Room'", NULL},
        {"lab", "qemu:///system", "room=a\nb", "control character", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_error_clear();
        const char *labels[] = {bad[i].label};
        int rc = cr_hosts_add(&h, bad[i].name, bad[i].uri, 0, 0, bad[i].addr, labels, bad[i].label ? 1 : 0);
        if (rc != CR_EINVAL || !strstr(cr_error_message(), bad[i].expect))
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, cr_error_message(), bad[i].expect);
    }
    cr_error_clear();
    assert_int_equal(cr_hosts_add(&h, "a", "qemu:///system", 0, 0, NULL, NULL, 0), 0);
    assert_int_equal(cr_hosts_add(&h, "b", "qemu:///system", 0, 0, NULL, NULL, 0), CR_EEXISTS);
    cr_error_clear();
    assert_int_equal(h.n, 1);
    cr_hosts_free(&h);
}

static void test_a_hostile_hosts_file_is_refused_naming_it(void **state)
{
    (void)state;
    const char *files[] = {
        "{not json",
        "{\"hosts\": 3}",
        "{\"hosts\": [{\"name\": \"a\"}]}",
        "{\"hosts\": [{\"name\": \"a\", \"uri\": \"qemu:///system\", \"cpus\": -1}]}",
        "{\"hosts\": [{\"name\": \"a\", \"uri\": \"qemu:///system\", \"labels\": []}]}",
        "{\"hosts\": [{\"name\": \"a\", \"uri\": \"qemu:///system\"}, {\"name\": \"a\", \"uri\": \"test:///default\"}]}",
        "{\"hosts\": [{\"name\": \"a\", \"uri\": \"qemu:///sys tem\"}]}",
        "{\"hosts\": [], \"hosts\": []}",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *dir = tu_tmpdir();
        tu_write(dir, "hosts.json", files[i]);
        cr_hosts h;
        cr_error_clear();
        int rc = cr_hosts_load(&h, dir);
        if (rc >= 0 || !strstr(cr_error_message(), "hosts.json"))
            fail_msg("file %zu: rc %d, message '%s'", i, rc, cr_error_message());
        assert_int_equal(h.n, 0);
        cr_error_clear();
        tu_rmtree(dir);
        free(dir);
    }
}

static void test_hosts_selects_all_or_named_hosts_in_order(void **state)
{
    (void)state;
    cr_hosts h = {0};
    char **v = NULL;
    size_t n = 0;
    assert_int_equal(cr_hosts_select(&v, &n, &h, "all"), CR_ENOTFOUND);
    cr_error_clear();
    assert_int_equal(cr_hosts_add(&h, "a", "qemu+tcp://a/system", 0, 0, NULL, NULL, 0), 0);
    assert_int_equal(cr_hosts_add(&h, "b", "qemu+tcp://b/system", 0, 0, NULL, NULL, 0), 0);
    assert_int_equal(cr_hosts_select(&v, &n, &h, "b,a"), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "qemu+tcp://b/system");
    assert_string_equal(v[1], "qemu+tcp://a/system");
    cr_strv_free(v, n);
    assert_int_equal(cr_hosts_select(&v, &n, &h, "all"), 0);
    assert_int_equal(n, 2);
    cr_strv_free(v, n);
    assert_int_equal(cr_hosts_select(&v, &n, &h, "a,c"), CR_ENOTFOUND);
    assert_non_null(strstr(cr_error_message(), "no host 'c'"));
    cr_error_clear();
    assert_int_equal(cr_hosts_select(&v, &n, &h, "a,a"), CR_EINVAL);
    cr_error_clear();
    assert_int_equal(cr_hosts_select(&v, &n, &h, ","), CR_EINVAL);
    cr_error_clear();
    cr_hosts_free(&h);
}

static void test_plan_puts_each_team_on_its_placed_host(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load(&dir, 3);
    const char *const hosts[] = {"qemu+tcp://a/system", "qemu+tcp://b/system"};
    int where[] = {1, 1, 0};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 2, where), 0);
    for (size_t i = 0; i < p->n_vms; i++)
        assert_int_equal(p->vms[i].host, where[p->vms[i].team - 1]);
    for (size_t i = 0; i < p->n_nets; i++)
        assert_int_equal(p->nets[i].host, where[p->nets[i].team - 1]);
    cr_plan_free(p);
    int bad[] = {0, 2, 0};
    cr_error_clear();
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 2, bad), CR_EINVAL);
    assert_null(p);
    cr_error_clear();
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static const char SPREAD[] =
    "scenario { id = \"spread\", title = { ja = \"分散\", en = \"Spread\" },\n"
    "  description = { ja = \"説明\", en = \"Spread\" }, teams = 2, spread = true }\n"
    "local a = network { name = \"lan\", cidr = \"10.1.0.0/24\" }\n"
    "local b = network { name = \"dmz\", cidr = \"10.2.0.0/24\" }\n"
    "vm { name = \"x\", image = \"tiny\", nics = { { network = a, address = a:host(10) } } }\n"
    "vm { name = \"y\", image = \"tiny\", nics = { { network = a, address = a:host(11) },\n"
    "                                          { network = b, address = b:host(11) } } }\n";

static const cr_plan_net *net_on(const cr_plan *p, int team, const char *name, int host)
{
    for (size_t i = 0; i < p->n_nets; i++)
        if (p->nets[i].team == team && !strcmp(p->nets[i].net->name, name) && p->nets[i].host == host)
            return &p->nets[i];
    return NULL;
}

static void test_a_spread_team_has_its_vms_and_networks_on_every_host(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = tu_scenario_from_text(&dir, SPREAD);
    assert_true(s->spread);
    const char *const hosts[] = {"qemu:///system", "qemu+tcp://10.77.1.2/system"};
    int where[] = {0, 1, 1, 0}; /* as cr_place_vms puts them */
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 2, where), 0);
    /* Team 1: x here, y there; team 2 starts one further. */
    assert_int_equal(cr_plan_find_vm(p, 1, "x")->host, 0);
    assert_int_equal(cr_plan_find_vm(p, 1, "y")->host, 1);
    assert_int_equal(cr_plan_find_vm(p, 2, "x")->host, 1);
    assert_int_equal(cr_plan_find_vm(p, 2, "y")->host, 0);
    /* lan is on both hosts of each team, under one VXLAN id per team; dmz,
     * with y alone on it, only where y is and without VXLAN peers' use. */
    const cr_plan_net *l10 = net_on(p, 1, "lan", 0), *l11 = net_on(p, 1, "lan", 1);
    const cr_plan_net *l20 = net_on(p, 2, "lan", 0), *l21 = net_on(p, 2, "lan", 1);
    assert_non_null(l10);
    assert_non_null(l11);
    assert_non_null(l20);
    assert_non_null(l21);
    assert_int_not_equal(l10->vni, 0);
    assert_int_equal(l10->vni, l11->vni);
    assert_int_equal(l20->vni, l21->vni);
    assert_int_not_equal(l10->vni, l20->vni);
    assert_string_equal(l10->bridge, l11->bridge);
    assert_non_null(net_on(p, 1, "dmz", 1));
    assert_null(net_on(p, 1, "dmz", 0));
    /* Each NIC is on its own host's copy of the network. */
    const cr_plan_vm *y1 = cr_plan_find_vm(p, 1, "y");
    assert_ptr_equal(y1->nics[0].pnet, l11);

    /* The hook's element needs every host's address. */
    cr_error_clear();
    assert_null(cr_xml_network(p, l10));
    assert_non_null(strstr(cr_error_message(), "has no address for VXLAN"));
    cr_error_clear();
    p->addrs = cr_xcalloc(2, sizeof *p->addrs);
    p->addrs[0] = cr_xstrdup("10.77.1.1");
    p->addrs[1] = cr_xstrdup("10.77.1.2");
    char *xml = cr_xml_network(p, l10);
    assert_non_null(xml);
    char want[160];
    snprintf(want, sizeof want, "vni=\"%u\" dev=\"cv%s\" bridge=\"%s\" local=\"10.77.1.1\" peers=\"10.77.1.2\"",
             l10->vni, l10->bridge + 2, l10->bridge);
    if (!strstr(xml, want))
        fail_msg("no '%s' in %s", want, xml);
    assert_non_null(strstr(xml, "<mtu size=\"1450\"/>"));
    free(xml);
    /* dmz of team 1 is on one host: a plain bridge. */
    xml = cr_xml_network(p, net_on(p, 1, "dmz", 1));
    assert_null(strstr(xml, "vxlan"));
    free(xml);
    cr_plan_free(p);

    /* On one host nothing is spread. */
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 1, NULL), 0);
    for (size_t i = 0; i < p->n_nets; i++)
        assert_int_equal(p->nets[i].vni, 0);
    cr_plan_free(p);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

/* Three VMs a team, 576 + 576 + 320 MiB with QEMU's share: 1472 MiB. */
static const char THREE[] =
    "scenario { id = \"three\", title = { ja = \"三台\", en = \"Three\" },\n"
    "  description = { ja = \"説明\", en = \"Three VMs\" }, teams = %d }\n"
    "local a = network { name = \"lan\", cidr = \"10.1.0.0/24\" }\n"
    "local b = network { name = \"dmz\", cidr = \"10.2.0.0/24\" }\n"
    "vm { name = \"x\", image = \"tiny\", memory = 512, nics = { { network = a, address = a:host(10) } } }\n"
    "vm { name = \"y\", image = \"tiny\", memory = 256, nics = { { network = a, address = a:host(11) },\n"
    "                                                       { network = b, address = b:host(11) } } }\n"
    "vm { name = \"z\", image = \"tiny\", memory = 512, nics = { { network = b, address = b:host(12) } } }\n";

static cr_scenario *load_three(char **dir, int teams)
{
    char *text = cr_xasprintf(THREE, teams);
    cr_scenario *s = tu_scenario_from_text(dir, text);
    free(text);
    return s;
}

static void test_a_team_no_host_holds_whole_spreads_over_them(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load_three(&dir, 1);
    assert_false(s->spread);
    assert_int_equal(cr_place_vm_count(s), 3);
    /* 1200 MiB free on each: the team (1472) fits on neither. */
    cr_place_host h[] = {{.uri = "a", .memory_mib = 1024 + 1200, .cpus = 2},
                         {.uri = "b", .memory_mib = 1024 + 1200, .cpus = 2}};
    int where[3];
    assert_int_equal(cr_place_vms(where, s, h, 2, NULL), 0);
    /* Largest first: x to a (a tie: the earlier host), z to a too (the
     * team's host first, 624 MiB left), y where room is left: b. */
    assert_int_equal(where[0], 0);
    assert_int_equal(where[2], 0);
    assert_int_equal(where[1], 1);
    assert_int_equal(h[0].used_mib, 2 * 576);
    assert_int_equal(h[1].used_mib, 320);

    /* The plan joins the team's networks across the hosts: lan (x here, y
     * there) and dmz (z here, y there), each under its own VXLAN id. */
    const char *const hosts[] = {"qemu:///system", "qemu+tcp://10.77.1.2/system"};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 2, where), 0);
    assert_int_equal(cr_plan_find_vm(p, 1, "y")->host, 1);
    const cr_plan_net *l0 = net_on(p, 1, "lan", 0), *l1 = net_on(p, 1, "lan", 1);
    const cr_plan_net *d0 = net_on(p, 1, "dmz", 0), *d1 = net_on(p, 1, "dmz", 1);
    assert_non_null(l0);
    assert_non_null(l1);
    assert_non_null(d0);
    assert_non_null(d1);
    assert_int_not_equal(l0->vni, 0);
    assert_int_equal(l0->vni, l1->vni);
    assert_int_equal(d0->vni, d1->vni);
    assert_int_not_equal(l0->vni, d0->vni);
    assert_ptr_equal(cr_plan_find_vm(p, 1, "y")->nics[1].pnet, d1);
    cr_plan_free(p);

    /* A VM that fits on no host names itself and what each host has. */
    cr_place_host small[] = {{.uri = "a", .memory_mib = 1024 + 500, .cpus = 2},
                             {.uri = "b", .memory_mib = 1024 + 500, .cpus = 2}};
    cr_error_clear();
    assert_int_equal(cr_place_vms(where, s, small, 2, NULL), CR_ELIMIT);
    assert_non_null(strstr(cr_error_message(), "team 1: vm 'x' needs 576 MiB"));
    assert_non_null(strstr(cr_error_message(), "a: 500 MiB left; b: 500 MiB left"));
    cr_error_clear();
    /* On one host a team that does not fit is refused as a team. */
    cr_place_host one[] = {{.uri = "a", .memory_mib = 1024 + 1200, .cpus = 2}};
    assert_int_equal(cr_place_vms(where, s, one, 1, NULL), CR_ELIMIT);
    assert_non_null(strstr(cr_error_message(), "team 1 needs 1472 MiB"));
    cr_error_clear();
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_a_spread_vm_is_not_cloned_from_a_template_of_one_host(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load_three(&dir, 3);
    /* Teams 1 and 3 each on one host, team 2 over both (y on the other). */
    const char *const hosts[] = {"qemu:///system", "qemu+tcp://10.77.1.2/system"};
    int where[] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 2, where), 0);
    cr_image img = {.name = "tiny", .recipe_hash = "r"};
    char k1[65], k2[65], k3[65];
    assert_int_equal(cr_template_key(k1, s, cr_plan_find_vm(p, 1, "x"), 0, &img, NULL, "qemu", false), 0);
    assert_int_equal(cr_template_key(k2, s, cr_plan_find_vm(p, 2, "x"), 0, &img, NULL, "qemu", false), 0);
    assert_int_equal(cr_template_key(k3, s, cr_plan_find_vm(p, 3, "x"), 0, &img, NULL, "qemu", false), 0);
    /* Team 2's x is on lan, joined by VXLAN (MTU 1450): a template of its own. */
    assert_string_equal(k1, k3);
    assert_string_not_equal(k1, k2);
    cr_plan_free(p);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_placed_vms_stay_and_a_new_one_joins_its_team(void **state)
{
    (void)state;
    char *dir;
    cr_scenario *s = load_three(&dir, 2);
    cr_place_host h[] = {{.uri = "a", .memory_mib = 64 * 1024, .cpus = 8},
                         {.uri = "b", .memory_mib = 64 * 1024, .cpus = 8}};
    /* Team 1 lives spread already (x and y on b, z on a): it stays so,
     * although b alone would hold it. Team 2 has x on a, and its y and z
     * (new in the scenario) join it there, where room is. */
    int keep[] = {1, 1, 0, 0, -1, -1};
    int where[6];
    assert_int_equal(cr_place_vms(where, s, h, 2, keep), 0);
    int want[] = {1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++)
        assert_int_equal(where[i], want[i]);
    /* With no room left where it lives, a new VM goes where room is. */
    cr_place_host tight[] = {{.uri = "a", .memory_mib = 1024 + 1200, .cpus = 8},
                             {.uri = "b", .memory_mib = 1024 + 4000, .cpus = 8}};
    int keep2[] = {1, 1, 1, 0, 0, -1};
    assert_int_equal(cr_place_vms(where, s, tight, 2, keep2), 0);
    assert_int_equal(where[5], 1);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_team_needs_its_vms_memory_plus_qemu_and_their_vcpus),
        cmocka_unit_test(test_teams_go_where_most_memory_is_left),
        cmocka_unit_test(test_a_team_that_lives_somewhere_stays_there),
        cmocka_unit_test(test_vcpus_count_in_the_load_but_never_refuse),
        cmocka_unit_test(test_a_team_that_fits_nowhere_says_what_each_host_has_left),
        cmocka_unit_test(test_hosts_are_saved_and_read_back),
        cmocka_unit_test(test_bad_names_uris_and_labels_are_refused),
        cmocka_unit_test(test_a_hostile_hosts_file_is_refused_naming_it),
        cmocka_unit_test(test_hosts_selects_all_or_named_hosts_in_order),
        cmocka_unit_test(test_plan_puts_each_team_on_its_placed_host),
        cmocka_unit_test(test_a_spread_team_has_its_vms_and_networks_on_every_host),
        cmocka_unit_test(test_a_team_no_host_holds_whole_spreads_over_them),
        cmocka_unit_test(test_placed_vms_stay_and_a_new_one_joins_its_team),
        cmocka_unit_test(test_a_spread_vm_is_not_cloned_from_a_template_of_one_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
