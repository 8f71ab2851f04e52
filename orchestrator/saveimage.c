/*
 * saveimage.c: reads libvirt's QEMU save image header and XML, and writes a
 * clone's image: its own header and XML in front of the template's stream
 * (saveimage.h has the layout). Relies on nothing but POSIX and Linux's
 * copy_file_range; the XML is treated as opaque text here.
 */
#include "saveimage.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "LibvirtQemudSave"
#define MAGIC_PARTIAL "LibvirtQemudPart"
#define VERSION 2
#define SPARE (64u * 1024) /* libvirt's room for a larger XML later */

typedef struct header {
    char magic[16];
    uint32_t version;
    uint32_t data_len;
    uint32_t was_running;
    uint32_t compressed;
    uint32_t cookie_offset;
    uint32_t unused[14];
} header;
_Static_assert(sizeof(header) == CR_SAVEIMAGE_HEADER, "libvirt's save header is 92 bytes");

/* Reads exactly n bytes at off; CR_EINVAL naming path when the file ends. */
static int read_at(int fd, void *buf, size_t n, uint64_t off, const char *path)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        if (r == 0)
            return cr_error_set(CR_EINVAL, "%s: not a save image: the file ends at byte %llu", path,
                                (unsigned long long)(off + got));
        got += (size_t)r;
    }
    return 0;
}

void cr_saveimage_free(cr_saveimage *s)
{
    if (!s)
        return;
    free(s->xml);
    free(s->cookie);
    memset(s, 0, sizeof *s);
}

int cr_saveimage_check_header(uint32_t *data_len, const void *head, uint64_t file_size, const char *name)
{
    header h;
    memcpy(&h, head, sizeof h);
    *data_len = 0;
    if (!memcmp(h.magic, MAGIC_PARTIAL, sizeof h.magic))
        return cr_error_set(CR_EINVAL, "%s: an unfinished save image (libvirt was still writing it)", name);
    if (memcmp(h.magic, MAGIC, sizeof h.magic))
        return cr_error_set(CR_EINVAL, "%s: not a libvirt QEMU save image (bad magic)", name);
    if (h.version != VERSION)
        return cr_error_set(CR_EINVAL, "%s: save image version %u, crange reads version %d", name, h.version,
                            VERSION);
    if (h.compressed != 0)
        return cr_error_set(CR_EINVAL, "%s: a compressed save image (format %u); crange clones raw ones only", name,
                            h.compressed);
    if (h.data_len == 0 || h.data_len > CR_SAVEIMAGE_MAX_DATA || file_size < CR_SAVEIMAGE_HEADER + (uint64_t)h.data_len)
        return cr_error_set(CR_EINVAL, "%s: bad XML length %u in a file of %llu bytes", name, h.data_len,
                            (unsigned long long)file_size);
    if (h.cookie_offset >= h.data_len)
        return cr_error_set(CR_EINVAL, "%s: cookie offset %u outside the %u bytes of data", name, h.cookie_offset,
                            h.data_len);
    *data_len = h.data_len;
    return 0;
}

int cr_saveimage_parse(cr_saveimage *out, const void *head, uint64_t file_size, const char *name)
{
    memset(out, 0, sizeof *out);
    uint32_t data_len;
    int rc = cr_saveimage_check_header(&data_len, head, file_size, name);
    if (rc < 0)
        return rc;
    header h;
    memcpy(&h, head, sizeof h);
    char *data = cr_xmalloc((size_t)data_len + 1);
    memcpy(data, (const char *)head + CR_SAVEIMAGE_HEADER, data_len);
    data[data_len] = '\0';
    /* The XML ends with a NUL before the cookie (or within the data when
     * there is no cookie); the cookie ends with a NUL within the data. */
    size_t xml_end = h.cookie_offset ? h.cookie_offset : data_len;
    size_t xml_len = strnlen(data, xml_end);
    if (xml_len == 0 || xml_len == xml_end)
        rc = cr_error_set(CR_EINVAL, "%s: the domain XML is empty or not NUL-terminated", name);
    else if (h.cookie_offset &&
             strnlen(data + h.cookie_offset, data_len - h.cookie_offset) == data_len - h.cookie_offset)
        rc = cr_error_set(CR_EINVAL, "%s: the cookie is not NUL-terminated", name);
    if (rc == 0) {
        out->version = h.version;
        out->data_len = data_len;
        out->was_running = h.was_running;
        out->compressed = h.compressed;
        out->xml = cr_xstrndup(data, xml_len);
        out->cookie = h.cookie_offset ? cr_xstrdup(data + h.cookie_offset) : NULL;
        out->stream_offset = CR_SAVEIMAGE_HEADER + (uint64_t)data_len;
        out->stream_len = file_size - out->stream_offset;
    }
    free(data);
    return rc;
}

