/*
 * util.h: small helpers every module uses: allocation that aborts on
 * exhaustion (a CLI cannot do anything useful without memory), a growable
 * string buffer, IPv4 and CIDR parsing, time, files and paths.
 *
 * Ownership: every function returning char * returns a fresh heap string the
 * caller frees with free(). Functions taking pointers never keep them.
 */
#ifndef CRANGE_UTIL_H
#define CRANGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *cr_xmalloc(size_t n);
void *cr_xcalloc(size_t count, size_t size);
void *cr_xrealloc(void *p, size_t n);
char *cr_xstrdup(const char *s);               /* NULL in, NULL out */
char *cr_xstrndup(const char *s, size_t n);
char *cr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *array (of *cap elements of size elem) to hold at least need. */
void cr_grow(void *array_ptr, size_t *cap, size_t need, size_t elem);

/* A growable, always NUL-terminated string. Zero-initialise, free with
 * cr_buf_free; cr_buf_steal hands the string to the caller. */
typedef struct cr_buf {
    char *data;
    size_t len;
    size_t cap;
} cr_buf;

void cr_buf_add(cr_buf *b, const char *s);
void cr_buf_addn(cr_buf *b, const char *s, size_t n);
void cr_buf_addf(cr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cr_buf_add_xml(cr_buf *b, const char *s); /* escapes & < > " ' */
char *cr_buf_steal(cr_buf *b);                 /* never NULL */
void cr_buf_free(cr_buf *b);

/* IPv4 in host byte order. Return 0 or CR_EINVAL (no message set). */
int cr_ipv4_parse(uint32_t *out, const char *s);
void cr_ipv4_format(char out[16], uint32_t addr);
/* "10.0.0.0/24" -> addr, prefix. Host bits must be zero. */
int cr_cidr_parse(uint32_t *addr, int *prefix, const char *s);
uint32_t cr_cidr_mask(int prefix);
bool cr_cidr_contains(uint32_t net, int prefix, uint32_t addr);
bool cr_cidr_overlap(uint32_t a, int pa, uint32_t b, int pb);

/* Clocks. */
int64_t cr_now_ms(void);         /* monotonic, milliseconds */
double cr_now_seconds(void);     /* monotonic, seconds */
int64_t cr_wall_ms(void);        /* wall clock, ms since the epoch */
void cr_iso8601(char out[32], int64_t wall_ms); /* UTC, seconds precision */
void cr_sleep_ms(int ms);

/* Files. Each returns 0 or a negative code with the message set. */
int cr_mkdir_p(const char *path, unsigned mode);
int cr_read_file(char **out, size_t *len, const char *path); /* NUL-terminated */
int cr_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
int cr_rm_rf(const char *path);
bool cr_path_exists(const char *path);
bool cr_is_dir(const char *path);
char *cr_path_join(const char *a, const char *b);
char *cr_realpath(const char *path); /* NULL if it does not resolve */

/* Hex of n bytes into out (2n+1 chars). */
void cr_hex(char *out, const unsigned char *bytes, size_t n);
int cr_unhex(unsigned char *out, size_t n, const char *hex);

/* Names crange accepts for ranges, VMs and networks: a lowercase letter,
 * then lowercase letters, digits and '-', at most max characters. */
bool cr_name_valid(const char *s, size_t max);

/* The code point at s[i] (len bytes in s), strict UTF-8: no overlong
 * forms, no surrogates, nothing above U+10FFFF. Returns its length in
 * bytes, or 0 when s[i] starts no valid sequence. */
size_t cr_utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp);

#endif
