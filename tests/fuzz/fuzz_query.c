/* fuzz_query: stitchd's query API (daemon/query*.c) — the parameter
 * parsers (Go durations, RFC 3339 times, integers, limits, trace ids, tags
 * JSON, Zipkin annotationQuery), the routing and the JSON writers — through
 * stitchd_query_answer() over a real store holding a few traces.
 *
 * Input: the first line is the path ("/api/traces"), the rest a query string
 * ("service=a&tags=%7B%7D&limit=3"), percent-decoded here as an HTTP server
 * would. Invariants: the answer is one of the statuses the API documents;
 * every JSON answer (200/400/404/500) parses as JSON; a 200 has a body. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/query.h"
#include "fuzz_util.h"

static stitch_store_t *store;
static char dir[64];

static void cleanup(void)
{
    stitch_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_query: could not remove %s\n", dir);
}

/* A few spans in two traces and two services, with attributes of each type,
 * an event, a link and an error. */
static void fill(void)
{
    stitch_attr_t res_a[] = {stitch_attr_str("service.name", "frontend")};
    stitch_attr_t res_b[] = {stitch_attr_str("service.name", "cart")};
    stitch_attr_t attrs[] = {stitch_attr_str("user.id", "42"), stitch_attr_int("http.status", 200),
                             stitch_attr_bool("cache.hit", true), stitch_attr_double("total", 1.5)};
    stitch_event_t ev = {1700000000000500000ull, "retry", attrs, 1, 0};
    static const stitch_scope_info_t scope = {"fuzz", "1"};
    stitch_span_data_t s[4];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 4; i++) {
        memset(s[i].ctx.trace_id, i < 2 ? 0x11 : 0x22, 16);
        memset(s[i].ctx.span_id, 0x30 + i, 8);
        s[i].ctx.flags = 1;
        s[i].name = i & 1 ? "addItem" : "POST /cart/add";
        s[i].kind = i & 1 ? STITCH_SPAN_KIND_SERVER : STITCH_SPAN_KIND_CLIENT;
        s[i].start_ns = 1700000000000000000ull + (uint64_t)i * 1000000;
        s[i].end_ns = s[i].start_ns + 5000000;
        s[i].attrs = attrs;
        s[i].nattrs = 4;
        s[i].events = &ev;
        s[i].nevents = 1;
        s[i].status_message = "";
        s[i].resource = i & 1 ? res_b : res_a;
        s[i].nresource = 1;
        s[i].scope = &scope;
    }
    memcpy(s[1].parent_span_id, s[0].ctx.span_id, 8);
    memcpy(s[3].parent_span_id, s[2].ctx.span_id, 8);
    s[3].status = STITCH_STATUS_ERROR;
    s[3].status_message = "out of stock";
    stitch_link_t link = {s[0].ctx, NULL, NULL, 0, 0};
    s[2].links = &link;
    s[2].nlinks = 1;
    const stitch_span_data_t *p[4] = {&s[0], &s[1], &s[2], &s[3]};
    if (stitch_store_append(store, p, 4) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/stitch-fuzz-query-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    stitch_store_opts_t o = {.dir = dir};
    char err[200];
    if (stitch_store_open(&store, &o, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_query: %s\n", err);
        abort();
    }
    fill();
    atexit(cleanup);
    return 0;
}

struct args {
    char *k[32], *v[32];
    int n;
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode in place ('+' is a space in a query string). */
static void pct_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

static const char *a_get(void *ctx, const char *key)
{
    struct args *a = ctx;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->k[i], key))
            return a->v[i];
    return NULL;
}

static void a_each(void *ctx, const char *key, int (*fn)(void *, const char *), void *arg)
{
    struct args *a = ctx;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->k[i], key) && fn(arg, a->v[i]))
            return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0; /* a URL, not a body */
    char *in = fz_cstr(data, size);
    char *nl = strchr(in, '\n');
    char *qs = nl ? nl + 1 : in + strlen(in);
    if (nl)
        *nl = '\0';
    struct args a = {.n = 0};
    for (char *tok = strtok(qs, "&"); tok && a.n < 32; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        a.k[a.n] = tok;
        a.v[a.n] = eq ? eq + 1 : tok + strlen(tok);
        pct_decode(a.k[a.n]);
        pct_decode(a.v[a.n]);
        a.n++;
    }
    stitchd_query_args_t args = {a_get, a_each, &a};
    stitchd_query_resp_t r;
    memset(&r, 0, sizeof r);
    if (stitchd_query_answer(store, in, &args, &r)) {
        FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 404 || r.status == 500);
        FUZZ_CHECK(r.status != 200 || r.len > 0);
        if (r.content_type && strstr(r.content_type, "json") && r.len) {
            json_error_t e;
            json_t *j = json_loadb(r.body, r.len, JSON_ALLOW_NUL, &e);
            if (!j)
                fprintf(stderr, "not JSON (%s): %.*s\n", e.text, (int)(r.len > 400 ? 400 : r.len), r.body);
            FUZZ_CHECK(j != NULL);
            json_decref(j);
        }
        stitchd_query_resp_free(&r);
    }
    free(in);
    return 0;
}
