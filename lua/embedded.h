/*
 * embedded.h: Lua sources (and the data files of lua/, such as
 * attack-techniques.tsv) compiled into the binary by cmake/embed.cmake.
 * The table ends with a NULL name. The data is static and never freed.
 */
#ifndef CRANGE_EMBEDDED_H
#define CRANGE_EMBEDDED_H

#include <stddef.h>

typedef struct cr_embedded_file {
    const char *name; /* file name without its extension, e.g. "prelude" */
    const char *data; /* the source text, NUL-terminated */
    size_t len;
} cr_embedded_file;

extern const cr_embedded_file cr_embedded_files[];

#endif
