/* libcurl adapter: one traced request = one CLIENT span plus the span's
 * context injected into the request headers (stitch/instrument/curl.h).
 *
 * Invariant: between begin and finish the easy handle's CURLOPT_HTTPHEADER
 * is the call's own list (`sent`): a copy of the caller's list with the
 * injected headers replacing any caller header of the same name. finish
 * always sets the caller's list back before freeing `sent`, so the handle
 * never points at freed memory and the caller's list is never modified. */
#include "stitch/instrument/curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_INJECTED 16 /* header lines a propagator may set (all formats: ~8) */

struct stitch_curl_call {
    CURL *easy;
    stitch_span_t *span;
    struct curl_slist *user;          /* the caller's list, borrowed */
    struct curl_slist *sent;          /* ours, owned */
    char *injected[MAX_INJECTED];     /* "name: value", owned */
    size_t ninjected;
    bool have_url;                    /* url attributes were set at start */
    char method[24];                  /* the method named at start */
};

/* ---- names ------------------------------------------------------------------ */

static const char *const known_methods[] = {
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY",
};

static bool method_known(const char *m)
{
    for (size_t i = 0; i < sizeof known_methods / sizeof known_methods[0]; i++)
        if (strcmp(m, known_methods[i]) == 0)
            return true;
    return false;
}

/* http.request.method and the span name: a method outside the known set is
 * "_OTHER" (name "HTTP") with the original in http.request.method_original,
 * as the HTTP conventions ask (it bounds the names' cardinality). */
static void set_method(stitch_span_t *s, const char *m, bool rename)
{
    if (method_known(m)) {
        (void)stitch_span_set_str(s, "http.request.method", m);
        if (rename)
            (void)stitch_span_update_name(s, m);
    } else {
        (void)stitch_span_set_str(s, "http.request.method", "_OTHER");
        (void)stitch_span_set_str(s, "http.request.method_original", m);
        if (rename)
            (void)stitch_span_update_name(s, "HTTP");
    }
}

/* error.type for a transport error: the CURLcode's name for the codes one
 * sees in practice, else a stable "CURLE_<number>". */
static const char *curlcode_name(CURLcode rc, char *buf, size_t len)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL: return "CURLE_UNSUPPORTED_PROTOCOL";
    case CURLE_URL_MALFORMAT: return "CURLE_URL_MALFORMAT";
    case CURLE_COULDNT_RESOLVE_PROXY: return "CURLE_COULDNT_RESOLVE_PROXY";
    case CURLE_COULDNT_RESOLVE_HOST: return "CURLE_COULDNT_RESOLVE_HOST";
    case CURLE_COULDNT_CONNECT: return "CURLE_COULDNT_CONNECT";
    case CURLE_WEIRD_SERVER_REPLY: return "CURLE_WEIRD_SERVER_REPLY";
    case CURLE_HTTP2: return "CURLE_HTTP2";
    case CURLE_PARTIAL_FILE: return "CURLE_PARTIAL_FILE";
    case CURLE_HTTP_RETURNED_ERROR: return "CURLE_HTTP_RETURNED_ERROR";
    case CURLE_WRITE_ERROR: return "CURLE_WRITE_ERROR";
    case CURLE_READ_ERROR: return "CURLE_READ_ERROR";
    case CURLE_OUT_OF_MEMORY: return "CURLE_OUT_OF_MEMORY";
    case CURLE_OPERATION_TIMEDOUT: return "CURLE_OPERATION_TIMEDOUT";
    case CURLE_RANGE_ERROR: return "CURLE_RANGE_ERROR";
    case CURLE_HTTP_POST_ERROR: return "CURLE_HTTP_POST_ERROR";
    case CURLE_SSL_CONNECT_ERROR: return "CURLE_SSL_CONNECT_ERROR";
    case CURLE_ABORTED_BY_CALLBACK: return "CURLE_ABORTED_BY_CALLBACK";
    case CURLE_TOO_MANY_REDIRECTS: return "CURLE_TOO_MANY_REDIRECTS";
    case CURLE_GOT_NOTHING: return "CURLE_GOT_NOTHING";
    case CURLE_SEND_ERROR: return "CURLE_SEND_ERROR";
    case CURLE_RECV_ERROR: return "CURLE_RECV_ERROR";
    case CURLE_PEER_FAILED_VERIFICATION: return "CURLE_PEER_FAILED_VERIFICATION";
    case CURLE_SSL_CERTPROBLEM: return "CURLE_SSL_CERTPROBLEM";
    case CURLE_SSL_CIPHER: return "CURLE_SSL_CIPHER";
    case CURLE_SSL_CACERT_BADFILE: return "CURLE_SSL_CACERT_BADFILE";
    case CURLE_BAD_CONTENT_ENCODING: return "CURLE_BAD_CONTENT_ENCODING";
    case CURLE_FILESIZE_EXCEEDED: return "CURLE_FILESIZE_EXCEEDED";
    case CURLE_LOGIN_DENIED: return "CURLE_LOGIN_DENIED";
    case CURLE_HTTP3: return "CURLE_HTTP3";
    default: break;
    }
    int n = snprintf(buf, len, "CURLE_%d", (int)rc);
    return (n > 0 && (size_t)n < len) ? buf : "_OTHER";
}

