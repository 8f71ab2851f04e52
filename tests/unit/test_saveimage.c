/*
 * test_saveimage.c: the save image module (saveimage.h) on files built here
 * byte by byte in libvirt's layout: a good image is read back field by field;
 * a clone written under new XML keeps the cookie and the stream byte for
 * byte; damaged or foreign files (bad or partial magic, other version,
 * compressed, lengths past the end, no NUL) are refused with a message; the
 * image streamed through a FIFO is the written one, and a reader that stops
 * early or never comes is an error, not a hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "saveimage.h"
#include "testutil.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XML "<domain type='qemu'><name>crange.t.t1.vm</name><uuid>1</uuid></domain>"
#define COOKIE "<qemu-migration><allowReboot value='yes'/></qemu-migration>"
#define STREAM_LEN 200000

typedef struct image {
    char magic[16];
    uint32_t version, data_len, was_running, compressed, cookie_offset;
    uint32_t unused[14];
} image;

/* Writes a save image: header fields as given, XML, NUL, cookie, NUL,
 * zeros to data_len, then STREAM_LEN bytes of a pattern. */
static void write_image(const char *path, const char *magic, uint32_t version, uint32_t data_len,
                        uint32_t compressed, bool with_cookie, size_t truncate_at)
{
    image h = {.version = version, .data_len = data_len, .was_running = 1, .compressed = compressed};
    memcpy(h.magic, magic, 16);
    size_t xml_len = strlen(XML) + 1;
    if (with_cookie)
        h.cookie_offset = (uint32_t)xml_len;
    size_t total = sizeof h + data_len + STREAM_LEN;
    unsigned char *buf = cr_xcalloc(1, total);
    memcpy(buf, &h, sizeof h);
    size_t room = data_len;
    memcpy(buf + sizeof h, XML, xml_len < room ? xml_len : room);
    if (with_cookie && xml_len + sizeof COOKIE <= room)
        memcpy(buf + sizeof h + xml_len, COOKIE, sizeof COOKIE);
    for (size_t i = 0; i < STREAM_LEN; i++)
        buf[sizeof h + data_len + i] = (unsigned char)(i * 7 + 3);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t n = truncate_at ? truncate_at : total;
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
}

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_tmpdir();
    cr_error_clear();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static void test_read_good(void **state)
{
    (void)state;
    char *p = cr_path_join(dir, "t.save");
    write_image(p, "LibvirtQemudSave", 2, 4096, 0, true, 0);
    cr_saveimage s;
    assert_int_equal(cr_saveimage_read(&s, p), 0);
    assert_string_equal(s.xml, XML);
    assert_string_equal(s.cookie, COOKIE);
    assert_int_equal(s.data_len, 4096);
    assert_int_equal(s.was_running, 1);
    assert_int_equal(s.stream_offset, 92 + 4096);
    assert_int_equal(s.stream_len, STREAM_LEN);
    cr_saveimage_free(&s);
    cr_saveimage_free(NULL);
    free(p);
}

