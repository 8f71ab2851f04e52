/*
 * test_roles.c: roles (template layers). role{} declarations land in the
 * model as model.h says and VMs take their image from their role; the layer
 * key changes with every input that changes a layer's content (base image,
 * packages, files, commands) and with nothing else; the layer store lists
 * what it holds and refuses what cannot carry a layer. The build itself
 * needs libvirt and QEMU: tests/e2e/test_debian.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "image.h"
#include "layer.h"
#include "plan.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"
#include "virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" }, teams = 2 }\n";

static bool known_images(const char *name, void *ctx)
{
    (void)ctx;
    return !strcmp(name, "tiny") || !strcmp(name, "debian-12");
}

static cr_scenario *load_body(const char *dir, const char *body)
{
    char *text = cr_xasprintf("%s%s", HEAD, body);
    tu_write(dir, "scenario.lua", text);
    free(text);
    cr_scenario *s = NULL;
    cr_load_opts o = {.image_known = known_images};
    cr_error_clear();
    if (cr_scenario_load(&s, dir, &o) < 0)
        fail_msg("load failed: %s", cr_error_message());
    return s;
}

static const char ROLES[] =
    "local sniffer = role{\n"                                                       /* 2 */
    "  name = \"sniffer\", image = \"debian-12\", packages = { \"tcpdump\", \"nftables\" },\n"
    "  files = { file{ src = \"files/motd\", dest = \"/etc/motd\", mode = \"0600\" },\n"
    "            file{ content = \"x=1\\n\", dest = \"/etc/x.conf\" } },\n"
    "  run = { \"systemctl enable nftables\", \"echo done > /etc/role\" },\n"
    "}\n"
    "role{ name = \"bare\", image = \"debian-12\" }\n"                              /* 8 */
    "vm{ name = \"a\", role = sniffer }\n"                                          /* 9 */
    "vm{ name = \"b\", role = \"bare\", image = \"debian-12\" }\n"
    "vm{ name = \"c\", image = \"tiny\" }\n";

static void test_role_declarations_land_in_the_model(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "files/motd", "hello\n");
    cr_scenario *s = load_body(dir, ROLES);
    assert_int_equal(s->n_teams, 2);
    for (size_t t = 0; t < 2; t++) {
        const cr_team_model *tm = &s->teams[t];
        assert_int_equal(tm->n_roles, 2);
        const cr_role *r = cr_team_role(tm, "sniffer");
        assert_non_null(r);
        assert_string_equal(r->image, "debian-12");
        assert_string_equal(r->packages[0], "tcpdump");
        assert_string_equal(r->packages[1], "nftables");
        assert_null(r->packages[2]);
        assert_string_equal(r->where.file, "scenario.lua");
        assert_int_equal(r->where.line, 2);
        /* Files first, then the commands, each in order. */
        assert_int_equal(r->n_steps, 4);
        assert_int_equal(r->steps[0].kind, CR_STEP_FILE);
        assert_string_equal(r->steps[0].src, "files/motd");
        assert_string_equal(r->steps[0].dest, "/etc/motd");
        assert_int_equal(r->steps[0].mode, 0600);
        assert_int_equal(r->steps[1].kind, CR_STEP_FILE);
        assert_memory_equal(r->steps[1].content, "x=1\n", 4);
        assert_int_equal(r->steps[1].mode, 0644);
        assert_int_equal(r->steps[2].kind, CR_STEP_RUN);
        assert_string_equal(r->steps[2].argv[0], "/bin/sh");
        assert_string_equal(r->steps[2].argv[1], "-c");
        assert_string_equal(r->steps[2].argv[2], "systemctl enable nftables");
        assert_string_equal(r->steps[3].argv[2], "echo done > /etc/role");
        assert_int_equal(r->steps[3].where.line, 2);

        const cr_role *bare = cr_team_role(tm, "bare");
        assert_non_null(bare);
        assert_null(bare->packages && bare->packages[0] ? bare->packages[0] : NULL);
        assert_int_equal(bare->n_steps, 0);
        assert_null(cr_team_role(tm, "nope"));

        /* A VM with only a role runs the role's image. */
        const cr_vm *a = cr_team_vm(tm, "a");
        assert_string_equal(a->role, "sniffer");
        assert_string_equal(a->image, "debian-12");
        const cr_vm *b = cr_team_vm(tm, "b");
        assert_string_equal(b->role, "bare");
        assert_string_equal(b->image, "debian-12");
        const cr_vm *c = cr_team_vm(tm, "c");
        assert_null(c->role);
        assert_string_equal(c->image, "tiny");
    }
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_the_plan_names_each_vm_role(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "files/motd", "hello\n");
    cr_scenario *s = load_body(dir, ROLES);
    const char *host = "test:///default";
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", &host, 1, NULL), 0);
    json_t *j = cr_plan_to_json(p, false);
    json_t *vms = json_object_get(json_array_get(json_object_get(j, "teams"), 1), "vms");
    assert_string_equal(json_string_value(json_object_get(json_array_get(vms, 0), "role")), "sniffer");
    assert_string_equal(json_string_value(json_object_get(json_array_get(vms, 0), "image")), "debian-12");
    assert_null(json_object_get(json_array_get(vms, 2), "role"));
    json_decref(j);
    cr_plan_free(p);
    cr_scenario_free(s);
    tu_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------ layer key */

