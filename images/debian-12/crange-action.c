/*
 * crange-action.c: appends one trainee command line to the action spool of
 * the debian-12 image, as one JSON line in the format of the tiny image's
 * crange-action:
 *   {"seq":N,"spool":"<id>","time":<unix s>,"user":"..","cwd":"..","command":".."}
 * seq is the line's number in the spool (lines are counted under an
 * exclusive flock, so concurrent shells never share a number). crange-actiond
 * forwards the spool to the host.
 *
 * or, once the command has run, its exit status:
 *   {"seq":N,"spool":"<id>","time":<unix s>,"user":"..","of":SEQ,"status":CODE}
 *
 * Usage: crange-action CWD COMMAND       prints the line's seq
 *        crange-action --status SEQ CODE
 * (called by the bash hook, /etc/crange/bash-hook.sh)
 *
 * Trust: installed root:crange mode 2755 (setgid, not setuid). The spool
 * folder /var/log/crange is root:crange 0770 and the spool 0660, so a user
 * can neither read other users' lines nor write the spool except through this
 * program, and this program takes the user from the real uid the kernel
 * gives it (getuid), never from its arguments or environment. What a user
 * does control is their own cwd and command text, which is what the line
 * claims anyway. It never creates files: crange-init (root) does at boot.
 *
 * Built by images/debian-12/build.sh with the host's gcc; the host is Debian 12
 * too, so it links against the same glibc the guest has.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define DIR_PATH "/var/log/crange"
#define SPOOL DIR_PATH "/actions.jsonl"
#define SPOOL_ID DIR_PATH "/spool-id"
/* Bytes of cwd or command kept, counted after escaping: a control character
 * takes 6 bytes escaped, and a command of 12,000 tabs once made a line over
 * the host's 64 KiB, which the host then waited on for good. Two fields of
 * 16 KiB and the rest keep a line well under it. */
#define MAX_FIELD 16384

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            exit(0); /* never disturb the shell */
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not UTF-8 replaced by U+FFFD, since the host refuses a line
 * that is not valid JSON (and the guest would resend it forever). */
static void put_json(buf *b, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    put(b, "\"", 1);
    size_t start = b->len;
    /* Stops before a character whose escaped form (at most 6 bytes) could
     * pass the limit, so no character or escape is ever cut. */
    for (size_t i = 0; i < n && b->len - start + 6 <= MAX_FIELD;) {
        unsigned char c = s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(b, esc);
            i++;
        } else {
            size_t len = utf8_len(s + i, n - i);
            if (len) {
                put(b, (const char *)s + i, len);
                i += len;
            } else {
                puts_(b, "\xef\xbf\xbd");
                i++;
            }
        }
    }
    put(b, "\"", 1);
}

/* Counts the newlines of the spool from the start. */
static long count_lines(int fd)
{
    char chunk[65536];
    long lines = 0;
    ssize_t r;
    off_t off = 0;
    while ((r = pread(fd, chunk, sizeof chunk, off)) > 0) {
        for (ssize_t i = 0; i < r; i++)
            lines += chunk[i] == '\n';
        off += r;
    }
    return lines;
}

/* A number from 0 to max, or -1. */
static long number(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 0 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
    bool status = argc == 4 && !strcmp(argv[1], "--status");
    long of = status ? number(argv[2], 1L << 40) : 0, code = status ? number(argv[3], 255) : 0;
    if (!(argc == 3 && strcmp(argv[1], "--status")) && !status) {
        fprintf(stderr, "usage: crange-action CWD COMMAND | crange-action --status SEQ CODE\n");
        return 2;
    }
    if (of < 0 || code < 0)
        return 0; /* not numbers: nothing the host would take */
    /* Whatever fails below, the shell goes on: the log is best effort. */
    char id[64] = "";
    int idfd = open(SPOOL_ID, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (idfd < 0)
        return 0;
    ssize_t n = read(idfd, id, sizeof id - 1);
    close(idfd);
    if (n <= 0)
        return 0;
    id[strcspn(id, "\n")] = '\0';

    int fd = open(SPOOL, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX) < 0) {
        close(fd);
        return 0;
    }

    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    char user[32];
    if (!pw)
        snprintf(user, sizeof user, "%u", (unsigned)uid);

    buf b = {0};
    char num[64];
    long seq = count_lines(fd) + 1;
    snprintf(num, sizeof num, "{\"seq\":%ld,\"spool\":", seq);
    puts_(&b, num);
    put_json(&b, id);
    snprintf(num, sizeof num, ",\"time\":%lld,\"user\":", (long long)time(NULL));
    puts_(&b, num);
    put_json(&b, pw ? pw->pw_name : user);
    if (status) {
        snprintf(num, sizeof num, ",\"of\":%ld,\"status\":%ld", of, code);
        puts_(&b, num);
    } else {
        puts_(&b, ",\"cwd\":");
        put_json(&b, argv[1]);
        puts_(&b, ",\"command\":");
        put_json(&b, argv[2]);
    }
    puts_(&b, "}\n");
    /* One write on an O_APPEND descriptor, under the lock: a whole line. */
    ssize_t w = write(fd, b.p, b.len);
    close(fd);
    free(b.p);
    if (w == (ssize_t)b.len && !status)
        printf("%ld\n", seq); /* for the hook, which reports the status with it */
    return 0;
}