static void test_clone_keeps_stream_and_cookie(void **state)
{
    (void)state;
    char *src = cr_path_join(dir, "t.save"), *dst = cr_path_join(dir, "c.save");
    write_image(src, "LibvirtQemudSave", 2, 4096, 0, true, 0);
    cr_saveimage t, c;
    assert_int_equal(cr_saveimage_read(&t, src), 0);
    const char *xml = "<domain type='qemu'><name>crange.t.t2.vm</name><uuid>2</uuid></domain>";
    assert_int_equal(cr_saveimage_write(dst, &t, src, xml), 0);
    assert_int_equal(cr_saveimage_read(&c, dst), 0);
    assert_string_equal(c.xml, xml);
    assert_string_equal(c.cookie, COOKIE);
    assert_int_equal(c.data_len, t.data_len); /* the stream stays at the same offset */
    assert_int_equal(c.stream_len, t.stream_len);
    struct stat sb;
    assert_int_equal(stat(dst, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* The stream is the template's, byte for byte. */
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "rb");
    fseek(a, (long)t.stream_offset, SEEK_SET);
    fseek(b, (long)c.stream_offset, SEEK_SET);
    int ca, cb;
    size_t n = 0;
    while ((ca = fgetc(a)) != EOF) {
        cb = fgetc(b);
        assert_int_equal(ca, cb);
        n++;
    }
    assert_int_equal(fgetc(b), EOF);
    assert_int_equal(n, STREAM_LEN);
    fclose(a);
    fclose(b);
    cr_saveimage_free(&c);

    /* An XML larger than the template's data part grows it, with spare room. */
    char *big = cr_xcalloc(1, 10000);
    memset(big, 'x', 9999);
    assert_int_equal(cr_saveimage_write(dst, &t, src, big), 0);
    assert_int_equal(cr_saveimage_read(&c, dst), 0);
    assert_int_equal(strlen(c.xml), 9999);
    assert_true(c.data_len > 10000 + sizeof COOKIE);
    assert_int_equal(c.stream_len, STREAM_LEN);
    cr_saveimage_free(&c);
    free(big);
    cr_saveimage_free(&t);
    free(src);
    free(dst);
}

static void expect_refused(const char *path, const char *needle)
{
    cr_saveimage s;
    cr_error_clear();
    assert_int_equal(cr_saveimage_read(&s, path), CR_EINVAL);
    const char *msg = cr_error_message();
    if (!strstr(msg, needle))
        fail_msg("expected '%s' in: %s", needle, msg);
    assert_non_null(strstr(msg, path)); /* the message names the file */
    assert_null(s.xml);
}

static void test_refuses_damaged(void **state)
{
    (void)state;
    char *p = cr_path_join(dir, "bad.save");
    write_image(p, "NotLibvirtSaveXX", 2, 4096, 0, true, 0);
    expect_refused(p, "bad magic");
    write_image(p, "LibvirtQemudPart", 2, 4096, 0, true, 0);
    expect_refused(p, "unfinished");
    write_image(p, "LibvirtQemudSave", 3, 4096, 0, true, 0);
    expect_refused(p, "version 3");
    write_image(p, "LibvirtQemudSave", 2, 4096, 5, true, 0);
    expect_refused(p, "compressed");
    write_image(p, "LibvirtQemudSave", 2, 4096, 0, true, 50); /* cut inside the header */
    expect_refused(p, "ends at byte");
    write_image(p, "LibvirtQemudSave", 2, 20, 0, false, 0); /* the XML runs past data_len: no NUL */
    expect_refused(p, "not NUL-terminated");

    /* Lengths that point past the file, or past the limit, are not read. */
    write_image(p, "LibvirtQemudSave", 2, 4096, 0, true, 0);
    FILE *f = fopen(p, "r+b");
    uint32_t v = 0x7fffffff;
    fseek(f, 20, SEEK_SET); /* data_len */
    fwrite(&v, 4, 1, f);
    fclose(f);
    expect_refused(p, "bad XML length");
    write_image(p, "LibvirtQemudSave", 2, 4096, 0, true, 0);
    f = fopen(p, "r+b");
    v = 5000;
    fseek(f, 32, SEEK_SET); /* cookieOffset */
    fwrite(&v, 4, 1, f);
    fclose(f);
    expect_refused(p, "cookie offset");

    cr_saveimage s;
    char *none = cr_path_join(dir, "none.save");
    assert_int_equal(cr_saveimage_read(&s, none), CR_ENOTFOUND);
    free(none);
    free(p);
}

/* Reads the whole FIFO, as libvirt does, into *out. */
static size_t read_fifo(unsigned char **out, const char *path, size_t stop_after)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    size_t cap = 1 << 20, len = 0;
    *out = malloc(cap);
    for (;;) {
        if (len == cap)
            *out = realloc(*out, cap *= 2);
        ssize_t n = read(fd, *out + len, stop_after && stop_after - len < cap - len ? stop_after - len : cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (stop_after && len >= stop_after)
            break;
    }
    close(fd);
    return len;
}

static void test_stream_through_fifo(void **state)
{
    (void)state;
    char *src = cr_path_join(dir, "t.save"), *file = cr_path_join(dir, "c.save"), *fifo = cr_path_join(dir, "c.fifo");
    write_image(src, "LibvirtQemudSave", 2, 4096, 0, true, 0);
    cr_saveimage t;
    assert_int_equal(cr_saveimage_read(&t, src), 0);
    const char *xml = "<domain><name>clone</name></domain>";
    assert_int_equal(cr_saveimage_write(file, &t, src, xml), 0);
    unsigned char *want = NULL;
    size_t want_len = 0;
    {
        FILE *f = fopen(file, "rb");
        fseek(f, 0, SEEK_END);
        want_len = (size_t)ftell(f);
        rewind(f);
        want = malloc(want_len);
        assert_int_equal(fread(want, 1, want_len, f), want_len);
        fclose(f);
    }
    /* Read to the end: the same bytes as the file. */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    cr_saveimage_stream *st = NULL;
    assert_int_equal(cr_saveimage_stream_start(&st, fifo, &t, src, xml), 0);
    unsigned char *got = NULL;
    size_t got_len = read_fifo(&got, fifo, 0);
    assert_int_equal(cr_saveimage_stream_end(st), 0);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    /* A reader that stops early: an error naming how far it got. */
    cr_error_clear();
    assert_int_equal(cr_saveimage_stream_start(&st, fifo, &t, src, xml), 0);
    got_len = read_fifo(&got, fifo, 1000);
    assert_int_equal(cr_saveimage_stream_end(st), CR_ERROR);
    assert_non_null(strstr(cr_error_message(), "stopped reading"));
    free(got);
    /* No reader at all: an error once the restore is over, not a hang. */
    cr_error_clear();
    assert_int_equal(cr_saveimage_stream_start(&st, fifo, &t, src, xml), 0);
    assert_int_equal(cr_saveimage_stream_end(st), CR_ERROR);
    assert_non_null(strstr(cr_error_message(), "never opened"));
    free(want);
    cr_saveimage_free(&t);
    free(fifo);
    free(file);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone_keeps_stream_and_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_through_fifo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