typedef struct key_case {
    char *dir;
    cr_image base;
    char *packages[4];
    cr_step steps[2];
    cr_role role;
} key_case;

static void key_case_init(key_case *k)
{
    memset(k, 0, sizeof *k);
    k->dir = tu_tmpdir();
    tu_write(k->dir, "files/conf", "listen 1900\n");
    k->base = (cr_image){.name = (char *)"debian-12", .recipe_hash = (char *)"aaaa", .disk_sha256 = (char *)"bbbb"};
    k->packages[0] = (char *)"miniupnpd";
    k->packages[1] = (char *)"wireguard-tools";
    static char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"systemctl enable miniupnpd", NULL};
    k->steps[0] = (cr_step){.kind = CR_STEP_FILE, .src = (char *)"files/conf", .dest = (char *)"/etc/x.conf",
                            .mode = 0644};
    k->steps[1] = (cr_step){.kind = CR_STEP_RUN, .argv = argv};
    k->role = (cr_role){.name = (char *)"router", .image = (char *)"debian-12", .packages = k->packages,
                        .steps = k->steps, .n_steps = 2};
}

static void key_case_free(key_case *k)
{
    tu_rmtree(k->dir);
    free(k->dir);
}

static void key_of(char out[65], key_case *k)
{
    if (cr_layer_key(out, k->dir, &k->role, &k->base) < 0)
        fail_msg("key: %s", cr_error_message());
}

static void test_layer_key_changes_with_packages_files_commands_and_base(void **state)
{
    (void)state;
    key_case k;
    key_case_init(&k);
    char ref[65], key[65];
    key_of(ref, &k);
    assert_int_equal(strlen(ref), 64);

    k.packages[1] = (char *)"tcpdump";
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.packages[1] = (char *)"wireguard-tools";

    k.packages[2] = (char *)"tcpdump";
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.packages[2] = NULL;

    tu_write(k.dir, "files/conf", "listen 1901\n");
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    tu_write(k.dir, "files/conf", "listen 1900\n");

    k.steps[0].mode = 0600;
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.steps[0].mode = 0644;

    k.steps[0].dest = (char *)"/etc/y.conf";
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.steps[0].dest = (char *)"/etc/x.conf";

    char *other[] = {(char *)"/bin/sh", (char *)"-c", (char *)"systemctl enable nftables", NULL};
    char **saved = k.steps[1].argv;
    k.steps[1].argv = other;
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.steps[1].argv = saved;

    k.role.n_steps = 1; /* the command dropped */
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.role.n_steps = 2;

    k.base.disk_sha256 = (char *)"cccc";
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.base.disk_sha256 = (char *)"bbbb";
    k.base.recipe_hash = (char *)"dddd";
    key_of(key, &k);
    assert_string_not_equal(key, ref);
    k.base.recipe_hash = (char *)"aaaa";

    /* Back where it started: the same key again. */
    key_of(key, &k);
    assert_string_equal(key, ref);
    key_case_free(&k);
}

