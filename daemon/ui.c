/* daemon/ui.c — serving the embedded web UI (ui/, see daemon/ui.h).
 *
 * Layout: the UI is one page, ui/index.html, that routes on the client;
 * every client route answers it, and the files it loads are /static/<path
 * under ui/>. Caching: every answer carries an ETag (a hash of the file's
 * bytes, computed when the file is embedded) and `Cache-Control: no-cache`,
 * so a browser revalidates and gets a 304 while the binary is unchanged,
 * and never runs a stale script against a newer stitchd.
 * Security: the UI's own headers — a Content-Security-Policy allowing
 * nothing but this origin (no inline script, no network beyond it) and
 * nosniff — are sent with each UI answer; span data is only ever put in
 * the page as text (ui/js/dom.js), the CSP being the second line.
 *
 * Invariant: a path is the UI's only when it is a client route or an
 * embedded file; everything else (/api/..., /metrics, typos) is left to the
 * caller, so the query API's 404s keep their JSON shape. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ui.h"

/* The client routes of ui/js/app.js; each answers index.html, with or
 * without a trailing '/'. "/trace/" also matches "/trace/<anything>". */
static const char *const routes[] = {"/", "/search", "/dependencies", "/trace"};

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static const ui_asset_t *by_path(const char *path)
{
    for (size_t i = 0; i < ui_assets_count; i++)
        if (!strcmp(ui_assets[i].path, path))
            return &ui_assets[i];
    return NULL;
}

const ui_asset_t *ui_find(const char *path)
{
    if (!strncmp(path, "/static/", 8))
        return by_path(path);
    if (!strncmp(path, "/trace/", 7))
        return by_path("/static/index.html");
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strlen(routes[i]) == len && !strncmp(path, routes[i], len))
            return by_path("/static/index.html");
    return NULL;
}

/* Does an If-None-Match value (a list of entity tags, or "*") name `etag`? */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += n) {
        char before = p == inm ? ',' : p[-1];
        if ((before == ',' || before == ' ' || before == '/') &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
    }
    return !strcmp(inm, "*");
}

int ui_http_get(struct MHD_Connection *c, const char *path, stitchd_resp_t *r)
{
    const ui_asset_t *a = ui_find(path);
    if (!a)
        return 0;
    const char *h[] = {
        MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache",
        MHD_HTTP_HEADER_ETAG, a->etag,
        "Content-Security-Policy", csp,
        "X-Content-Type-Options", "nosniff",
        "X-Frame-Options", "DENY",
        "Referrer-Policy", "no-referrer",
        NULL,
    };
    _Static_assert(sizeof h <= sizeof r->headers, "stitchd_resp_t.headers too small");
    memset(r->headers, 0, sizeof r->headers);
    memcpy(r->headers, h, sizeof h);
    r->content_type = a->content_type;
    const char *inm = c ? MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_IF_NONE_MATCH)
                        : NULL;
    if (inm && etag_matches(inm, a->etag)) {
        r->status = 304;
        r->body = NULL;
        r->len = 0;
        return 1;
    }
    /* server.c frees every body; a copy keeps that rule whole (the files
     * are tens of KB, loaded once per page). */
    r->body = malloc(a->len ? a->len : 1);
    if (!r->body) {
        stitchd_resp_jaeger_error(r, 500, "out of memory");
        memset(r->headers, 0, sizeof r->headers);
        return 1;
    }
    memcpy(r->body, a->data, a->len);
    r->status = 200;
    r->len = a->len;
    return 1;
}
