/*
 * test_bridge.c: the host's settings on a range bridge without an address
 * (bridge.h), written into a folder laid out as /proc/sys; local and remote
 * libvirt URIs. test_range.sh probes the effect on a real bridge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bridge.h"
#include "err.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_text(const char *dir, const char *rel)
{
    char *path = cr_path_join(dir, rel);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cr_xstrdup(buf);
}

static void test_bridge_seal_sets_arp_ignore_rp_filter_and_no_ipv6(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "net/ipv4/conf/crabct1n0/arp_ignore", "0");
    tu_write(dir, "net/ipv4/conf/crabct1n0/rp_filter", "0");
    tu_write(dir, "net/ipv6/conf/crabct1n0/disable_ipv6", "0");
    cr_error_clear();
    assert_int_equal(cr_bridge_seal(dir, "crabct1n0"), 0);
    const char *want[][2] = {{"net/ipv4/conf/crabct1n0/arp_ignore", "8"},
                             {"net/ipv4/conf/crabct1n0/rp_filter", "1"},
                             {"net/ipv6/conf/crabct1n0/disable_ipv6", "1"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *have = read_text(dir, want[i][0]);
        assert_non_null(have);
        assert_string_equal(have, want[i][1]);
        free(have);
    }
    /* A bridge this process cannot see is left (a warning). One whose
     * settings cannot be written is an error naming the file. */
    assert_int_equal(cr_bridge_seal(dir, "crabct9n9"), 0);
    tu_write(dir, "net/ipv4/conf/crabct2n0/arp_ignore", "0");
    assert_true(cr_bridge_seal(dir, "crabct2n0") < 0);
    assert_non_null(strstr(cr_error_message(), "bridge crabct2n0: cannot set"));
    assert_non_null(strstr(cr_error_message(), "crabct2n0/rp_filter"));
    cr_error_clear();
    /* A name is never a path. */
    assert_int_equal(cr_bridge_seal(dir, "../../x"), CR_EINVAL);
    cr_error_clear();
    assert_int_equal(cr_bridge_seal(dir, ".."), CR_EINVAL);
    cr_error_clear();
    tu_rmtree(dir);
    free(dir);
}

static void test_bridge_uri_is_local_only_without_a_host(void **state)
{
    (void)state;
    assert_true(cr_bridge_uri_is_local("qemu:///system"));
    assert_true(cr_bridge_uri_is_local("qemu:///session"));
    assert_true(cr_bridge_uri_is_local("test:///default"));
    assert_false(cr_bridge_uri_is_local("qemu+ssh://lab2/system"));
    assert_false(cr_bridge_uri_is_local("qemu+tcp://10.0.0.2:16509/system"));
    assert_false(cr_bridge_uri_is_local(""));
    assert_false(cr_bridge_uri_is_local(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bridge_seal_sets_arp_ignore_rp_filter_and_no_ipv6),
        cmocka_unit_test(test_bridge_uri_is_local_only_without_a_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