int cr_saveimage_read(cr_saveimage *out, const char *path)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    struct stat sb;
    uint32_t data_len = 0;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cr_error_set(errno == ENOENT ? CR_ENOTFOUND : CR_ERROR, "%s: %s", path, strerror(errno));
    if (fstat(fd, &sb) < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    buf = cr_xmalloc(CR_SAVEIMAGE_HEADER);
    if ((rc = read_at(fd, buf, CR_SAVEIMAGE_HEADER, 0, path)) < 0 ||
        (rc = cr_saveimage_check_header(&data_len, buf, (uint64_t)sb.st_size, path)) < 0)
        goto cleanup;
    buf = cr_xrealloc(buf, CR_SAVEIMAGE_HEADER + (size_t)data_len);
    if ((rc = read_at(fd, buf + CR_SAVEIMAGE_HEADER, data_len, CR_SAVEIMAGE_HEADER, path)) < 0)
        goto cleanup;
    rc = cr_saveimage_parse(out, buf, (uint64_t)sb.st_size, path);
cleanup:
    free(buf);
    close(fd);
    return rc;
}

/* Writes n bytes, retrying short writes. */
static int write_all(int fd, const void *buf, size_t n, const char *path)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies len bytes of src from src_off to the end of dst. copy_file_range
 * first; a filesystem or kernel that cannot (EXDEV, ENOSYS, EINVAL) gets a
 * plain read/write copy. */
static int copy_stream(int dst, int src, uint64_t src_off, uint64_t len, const char *path)
{
    loff_t in = (loff_t)src_off;
    while (len > 0) {
        ssize_t n = copy_file_range(src, &in, dst, NULL, len > (1u << 30) ? (1u << 30) : (size_t)len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
            break;
        if (n < 0)
            return cr_error_set(CR_ERROR, "%s: copying the memory stream: %s", path, strerror(errno));
        if (n == 0)
            return cr_error_set(CR_EINVAL, "%s: the template's memory stream ended early", path);
        len -= (uint64_t)n;
    }
    char buf[1 << 16];
    while (len > 0) {
        ssize_t r = pread(src, buf, len < sizeof buf ? (size_t)len : sizeof buf, in);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return cr_error_set(CR_ERROR, "%s: reading the memory stream: %s", path,
                                r < 0 ? strerror(errno) : "early end");
        int rc = write_all(dst, buf, (size_t)r, path);
        if (rc < 0)
            return rc;
        in += r;
        len -= (uint64_t)r;
    }
    return 0;
}

/* The header and data part of a clone's image: *out (new) holds both,
 * *len bytes. */
static int build_head(char **out, size_t *len, const cr_saveimage *tmpl, const char *xml, const char *dst)
{
    size_t xml_len = strlen(xml) + 1;
    size_t cookie_len = tmpl->cookie ? strlen(tmpl->cookie) + 1 : 0;
    size_t need = xml_len + cookie_len;
    if (need + SPARE > CR_SAVEIMAGE_MAX_DATA)
        return cr_error_set(CR_EINVAL, "%s: a domain XML of %zu bytes is too large for a save image", dst, xml_len);
    header h = {.version = VERSION, .was_running = tmpl->was_running, .compressed = 0};
    memcpy(h.magic, MAGIC, sizeof h.magic);
    h.data_len = need <= tmpl->data_len ? tmpl->data_len : (uint32_t)(need + SPARE);
    h.cookie_offset = tmpl->cookie ? (uint32_t)xml_len : 0;
    *len = sizeof h + h.data_len;
    *out = cr_xcalloc(1, *len);
    memcpy(*out, &h, sizeof h);
    memcpy(*out + sizeof h, xml, xml_len);
    if (tmpl->cookie)
        memcpy(*out + sizeof h + xml_len, tmpl->cookie, cookie_len);
    return 0;
}

int cr_saveimage_head(char **out, size_t *len, const cr_saveimage *tmpl, const char *xml, const char *name)
{
    int rc = build_head(out, len, tmpl, xml, name);
    if (rc == 0 && *len != tmpl->stream_offset) {
        free(*out);
        *out = NULL;
        rc = cr_error_set(CR_EINVAL, "%s: the clone's XML does not fit in the template's %u bytes", name,
                          tmpl->data_len);
    }
    return rc;
}

int cr_saveimage_write(const char *dst, const cr_saveimage *tmpl, const char *src_path, const char *xml)
{
    char *head = NULL;
    size_t head_len = 0;
    int hrc = build_head(&head, &head_len, tmpl, xml, dst);
    if (hrc < 0)
        return hrc;
    char *tmp = cr_xasprintf("%s.tmp.%ld", dst, (long)getpid());
    int rc = 0, src = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    src = open(src_path, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", src_path, strerror(errno));
        goto cleanup;
    }
    if ((rc = write_all(fd, head, head_len, tmp)) < 0 ||
        (rc = copy_stream(fd, src, tmpl->stream_offset, tmpl->stream_len, tmp)) < 0)
        goto cleanup;
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        rc = cr_error_set(CR_ERROR, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, dst) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", dst, strerror(errno));
cleanup:
    if (fd >= 0)
        close(fd);
    if (src >= 0)
        close(src);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    free(head);
    return rc;
}

struct cr_saveimage_stream {
    pthread_t thread;
    char *path;
    char *head;
    size_t head_len;
    int src;
    uint64_t offset, len;
    atomic_bool done; /* the restore returned: stop waiting for the reader */
    int rc;
    char err[256];
};

/* Writes n bytes to a non-blocking FIFO, waiting for room; gives up when the
 * reader is gone (EPIPE) or the restore is over and no room comes. */
static int stream_write(cr_saveimage_stream *s, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int r = poll(&pfd, 1, 200);
            if (r == 0 && atomic_load(&s->done))
                return -1;
            continue;
        }
        return -1; /* EPIPE: libvirt closed its end */
    }
    return 0;
}

