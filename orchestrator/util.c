/*
 * util.c: the helpers declared in util.h. Nothing here knows about scenarios,
 * libvirt or SQLite.
 */
#include "util.h"

#include "err.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
    fputs("crange: out of memory\n", stderr);
    abort();
}

void *cr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *cr_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *cr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *cr_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        oom();
    return d;
}

char *cr_xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        oom();
    return d;
}

char *cr_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return s;
}

void cr_grow(void *array_ptr, size_t *cap, size_t need, size_t elem)
{
    void **arr = array_ptr;
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    *arr = cr_xrealloc(*arr, n * elem);
    memset((char *)*arr + *cap * elem, 0, (n - *cap) * elem);
    *cap = n;
}

void cr_buf_addn(cr_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->len + n + 1)
            c *= 2;
        b->data = cr_xrealloc(b->data, c);
        b->cap = c;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cr_buf_add(cr_buf *b, const char *s)
{
    cr_buf_addn(b, s, strlen(s));
}

void cr_buf_addf(cr_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    cr_buf_addn(b, s, (size_t)n);
    free(s);
}

void cr_buf_add_xml(cr_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cr_buf_add(b, "&amp;"); break;
        case '<': cr_buf_add(b, "&lt;"); break;
        case '>': cr_buf_add(b, "&gt;"); break;
        case '"': cr_buf_add(b, "&quot;"); break;
        case '\'': cr_buf_add(b, "&apos;"); break;
        default: cr_buf_addn(b, s, 1);
        }
    }
}

char *cr_buf_steal(cr_buf *b)
{
    char *s = b->data ? b->data : cr_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void cr_buf_free(cr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cr_ipv4_parse(uint32_t *out, const char *s)
{
    struct in_addr a;
    /* inet_pton accepts only dotted quads of four decimal parts. */
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return CR_EINVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

void cr_ipv4_format(char out[16], uint32_t addr)
{
    snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

uint32_t cr_cidr_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int cr_cidr_parse(uint32_t *addr, int *prefix, const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s > 15 || !slash[1])
        return CR_EINVAL;
    char ip[16];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    /* strtol would also take a sign or leading blanks; a prefix is digits. */
    if (slash[1] < '0' || slash[1] > '9')
        return CR_EINVAL;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || p < 0 || p > 32)
        return CR_EINVAL;
    uint32_t a;
    if (cr_ipv4_parse(&a, ip) < 0)
        return CR_EINVAL;
    if (a & ~cr_cidr_mask((int)p))
        return CR_EINVAL;
    *addr = a;
    *prefix = (int)p;
    return 0;
}

bool cr_cidr_contains(uint32_t net, int prefix, uint32_t addr)
{
    return (addr & cr_cidr_mask(prefix)) == net;
}

bool cr_cidr_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
    int p = pa < pb ? pa : pb;
    return (a & cr_cidr_mask(p)) == (b & cr_cidr_mask(p));
}

int64_t cr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double cr_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t cr_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cr_iso8601(char out[32], int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cr_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int cr_mkdir_p(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return cr_error_set(CR_EINVAL, "%s: path too long", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
    return 0;
}

int cr_read_file(char **out, size_t *len, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cr_error_set(errno == ENOENT ? CR_ENOTFOUND : CR_ERROR, "%s: %s", path, strerror(errno));
    cr_buf b = {0};
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        cr_buf_addn(&b, chunk, (size_t)n);
    int saved = errno;
    close(fd);
    if (n < 0) {
        cr_buf_free(&b);
        return cr_error_set(CR_ERROR, "%s: %s", path, strerror(saved));
    }
    if (len)
        *len = b.len;
    *out = cr_buf_steal(&b);
    return 0;
}

int cr_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char *tmp = cr_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto cleanup;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
cleanup:
    free(tmp);
    return rc;
}

int cr_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (rc == 0 && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *child = cr_path_join(path, e->d_name);
            rc = cr_rm_rf(child);
            free(child);
        }
        closedir(d);
        if (rc < 0)
            return rc;
        if (rmdir(path) < 0)
            return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        return 0;
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    return 0;
}

bool cr_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool cr_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *cr_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la && a[la - 1] == '/')
        return cr_xasprintf("%s%s", a, b);
    return cr_xasprintf("%s/%s", a, b);
}

char *cr_realpath(const char *path)
{
    char *r = realpath(path, NULL);
    return r;
}

void cr_hex(char *out, const unsigned char *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cr_unhex(unsigned char *out, size_t n, const char *hex)
{
    if (strlen(hex) != 2 * n)
        return CR_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CR_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

bool cr_name_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return s[n - 1] != '-';
}

/* Decodes one code point at s[i] (strict: no overlong forms, no
 * surrogates, nothing above U+10FFFF). Returns its length, or 0. */
size_t cr_utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > len)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}
