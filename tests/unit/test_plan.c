/*
 * test_plan.c: the plan of plan.h, built from real scenarios loaded by the
 * Lua loader (scenarios/demo, and small scenarios written to a temporary
 * folder): derived names, bridge names within Linux's 15 characters, MACs
 * unique in the range, round-robin placement that keeps a team on one host,
 * secret vars hidden from the JSON, range name validation and determinism.
 * Nothing here touches libvirt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "plan.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ONE_HOST[] = {"test:///default"};
static const char *const TWO_HOSTS[] = {"qemu+ssh://a/system", "qemu+ssh://b/system"};

/* Two networks, one VM on both, and as many teams as asked: the widest
 * range the bridge and MAC rules must cope with, with little Lua to run. */
static const char WIDE_SCENARIO[] =
    "scenario { id = \"wide\", title = { ja = \"広い\", en = \"Wide\" },\n"
    "  description = { ja = \"説明\", en = \"Many teams\" }, teams = %d }\n"
    "local a = network { name = \"lan\", cidr = \"10.1.0.0/24\" }\n"
    "local b = network { name = \"dmz\", cidr = \"10.2.0.0/24\" }\n"
    "vm { name = \"box\", image = \"tiny\",\n"
    "  nics = { { network = a, address = a:host(10) }, { network = b, address = b:host(10) } } }\n";

static cr_scenario *load_demo(int teams)
{
    char *path = tu_source("scenarios/demo");
    cr_load_opts o = {.teams = teams};
    cr_scenario *s = NULL;
    cr_error_clear();
    int rc = cr_scenario_load(&s, path, &o);
    if (rc < 0)
        fail_msg("loading %s: %s", path, cr_error_message());
    free(path);
    return s;
}

static cr_scenario *load_wide(char **dir, int teams)
{
    char *text = cr_xasprintf(WIDE_SCENARIO, teams);
    cr_scenario *s = tu_scenario_from_text(dir, text);
    free(text);
    return s;
}