static void *stream_main(void *arg)
{
    cr_saveimage_stream *s = arg;
    /* A write after libvirt closed the FIFO raises SIGPIPE on this thread;
     * blocked here, it becomes an EPIPE instead of ending the process. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    int fd = -1;
    /* Opening for writing fails with ENXIO until libvirt opens it to read. */
    while (!atomic_load(&s->done)) {
        fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0 || (errno != ENXIO && errno != EINTR))
            break;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (fd < 0) {
        snprintf(s->err, sizeof s->err, "%s: libvirt never opened it: %s", s->path,
                 atomic_load(&s->done) ? "the restore ended first" : strerror(errno));
        s->rc = CR_ERROR;
        return NULL;
    }
    char buf[1 << 16];
    uint64_t off = s->offset, left = s->len;
    int rc = stream_write(s, fd, s->head, s->head_len);
    while (rc == 0 && left > 0) {
        ssize_t r = pread(s->src, buf, left < sizeof buf ? (size_t)left : sizeof buf, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = -1;
            break;
        }
        rc = stream_write(s, fd, buf, (size_t)r);
        off += (uint64_t)r;
        left -= (uint64_t)r;
    }
    if (rc < 0) {
        snprintf(s->err, sizeof s->err, "%s: libvirt stopped reading the memory image after %llu of %llu bytes",
                 s->path, (unsigned long long)(off - s->offset), (unsigned long long)s->len);
        s->rc = CR_ERROR;
    }
    close(fd);
    return NULL;
}

int cr_saveimage_stream_start(cr_saveimage_stream **out, const char *fifo_path, const cr_saveimage *tmpl,
                              const char *src_path, const char *xml)
{
    *out = NULL;
    cr_saveimage_stream *s = cr_xcalloc(1, sizeof *s);
    s->src = -1;
    int rc = build_head(&s->head, &s->head_len, tmpl, xml, fifo_path);
    if (rc == 0) {
        s->src = open(src_path, O_RDONLY | O_CLOEXEC);
        if (s->src < 0)
            rc = cr_error_set(CR_ERROR, "%s: %s", src_path, strerror(errno));
    }
    if (rc == 0) {
        s->path = cr_xstrdup(fifo_path);
        s->offset = tmpl->stream_offset;
        s->len = tmpl->stream_len;
        if (pthread_create(&s->thread, NULL, stream_main, s) != 0)
            rc = cr_error_set(CR_ERROR, "%s: cannot start the writer thread", fifo_path);
    }
    if (rc < 0) {
        if (s->src >= 0)
            close(s->src);
        free(s->path);
        free(s->head);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int cr_saveimage_stream_end(cr_saveimage_stream *s)
{
    if (!s)
        return 0;
    atomic_store(&s->done, true);
    pthread_join(s->thread, NULL);
    int rc = s->rc < 0 ? cr_error_set(s->rc, "%s", s->err) : 0;
    close(s->src);
    free(s->path);
    free(s->head);
    free(s);
    return rc;
}
