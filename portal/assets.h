/*
 * assets.h: the portal's pages and vendored browser code, compiled into
 * the binary by cmake/embed_www.cmake. The table ends with a NULL path; the
 * data is static and never freed.
 */
#ifndef CRANGE_PORTAL_ASSETS_H
#define CRANGE_PORTAL_ASSETS_H

#include <stddef.h>

typedef struct cr_asset {
    const char *path;          /* relative to portal/www, e.g. "vendor/xterm/xterm.js" */
    const unsigned char *data; /* NUL-terminated */
    size_t len;
} cr_asset;

extern const cr_asset cr_assets[];

#endif