static void test_layer_key_ignores_package_order_role_name_and_content_form(void **state)
{
    (void)state;
    key_case k;
    key_case_init(&k);
    char ref[65], key[65];
    key_of(ref, &k);

    k.packages[0] = (char *)"wireguard-tools";
    k.packages[1] = (char *)"miniupnpd";
    key_of(key, &k);
    assert_string_equal(key, ref);

    k.role.name = (char *)"gateway";
    key_of(key, &k);
    assert_string_equal(key, ref);

    /* The same bytes given inline instead of from a file: the same layer. */
    k.steps[0].src = NULL;
    k.steps[0].content = (char *)"listen 1900\n";
    k.steps[0].content_len = strlen(k.steps[0].content);
    key_of(key, &k);
    assert_string_equal(key, ref);
    key_case_free(&k);
}

static void test_layer_key_of_a_missing_source_fails(void **state)
{
    (void)state;
    key_case k;
    key_case_init(&k);
    k.steps[0].src = (char *)"files/gone";
    char key[65];
    cr_error_clear();
    assert_true(cr_layer_key(key, k.dir, &k.role, &k.base) < 0);
    assert_non_null(strstr(cr_error_message(), "files/gone"));
    cr_error_clear();
    key_case_free(&k);
}

/* ----------------------------------------------------------- the store */

static void test_a_role_on_a_non_debian_image_is_refused_at_its_line(void **state)
{
    (void)state;
    key_case k;
    key_case_init(&k);
    k.role.where = (cr_where){.file = (char *)"scenario.lua", .line = 7};
    k.base.name = (char *)"tiny";
    k.base.disk = (char *)"/nonexistent/disk.qcow2"; /* no dpkg-status: not Debian */
    char *store = tu_tmpdir();
    cr_layer *l = NULL;
    bool built = true;
    cr_error_clear();
    assert_int_equal(cr_layer_ensure(&l, &built, NULL, "qemu", store, k.dir, &k.role, &k.base), CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua:7: role 'router': image 'tiny' is not a Debian image with a "
                                            "root disk (no dpkg-status); roles need one such as debian-12");
    assert_null(l);
    assert_false(built);
    cr_error_clear();
    tu_rmtree(store);
    free(store);
    key_case_free(&k);
}

/* A bad CRANGE_BUILDER_WAIT is refused before the build touches anything:
 * no download, no layers folder. */
static void test_a_bad_builder_wait_is_refused_before_the_build(void **state)
{
    (void)state;
    key_case k;
    key_case_init(&k);
    k.base.disk = (char *)"/nonexistent/disk.qcow2";
    k.base.dpkg_status = (char *)"/nonexistent/dpkg-status";
    k.base.apt_sources = (char *)"/nonexistent/sources.list";
    char *store = tu_tmpdir();
    const char *bad[] = {"0", "601", "30s", "-5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("CRANGE_BUILDER_WAIT", bad[i], 1);
        cr_layer *l = NULL;
        bool built = true;
        cr_error_clear();
        assert_int_equal(cr_layer_ensure(&l, &built, NULL, "qemu", store, k.dir, &k.role, &k.base), CR_EINVAL);
        char want[128];
        snprintf(want, sizeof want, "CRANGE_BUILDER_WAIT must be seconds from 1 to 600, not '%s'", bad[i]);
        assert_string_equal(cr_error_message(), want);
        assert_null(l);
        assert_false(built);
    }
    unsetenv("CRANGE_BUILDER_WAIT");
    char *layers = cr_path_join(store, CR_LAYER_DIR);
    assert_false(cr_is_dir(layers));
    free(layers);
    cr_error_clear();
    tu_rmtree(store);
    free(store);
    key_case_free(&k);
}