/* ---- URL attributes ------------------------------------------------------- */

/* url.full (credentials replaced by REDACTED), server.address (IPv6
 * without brackets) and server.port (the scheme's default when absent).
 * A URL curl cannot parse still gets url.full, minus nothing: it carries
 * no parseable credentials. */
static void set_url_attrs(stitch_span_t *s, const char *url)
{
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)) {
        if (u)
            curl_url_cleanup(u);
        (void)stitch_span_set_str(s, "url.full", url);
        return;
    }
    char *part = NULL;
    bool creds = false;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        creds = true;
        curl_free(part);
        (void)curl_url_set(u, CURLUPART_USER, "REDACTED", 0);
    }
    if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        creds = true;
        curl_free(part);
        (void)curl_url_set(u, CURLUPART_PASSWORD, "REDACTED", 0);
    }
    char *full = NULL;
    if (creds && curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) {
        (void)stitch_span_set_str(s, "url.full", full);
        curl_free(full);
    } else if (!creds) {
        (void)stitch_span_set_str(s, "url.full", url);
    } /* credentials we could not redact: leave url.full out rather than leak them */
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
        size_t n = strlen(part);
        if (n >= 2 && part[0] == '[' && part[n - 1] == ']')
            (void)stitch_span_set_strn(s, "server.address", part + 1, n - 2);
        else
            (void)stitch_span_set_strn(s, "server.address", part, n);
        curl_free(part);
    }
    if (curl_url_get(u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        long port = strtol(part, NULL, 10);
        if (port > 0 && port < 65536)
            (void)stitch_span_set_int(s, "server.port", port);
        curl_free(part);
    }
    curl_url_cleanup(u);
}

/* ---- the inject carrier ----------------------------------------------------- */

/* Length of a curl header line's name: up to ':' or ';' ("Name;" sends
 * an empty header in curl's syntax). */
static size_t line_name_len(const char *line)
{
    size_t n = strcspn(line, ":;");
    return n;
}

static int carrier_set(void *self, const char *name, const char *value)
{
    struct stitch_curl_call *c = self;
    size_t nlen = strlen(name), vlen = strlen(value);
    char *line = malloc(nlen + 2 + vlen + 1);
    if (!line)
        return STITCH_ENOMEM;
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen + 1);
    for (size_t i = 0; i < c->ninjected; i++) {
        if (line_name_len(c->injected[i]) == nlen && strncasecmp(c->injected[i], name, nlen) == 0) {
            free(c->injected[i]);
            c->injected[i] = line;
            return 0;
        }
    }
    if (c->ninjected == MAX_INJECTED) {
        free(line);
        return STITCH_ELIMIT;
    }
    c->injected[c->ninjected++] = line;
    return 0;
}

static bool is_injected(const struct stitch_curl_call *c, const char *line)
{
    size_t n = line_name_len(line);
    for (size_t i = 0; i < c->ninjected; i++)
        if (line_name_len(c->injected[i]) == n && strncasecmp(c->injected[i], line, n) == 0)
            return true;
    return false;
}

/* The list we send: the caller's lines (minus those we replace), then ours. */
static struct curl_slist *build_list(const struct stitch_curl_call *c)
{
    struct curl_slist *out = NULL, *t;
    for (const struct curl_slist *l = c->user; l; l = l->next) {
        if (!l->data || is_injected(c, l->data))
            continue;
        if (!(t = curl_slist_append(out, l->data)))
            goto fail;
        out = t;
    }
    for (size_t i = 0; i < c->ninjected; i++) {
        if (!(t = curl_slist_append(out, c->injected[i])))
            goto fail;
        out = t;
    }
    return out;
fail:
    curl_slist_free_all(out);
    return NULL;
}

static void call_free(struct stitch_curl_call *c)
{
    for (size_t i = 0; i < c->ninjected; i++)
        free(c->injected[i]);
    curl_slist_free_all(c->sent);
    free(c);
}

/* ---- public ------------------------------------------------------------------------ */

