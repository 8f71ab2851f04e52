/*
 * assets.c: serves the embedded pages (assets.h). Paths are looked up in
 * the table as they are: nothing is joined onto a folder, so no request
 * path, however crafted, reaches the file system.
 */
#include "internal.h"

#include "assets.h"

#include <string.h>

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".json", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

int cr_assets_serve(struct mg_connection *conn, const char *path)
{
    for (const cr_asset *a = cr_assets; a->path; a++)
        if (!strcmp(a->path, path))
            return cr_http_send(conn, 200, content_type(path), a->data, a->len, "no-cache");
    return 0;
}