static void test_the_store_lists_and_opens_built_layers_and_nothing_else(void **state)
{
    (void)state;
    char *store = tu_tmpdir();
    const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    cr_layer *l = NULL;
    cr_error_clear();
    assert_int_equal(cr_layer_open(&l, store, key), CR_ENOTFOUND);
    cr_error_clear();
    assert_int_equal(cr_layer_open(&l, store, "../../etc"), CR_EINVAL);
    cr_error_clear();

    char *rel = cr_xasprintf("layers/%s/manifest.json", key);
    tu_write(store, rel, "{\"kind\": \"layer\", \"role\": \"router\", \"image\": \"debian-12\", \"size\": 4096,"
                        " \"built_at\": \"2026-01-01T00:00:00Z\", \"base_disk_sha256\": \"bbbb\","
                        " \"packages\": [\"tcpdump\"], \"installed\": [\"tcpdump=4.99.3-1\"]}");
    free(rel);
    rel = cr_xasprintf("layers/%s/layer.qcow2", key);
    tu_write(store, rel, "qcow2");
    free(rel);
    tu_write(store, "layers/.build-x-1/layer.qcow2", "half");   /* a build in progress: not listed */

    assert_int_equal(cr_layer_open(&l, store, key), 0);
    assert_string_equal(l->role, "router");
    assert_string_equal(l->image, "debian-12");
    assert_int_equal(l->size, 4096);
    assert_non_null(strstr(l->disk, "/layers/0123456789abcdef"));
    cr_layer_free(l);

    json_t *list = cr_layer_list(store);
    assert_int_equal(json_array_size(list), 1);
    json_t *row = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(row, "kind")), "layer");
    assert_string_equal(json_string_value(json_object_get(row, "name")), "router");
    assert_string_equal(json_string_value(json_object_get(row, "key")), key);
    /* Its base image is not in this store: it cannot be current. */
    assert_string_equal(json_string_value(json_object_get(row, "state")), "stale");
    json_decref(list);

    /* The image list shows the layer after the images, never "layers" as an image. */
    list = cr_image_list(store);
    size_t i;
    json_t *r;
    size_t layers = 0;
    json_array_foreach(list, i, r)
    {
        assert_string_not_equal(json_string_value(json_object_get(r, "name")), "layers");
        layers += !strcmp(json_string_value(json_object_get(r, "kind")), "layer");
    }
    assert_int_equal(layers, 1);
    json_decref(list);
    assert_false(cr_image_known("layers", store));
    tu_rmtree(store);
    free(store);
}

static void test_a_role_vm_overlay_is_backed_by_the_layer(void **state)
{
    (void)state;
    char *xml = cr_xml_volume("t1.router.qcow2", "/var/lib/crange/images/layers/ab/layer.qcow2", 2147483648ULL);
    assert_non_null(strstr(xml, "<capacity unit=\"bytes\">2147483648</capacity>"));
    assert_non_null(strstr(xml, "<backingStore>\n    <path>/var/lib/crange/images/layers/ab/layer.qcow2</path>\n"
                                "    <format type=\"qcow2\"/>"));
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_declarations_land_in_the_model),
        cmocka_unit_test(test_the_plan_names_each_vm_role),
        cmocka_unit_test(test_layer_key_changes_with_packages_files_commands_and_base),
        cmocka_unit_test(test_layer_key_ignores_package_order_role_name_and_content_form),
        cmocka_unit_test(test_layer_key_of_a_missing_source_fails),
        cmocka_unit_test(test_a_role_on_a_non_debian_image_is_refused_at_its_line),
        cmocka_unit_test(test_a_bad_builder_wait_is_refused_before_the_build),
        cmocka_unit_test(test_the_store_lists_and_opens_built_layers_and_nothing_else),
        cmocka_unit_test(test_a_role_vm_overlay_is_backed_by_the_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