int stitch_curl_begin(CURL *easy, const stitch_curl_opts_t *opts, stitch_curl_call_t **out)
{
    static const stitch_curl_opts_t defaults = {0};
    if (!out)
        return STITCH_EINVAL;
    *out = NULL;
    if (!easy)
        return STITCH_EINVAL;
    if (!opts)
        opts = &defaults;
    (void)curl_easy_setopt(easy, CURLOPT_HTTPHEADER, opts->headers);
    if (opts->url && curl_easy_setopt(easy, CURLOPT_URL, opts->url) != CURLE_OK)
        return STITCH_ENOMEM;

    struct stitch_curl_call *c = calloc(1, sizeof *c);
    if (!c)
        return STITCH_ENOMEM;
    c->easy = easy;
    c->user = opts->headers;
    const char *method = opts->method ? opts->method : "GET";
    if (strlen(method) < sizeof c->method)
        memcpy(c->method, method, strlen(method) + 1);

    stitch_tracer_t *t = opts->tracer ? opts->tracer
                                      : stitch_global_tracer(STITCH_CURL_SCOPE, STITCH_VERSION_STRING);
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_CLIENT, .parent = opts->parent};
    c->span = stitch_span_start(t, method_known(method) ? method : "HTTP", &so);
    set_method(c->span, method, false);
    if (opts->url) {
        set_url_attrs(c->span, opts->url);
        c->have_url = true;
    }

    /* Inject the CLIENT span's context, with the parent's baggage. */
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    stitch_ctx_from_span(&ctx, c->span, opts->parent);
    stitch_carrier_t carrier = {.self = c, .get = NULL, .set = carrier_set, .keys = NULL};
    const stitch_propagator_t *p = opts->propagator ? opts->propagator : stitch_propagator_default();
    int rc = stitch_inject(p, &ctx, &carrier);
    stitch_ctx_release(&ctx);
    if (rc == 0 && c->ninjected > 0) {
        c->sent = build_list(c);
        if (!c->sent)
            rc = STITCH_ENOMEM;
    }
    if (rc != 0) {
        /* The request goes out untraced (the caller's headers only); the
         * span is ended now so nothing leaks, marked so it is not mistaken
         * for the request's own outcome. */
        stitch_span_set_status(c->span, STITCH_STATUS_ERROR, "stitch: context injection failed");
        stitch_span_end(c->span);
        call_free(c);
        return rc;
    }
    if (c->sent)
        (void)curl_easy_setopt(easy, CURLOPT_HTTPHEADER, c->sent);
    *out = c;
    return 0;
}

stitch_span_t *stitch_curl_call_span(stitch_curl_call_t *call)
{
    return call ? call->span : NULL;
}

void stitch_curl_finish(stitch_curl_call_t *c, CURLcode result)
{
    if (!c)
        return;
    stitch_span_t *s = c->span;
    if (stitch_span_is_recording(s)) {
        char *eff = NULL;
        if (curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_METHOD, &eff) == CURLE_OK && eff &&
            strcmp(eff, c->method) != 0)
            set_method(s, eff, true);
        if (!c->have_url && curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
            set_url_attrs(s, eff);
        long code = 0;
        if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0)
            (void)stitch_span_set_int(s, "http.response.status_code", code);
        long ver = 0;
        if (code > 0 && curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION, &ver) == CURLE_OK) {
            const char *v = ver == CURL_HTTP_VERSION_1_0   ? "1.0"
                            : ver == CURL_HTTP_VERSION_1_1 ? "1.1"
                            : ver == CURL_HTTP_VERSION_2_0 ? "2"
                            : ver == CURL_HTTP_VERSION_3   ? "3"
                                                           : NULL;
            if (v)
                (void)stitch_span_set_str(s, "network.protocol.version", v);
        }
        char buf[32];
        if (result != CURLE_OK) {
            (void)stitch_span_set_str(s, "error.type", curlcode_name(result, buf, sizeof buf));
            stitch_span_set_status(s, STITCH_STATUS_ERROR, curl_easy_strerror(result));
        } else if (code >= 400) {
            snprintf(buf, sizeof buf, "%ld", code);
            (void)stitch_span_set_str(s, "error.type", buf);
            stitch_span_set_status(s, STITCH_STATUS_ERROR, NULL);
        }
    }
    stitch_span_end(s);
    (void)curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->user);
    call_free(c);
}

CURLcode stitch_curl_perform(CURL *easy, const stitch_curl_opts_t *opts)
{
    if (!easy)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    stitch_curl_call_t *call = NULL;
    if (stitch_curl_begin(easy, opts, &call) != 0 && opts && opts->url &&
        curl_easy_setopt(easy, CURLOPT_URL, opts->url) != CURLE_OK)
        return CURLE_OUT_OF_MEMORY;
    CURLcode rc = curl_easy_perform(easy);
    stitch_curl_finish(call, rc);
    return rc;
}
