/* daemon/ui.h — the web UI built into stitchd: the files of ui/, embedded
 * at build time by cmake/embed.cmake into a generated C table, served on
 * the HTTP port. Client routes (/, /search, /trace/..., /dependencies) all
 * answer ui/index.html; the UI's files are under /static/. The UI reads
 * only the query API (/api/...), which this module never answers. */
#ifndef STITCHD_UI_H
#define STITCHD_UI_H

#include <stddef.h>

#include "daemon/stitchd.h"

/* One embedded file. Everything is static, generated data (ui_assets.c). */
typedef struct ui_asset {
    const char *path;          /* "/static/js/app.js": "/static/" + path under ui/ */
    const char *content_type;  /* "text/javascript; charset=utf-8" */
    const char *etag;          /* "\"<16 hex digits of the file's SHA-256>\"" */
    const unsigned char *data; /* the file's bytes */
    size_t len;
} ui_asset_t;

/* The generated table (ui_assets.c), sorted by nothing in particular. */
extern const ui_asset_t ui_assets[];
extern const size_t ui_assets_count;

/* The asset a GET of `path` (raw, no query string) answers: index.html for
 * the client routes, the file for /static/<file>; NULL when the path is not
 * the UI's (the caller answers 404). */
const ui_asset_t *ui_find(const char *path);

/* Answer a GET/HEAD of `path` from the UI: 1 with r filled (200 with a
 * malloc'd copy of the file, or 304 when the request's If-None-Match names
 * the asset's ETag; Cache-Control, ETag and the security headers set), or
 * 0 when the path is not the UI's (r untouched). */
int ui_http_get(struct MHD_Connection *c, const char *path, stitchd_resp_t *r);

#endif