static cr_plan *build(const cr_scenario *s, const char *range, const char *const *hosts, size_t n)
{
    cr_plan *p = NULL;
    cr_error_clear();
    if (cr_plan_build(&p, s, range, hosts, n, NULL) < 0)
        fail_msg("plan: %s", cr_error_message());
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts a copy of the pointers and reports the first duplicate, if any. */
static const char *first_duplicate(char **items, size_t n)
{
    char **copy = cr_xcalloc(n, sizeof *copy);
    memcpy(copy, items, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(copy[i - 1], copy[i]))
            dup = copy[i];
    free(copy);
    return dup;
}

static bool is_bridge_name(const char *b, const char *rhex, int team, size_t index)
{
    char *want = cr_xasprintf("cr%st%dn%zu", rhex, team, index);
    bool ok = !strcmp(b, want);
    free(want);
    return ok;
}

static bool is_mac(const char *m)
{
    if (strlen(m) != 17 || strncmp(m, "52:54:00:", 9))
        return false;
    for (int i = 9; i < 17; i++) {
        char c = m[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if ((i % 3 == 2) ? c != ':' : !hex)
            return false;
    }
    return true;
}

static void test_plan_demo_names_follow_plan_h(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(2);
    assert_int_equal(s->n_teams, 2);
    cr_plan *p = build(s, "drill", ONE_HOST, 1);

    assert_string_equal(p->range, "drill");
    assert_string_equal(p->pool, "crange.drill");
    assert_int_equal(p->n_nets, 4); /* outside, inside per team */
    assert_int_equal(p->n_vms, 6);  /* attacker, router, victim per team */

    /* Every bridge of the range shares the 6 hex digits of the range hash. */
    char rhex[7];
    assert_int_equal(strncmp(p->nets[0].bridge, "cr", 2), 0);
    memcpy(rhex, p->nets[0].bridge + 2, 6);
    rhex[6] = '\0';
    assert_int_equal(strspn(rhex, "0123456789abcdef"), 6);

    for (size_t i = 0; i < p->n_nets; i++) {
        const cr_plan_net *pn = &p->nets[i];
        char *want = cr_xasprintf("crange.drill.t%d.%s", pn->team, pn->net->name);
        assert_string_equal(pn->libvirt_name, want);
        free(want);
        size_t index = !strcmp(pn->net->name, "outside") ? 0 : 1;
        if (!is_bridge_name(pn->bridge, rhex, pn->team, index))
            fail_msg("bridge '%s' of team %d network %s", pn->bridge, pn->team, pn->net->name);
    }
    for (size_t i = 0; i < p->n_vms; i++) {
        const cr_plan_vm *pv = &p->vms[i];
        char *dom = cr_xasprintf("crange.drill.t%d.%s", pv->team, pv->vm->name);
        char *vol = cr_xasprintf("t%d.%s.qcow2", pv->team, pv->vm->name);
        assert_string_equal(pv->domain, dom);
        assert_string_equal(pv->volume, vol);
        free(dom);
        free(vol);
        /* A NIC is wired to its own team's network. */
        for (size_t k = 0; k < pv->n_nics; k++) {
            assert_int_equal(pv->nics[k].pnet->team, pv->team);
            assert_string_equal(pv->nics[k].pnet->net->name, pv->nics[k].nic->network);
        }
    }

    /* The name helpers agree with the plan. */
    char *d = cr_name_domain("drill", 2, "victim");
    char *n = cr_name_network("drill", 1, "inside");
    char *pool = cr_name_pool("drill");
    assert_string_equal(d, "crange.drill.t2.victim");
    assert_string_equal(n, "crange.drill.t1.inside");
    assert_string_equal(pool, "crange.drill");
    free(d);
    free(n);
    free(pool);

    const cr_plan_vm *router = cr_plan_find_vm(p, 2, "router");
    assert_non_null(router);
    assert_string_equal(router->domain, "crange.drill.t2.router");
    assert_int_equal(router->n_nics, 2);
    assert_null(cr_plan_find_vm(p, 3, "router"));
    assert_null(cr_plan_find_vm(p, 1, "nobody"));

    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_plan_demo_30_teams_has_unique_names_bridges_and_macs(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(30);
    assert_int_equal(s->n_teams, 30);
    cr_plan *p = build(s, "big-drill", ONE_HOST, 1);
    assert_int_equal(p->n_nets, 60);
    assert_int_equal(p->n_vms, 90);

    char **bridges = cr_xcalloc(p->n_nets, sizeof *bridges);
    char **netnames = cr_xcalloc(p->n_nets, sizeof *netnames);
    for (size_t i = 0; i < p->n_nets; i++) {
        bridges[i] = p->nets[i].bridge;
        netnames[i] = p->nets[i].libvirt_name;
        assert_true(strlen(bridges[i]) <= CR_BRIDGE_MAX);
    }
    assert_null(first_duplicate(bridges, p->n_nets));
    assert_null(first_duplicate(netnames, p->n_nets));

    char **doms = cr_xcalloc(p->n_vms, sizeof *doms);
    char **macs = cr_xcalloc(p->n_vms * CR_MAX_NICS, sizeof *macs);
    size_t n_macs = 0;
    for (size_t i = 0; i < p->n_vms; i++) {
        doms[i] = p->vms[i].domain;
        for (size_t k = 0; k < p->vms[i].n_nics; k++) {
            macs[n_macs] = p->vms[i].nics[k].mac;
            if (!is_mac(macs[n_macs]))
                fail_msg("'%s' is not a 52:54:00 MAC", macs[n_macs]);
            n_macs++;
        }
    }
    assert_int_equal(n_macs, 30 * 4);
    assert_null(first_duplicate(doms, p->n_vms));
    const char *dup = first_duplicate(macs, n_macs);
    if (dup)
        fail_msg("MAC %s used twice", dup);

    free(bridges);
    free(netnames);
    free(doms);
    free(macs);
    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_plan_bridge_names_fit_15_chars_and_are_unique_across_999_teams(void **state)
{
    (void)state;
    char *dir = NULL;
    cr_scenario *s = load_wide(&dir, CR_MAX_TEAMS);
    assert_int_equal(s->n_teams, CR_MAX_TEAMS);
    /* The longest allowed range name, so nothing else could be longer. */
    cr_plan *p = build(s, "abcdefghijklmnopqrstuvwx", ONE_HOST, 1);
    assert_int_equal(p->n_nets, 2 * CR_MAX_TEAMS);

    char **bridges = cr_xcalloc(p->n_nets, sizeof *bridges);
    size_t longest = 0;
    for (size_t i = 0; i < p->n_nets; i++) {
        bridges[i] = p->nets[i].bridge;
        size_t len = strlen(bridges[i]);
        if (len > CR_BRIDGE_MAX)
            fail_msg("bridge '%s' has %zu characters", bridges[i], len);
        longest = len > longest ? len : longest;
    }
    assert_int_equal(longest, strlen("cr123456t999n1"));
    const char *dup = first_duplicate(bridges, p->n_nets);
    if (dup)
        fail_msg("bridge %s used twice", dup);
    free(bridges);

    /* 1998 NICs: MACs stay unique even where 24 bits of hash could collide. */
    char **macs = cr_xcalloc(p->n_vms * 2, sizeof *macs);
    size_t n_macs = 0;
    for (size_t i = 0; i < p->n_vms; i++)
        for (size_t k = 0; k < p->vms[i].n_nics; k++) {
            assert_true(is_mac(p->vms[i].nics[k].mac));
            macs[n_macs++] = p->vms[i].nics[k].mac;
        }
    assert_int_equal(n_macs, 2 * CR_MAX_TEAMS);
    dup = first_duplicate(macs, n_macs);
    if (dup)
        fail_msg("MAC %s used twice", dup);
    free(macs);

    cr_plan_free(p);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

/* The worst case of the bridge rule: team 999 with network index 98 (the
 * most the model allows). Evaluating 999 x 99 networks in Lua would be slow,
 * so this model is built by hand: every team borrows the same network array,
 * and it is freed here rather than by cr_scenario_free. */
static void test_plan_bridge_of_team_999_network_99_fits_15_chars(void **state)
{
    (void)state;
    cr_network nets[CR_MAX_NETWORKS];
    for (int i = 0; i < CR_MAX_NETWORKS; i++)
        nets[i] = (cr_network){.name = cr_xasprintf("n%d", i), .addr = 0x0a000000u + ((uint32_t)i << 8),
                               .prefix = 24};
    cr_scenario s = {.id = (char *)"hand", .n_teams = CR_MAX_TEAMS};
    s.teams = cr_xcalloc(CR_MAX_TEAMS, sizeof *s.teams);
    for (int t = 0; t < CR_MAX_TEAMS; t++)
        s.teams[t] = (cr_team_model){.number = t + 1, .networks = nets, .n_networks = CR_MAX_NETWORKS};

    cr_plan *p = build(&s, "abcdefghijklmnopqrstuvwx", ONE_HOST, 1);
    assert_int_equal(p->n_nets, (size_t)CR_MAX_TEAMS * CR_MAX_NETWORKS);
    size_t longest = 0;
    char **bridges = cr_xcalloc(p->n_nets, sizeof *bridges);
    for (size_t i = 0; i < p->n_nets; i++) {
        bridges[i] = p->nets[i].bridge;
        size_t len = strlen(bridges[i]);
        if (len > CR_BRIDGE_MAX)
            fail_msg("bridge '%s' has %zu characters", bridges[i], len);
        longest = len > longest ? len : longest;
    }
    assert_int_equal(longest, CR_BRIDGE_MAX);
    assert_null(first_duplicate(bridges, p->n_nets));
    free(bridges);
    cr_plan_free(p);

    /* One team more than the limit is refused. */
    cr_team_model *more = cr_xcalloc(CR_MAX_TEAMS + 1, sizeof *more);
    memcpy(more, s.teams, CR_MAX_TEAMS * sizeof *more);
    more[CR_MAX_TEAMS] = (cr_team_model){.number = CR_MAX_TEAMS + 1};
    cr_scenario s2 = {.id = (char *)"hand", .teams = more, .n_teams = CR_MAX_TEAMS + 1};
    cr_error_clear();
    p = (cr_plan *)&s2; /* any non-NULL value: a failed build resets it */
    assert_int_equal(cr_plan_build(&p, &s2, "r", ONE_HOST, 1, NULL), CR_EINVAL);
    assert_null(p);
    assert_non_null(strstr(cr_error_message(), "999"));
    cr_error_clear();

    free(more);
    free(s.teams);
    for (int i = 0; i < CR_MAX_NETWORKS; i++)
        free(nets[i].name);
}

static void test_plan_round_robin_over_2_hosts_keeps_each_team_on_one_host(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(5);
    cr_plan *p = build(s, "spread", TWO_HOSTS, 2);
    assert_int_equal(p->n_hosts, 2);
    assert_string_equal(p->hosts[0], TWO_HOSTS[0]);
    assert_string_equal(p->hosts[1], TWO_HOSTS[1]);

    int per_host[2] = {0, 0};
    for (int team = 1; team <= 5; team++) {
        int expect = (team - 1) % 2;
        for (size_t i = 0; i < p->n_nets; i++)
            if (p->nets[i].team == team)
                assert_int_equal(p->nets[i].host, expect);
        for (size_t i = 0; i < p->n_vms; i++)
            if (p->vms[i].team == team) {
                assert_int_equal(p->vms[i].host, expect);
                /* A VM's networks are on its own host: bridges are local. */
                for (size_t k = 0; k < p->vms[i].n_nics; k++)
                    assert_int_equal(p->vms[i].nics[k].pnet->host, expect);
            }
        per_host[expect]++;
    }
    assert_int_equal(per_host[0], 3);
    assert_int_equal(per_host[1], 2);

    /* The JSON names each team's host. */
    json_t *j = cr_plan_to_json(p, false);
    json_t *teams = json_object_get(j, "teams");
    assert_int_equal(json_array_size(teams), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(teams, i), "host")),
                            TWO_HOSTS[i % 2]);
    json_decref(j);

    /* The hosts are copied: the caller's array may go away. */
    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_plan_zero_hosts_is_rejected(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(1);
    cr_plan *p = NULL;
    cr_error_clear();
    assert_int_equal(cr_plan_build(&p, s, "drill", ONE_HOST, 0, NULL), CR_EINVAL);
    assert_null(p);
    assert_non_null(strstr(cr_error_message(), "host"));
    cr_error_clear();
    cr_scenario_free(s);
}

static void test_plan_to_json_hides_secret_vars_unless_asked(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(2);
    cr_plan *p = build(s, "drill", ONE_HOST, 1);

    for (size_t t = 0; t < s->n_teams; t++) {
        const cr_var *token = cr_team_var(&s->teams[t], "token");
        const cr_var *pw = cr_team_var(&s->teams[t], "trainee_password");
        assert_non_null(token);
        assert_non_null(pw);
        assert_true(token->secret);
        assert_false(pw->secret);
    }
    const char *token1 = cr_team_var(&s->teams[0], "token")->value;

    json_t *hidden = cr_plan_to_json(p, false);
    json_t *vars = json_object_get(json_array_get(json_object_get(hidden, "teams"), 0), "vars");
    assert_string_equal(json_string_value(json_object_get(vars, "token")), "(secret)");
    assert_string_equal(json_string_value(json_object_get(vars, "trainee_password")),
                        cr_team_var(&s->teams[0], "trainee_password")->value);
    /* Not anywhere else in the document either. */
    char *text = json_dumps(hidden, 0);
    for (size_t t = 0; t < s->n_teams; t++)
        assert_null(strstr(text, cr_team_var(&s->teams[t], "token")->value));
    free(text);
    json_decref(hidden);

    json_t *shown = cr_plan_to_json(p, true);
    vars = json_object_get(json_array_get(json_object_get(shown, "teams"), 0), "vars");
    assert_string_equal(json_string_value(json_object_get(vars, "token")), token1);
    json_decref(shown);

    /* The text form follows the same rule. */
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_plan_print(p, f, false);
    fclose(f);
    assert_null(strstr(out, token1));
    assert_non_null(strstr(out, "var token = (secret)"));
    free(out);
    f = open_memstream(&out, &len);
    cr_plan_print(p, f, true);
    fclose(f);
    assert_non_null(strstr(out, token1));
    free(out);

    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_plan_to_json_describes_networks_and_nics(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(1);
    cr_plan *p = build(s, "drill", ONE_HOST, 1);
    json_t *j = cr_plan_to_json(p, false);
    assert_string_equal(json_string_value(json_object_get(j, "range")), "drill");
    assert_string_equal(json_string_value(json_object_get(j, "pool")), "crange.drill");
    json_t *team = json_array_get(json_object_get(j, "teams"), 0);
    assert_int_equal(json_integer_value(json_object_get(team, "team")), 1);
    json_t *net = json_array_get(json_object_get(team, "networks"), 0);
    assert_string_equal(json_string_value(json_object_get(net, "name")), "outside");
    assert_string_equal(json_string_value(json_object_get(net, "cidr")), "10.10.0.0/24");
    assert_string_equal(json_string_value(json_object_get(net, "libvirt_name")), "crange.drill.t1.outside");
    assert_true(json_is_false(json_object_get(net, "dhcp")));

    json_t *vms = json_object_get(team, "vms");
    assert_int_equal(json_array_size(vms), 3);
    json_t *attacker = json_array_get(vms, 0);
    assert_string_equal(json_string_value(json_object_get(attacker, "name")), "attacker");
    assert_true(json_is_true(json_object_get(attacker, "entry")));
    assert_string_equal(json_string_value(json_object_get(attacker, "gateway")), "10.10.0.1");
    json_t *nic = json_array_get(json_object_get(attacker, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "address")), "10.10.0.10");
    assert_int_equal(json_integer_value(json_object_get(nic, "prefix")), 24);
    assert_true(is_mac(json_string_value(json_object_get(nic, "mac"))));
    json_decref(j);
    cr_plan_free(p);
    cr_scenario_free(s);
}

static void test_plan_bad_range_name_is_rejected_with_a_clear_message(void **state)
{
    (void)state;
    cr_scenario *s = load_demo(1);
    const char *bad[] = {"", "Drill", "1drill", "-drill", "drill_1", "dr.ill", "drill-",
                         "abcdefghijklmnopqrstuvwxy" /* 25 */};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_plan *p = NULL;
        cr_error_clear();
        assert_false(cr_range_name_valid(bad[i]));
        if (cr_plan_build(&p, s, bad[i], ONE_HOST, 1, NULL) != CR_EINVAL)
            fail_msg("range name '%s' was accepted", bad[i]);
        assert_null(p);
        char *quoted = cr_xasprintf("range name '%s'", bad[i]);
        assert_non_null(strstr(cr_error_message(), quoted));
        assert_non_null(strstr(cr_error_message(), "24"));
        free(quoted);
    }
    cr_error_clear();

    /* 24 characters is the limit, inclusive. */
    assert_true(cr_range_name_valid("abcdefghijklmnopqrstuvwx"));
    cr_plan *p = build(s, "abcdefghijklmnopqrstuvwx", ONE_HOST, 1);
    cr_plan_free(p);
    cr_scenario_free(s);
}

static char *plan_text(const char *range, int teams)
{
    cr_scenario *s = load_demo(teams);
    cr_plan *p = build(s, range, TWO_HOSTS, 2);
    json_t *j = cr_plan_to_json(p, true);
    char *text = json_dumps(j, JSON_SORT_KEYS);
    json_decref(j);
    cr_plan_free(p);
    cr_scenario_free(s);
    return text;
}

static void test_plan_same_inputs_give_the_same_plan(void **state)
{
    (void)state;
    /* Two separate loads and builds: nothing may depend on addresses,
     * time or randomness outside the range secret. */
    char *a = plan_text("drill", 3);
    char *b = plan_text("drill", 3);
    assert_string_equal(a, b);

    /* Bridges and MACs derive from the range name, so another range on the
     * same host gets different ones. */
    char *c = plan_text("other", 3);
    assert_string_not_equal(a, c);
    cr_scenario *s = load_demo(1);
    cr_plan *p1 = build(s, "drill", ONE_HOST, 1);
    cr_plan *p2 = build(s, "other", ONE_HOST, 1);
    assert_string_not_equal(p1->nets[0].bridge, p2->nets[0].bridge);
    assert_string_not_equal(p1->vms[0].nics[0].mac, p2->vms[0].nics[0].mac);
    cr_plan_free(p1);
    cr_plan_free(p2);
    cr_scenario_free(s);

    /* Adding teams keeps the plan of the earlier teams. */
    cr_scenario *s2 = load_demo(2);
    cr_scenario *s5 = load_demo(5);
    cr_plan *q2 = build(s2, "drill", ONE_HOST, 1);
    cr_plan *q5 = build(s5, "drill", ONE_HOST, 1);
    for (size_t i = 0; i < q2->n_vms; i++) {
        assert_string_equal(q2->vms[i].domain, q5->vms[i].domain);
        for (size_t k = 0; k < q2->vms[i].n_nics; k++)
            assert_string_equal(q2->vms[i].nics[k].mac, q5->vms[i].nics[k].mac);
    }
    for (size_t i = 0; i < q2->n_nets; i++)
        assert_string_equal(q2->nets[i].bridge, q5->nets[i].bridge);
    cr_plan_free(q2);
    cr_plan_free(q5);
    cr_scenario_free(s2);
    cr_scenario_free(s5);

    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_demo_names_follow_plan_h),
        cmocka_unit_test(test_plan_demo_30_teams_has_unique_names_bridges_and_macs),
        cmocka_unit_test(test_plan_bridge_names_fit_15_chars_and_are_unique_across_999_teams),
        cmocka_unit_test(test_plan_bridge_of_team_999_network_99_fits_15_chars),
        cmocka_unit_test(test_plan_round_robin_over_2_hosts_keeps_each_team_on_one_host),
        cmocka_unit_test(test_plan_zero_hosts_is_rejected),
        cmocka_unit_test(test_plan_to_json_hides_secret_vars_unless_asked),
        cmocka_unit_test(test_plan_to_json_describes_networks_and_nics),
        cmocka_unit_test(test_plan_bad_range_name_is_rejected_with_a_clear_message),
        cmocka_unit_test(test_plan_same_inputs_give_the_same_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
