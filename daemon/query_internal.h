/* daemon/query_internal.h — what the files of the query API (daemon/query*.c)
 * share, and nothing else includes: the per-request context and its error
 * answers, the parameter parsers, the search (API parameters → store query,
 * plus the conditions the store cannot check), resource/scope
 * de-duplication, and the Jaeger v1 trace writer.
 *
 * Layout:
 *   query.c         routing, response envelopes and error shapes
 *   query_params.c  Go durations, RFC 3339 times, integers, trace ids, tags
 *   query_search.c  the search: store query, post-filter, trace lists
 *   query_jaeger.c  Jaeger v1 endpoints and the Jaeger JSON trace writer
 *   query_v3.c      Jaeger v3 endpoints (OTLP/JSON through wire/)
 *   query_zipkin.c  Zipkin v2 endpoints (Zipkin JSON through wire/)
 *   query_ui.c      the web UI's compact trace (/api/ui/traces/{id})
 *
 * Invariant: a handler either fills the response through query_ok() or
 * through query_fail(); it never leaves it half-set. Every string a search
 * points to lives until query_search_free(). */
#ifndef STITCHD_QUERY_INTERNAL_H
#define STITCHD_QUERY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/query.h"
#include "wire/internal.h"

/* ---- limits --------------------------------------------------------------------- */

#define QUERY_MAX_LIMIT 1500           /* traces per search; larger limits are clamped */
#define QUERY_MAX_TAGS 64              /* tag conditions per search */
#define QUERY_MAX_TRACE_IDS 100        /* repeated traceID parameters */
#define QUERY_MAX_BODY (1024u << 20)   /* a response larger than 1 GiB is a 500 */

/* ---- request context and answers ------------------------------------------------ */

typedef enum query_api {
    QUERY_API_V1 = 1, /* {"data":…,"errors":[{"code","msg"}]} */
    QUERY_API_V3,     /* {"error":{"httpCode","message"}} */
    QUERY_API_ZIPKIN, /* text/plain message */
} query_api_t;

typedef struct query_ctx {
    stitch_store_t *store;
    const stitchd_query_args_t *args;
    stitchd_query_resp_t *resp;
    query_api_t api;
    stitch_buf_t out; /* the body being written (max QUERY_MAX_BODY) */
    uint64_t now_ns;  /* wall clock at the start of the request */
} query_ctx_t;

/* The first value of a parameter; NULL when absent or empty (Jaeger's
 * FormValue rule: an empty value means "not given"). */
const char *query_arg(query_ctx_t *c, const char *key);
/* The first non-empty of two spellings (Jaeger v3's camelCase and its
 * deprecated snake_case); *used gets the name that was found. */
const char *query_arg2(query_ctx_t *c, const char *key, const char *alias, const char **used);

/* 200 with c->out as the body (ownership moves to the response). Returns 1
 * (the value stitchd_query_answer returns) so handlers can `return query_ok(…)`. */
int query_ok(query_ctx_t *c, const char *content_type);
/* An error answer in c->api's shape, status `status`, message from fmt.
 * Discards whatever c->out held. Returns 1. */
int query_fail(query_ctx_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The answer for a failed writer or store call: 500 with what failed. */
int query_fail_rc(query_ctx_t *c, int rc, const char *what);

/* Parameter readers: 0 with *out set (or untouched when the parameter is
 * absent: *given says which), or -1 after answering 400 with a message
 * naming the parameter. `alias` (may be NULL) is a second accepted name. */
int query_param_duration(query_ctx_t *c, const char *name, const char *alias, uint64_t *out,
                         bool *given);
int query_param_int(query_ctx_t *c, const char *name, const char *alias, int64_t min, int64_t max,
                    int64_t *out, bool *given);
int query_param_rfc3339(query_ctx_t *c, const char *name, const char *alias, uint64_t *out,
                        bool *given);
/* A trace limit: absent or 0 → def; negative or not a number → 400;
 * above QUERY_MAX_LIMIT → QUERY_MAX_LIMIT. */
int query_param_limit(query_ctx_t *c, const char *name, const char *alias, size_t def, size_t *out);

/* Handlers: return 1 (always, the path is theirs), having answered. */
/* A JSON list written while a store walk calls back (store.h's callbacks):
 * elements separated by commas; the first error stops the walk and stays
 * in rc. `last` (free it) lets query_list_op_name drop a name the store
 * lists again for another span kind. */
typedef struct query_list {
    stitch_buf_t *b;
    size_t n;
    int rc;
    char *last;
} query_list_t;
/* A string element (stitch_store_str_fn). */
int query_list_str(void *arg, const char *s);
/* An operation's name, once per name (stitch_store_op_fn). */
int query_list_op_name(void *arg, const char *service, const char *name, int kind);
/* An operation as {"name":…,"spanKind":…} (stitch_store_op_fn). */
int query_list_op(void *arg, const char *service, const char *name, int kind);

int query_jaeger_route(query_ctx_t *c, const char *rest);  /* after "/api" */
int query_v3_route(query_ctx_t *c, const char *rest);      /* after "/api/v3" */
int query_zipkin_route(query_ctx_t *c, const char *rest);  /* after "/api/v2" */

/* ---- parameter parsers (query_params.c) ---------------------------------------------
 * Each returns 0, or -1 with a short reason in err (no parameter name: the
 * caller prefixes it). */

/* A Go duration ("300ms", "1.5h", "2h45m", "500us", "500µs", "0"), as
 * time.ParseDuration reads it; negative durations are refused. */
int query_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen);
/* A decimal integer within [min, max]. */
int query_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                    size_t errlen);
/* An RFC 3339 time with optional fraction and Z or ±hh:mm offset, at or
 * after 1970-01-01T00:00:00Z, as Unix ns. */
int query_parse_rfc3339(const char *s, uint64_t *ns, char *err, size_t errlen);
/* 1 to 32 hex digits, either case, left-padded with zeros (Jaeger's
 * TraceIDFromString accepts ids with leading zeros dropped). */
int query_parse_trace_id(const char *s, size_t len, uint8_t out[16], char *err, size_t errlen);
/* Percent-decode a path segment [s, s+n) into a new malloc'd string; NULL
 * for an encoded NUL (%00) or out of memory. A '%' not followed by two hex
 * digits stays as it is: some HTTP servers (libmicrohttpd) decode the path
 * before we see it, and a name may hold a literal '%'. */
char *query_path_decode(const char *s, size_t n);
/* Span kind names: "server" / "SPAN_KIND_SERVER" / "SERVER" (any case) →
 * 1..5; "" → -1 (any); -2 for an unknown name. */
int query_parse_kind(const char *s);
/* "server", "client", …, "internal" (Jaeger's lower-case names). */
const char *query_kind_name(int kind);

/* ---- searching (query_search.c) -----------------------------------------------------
 * A search holds the store query and the conditions only this module can
 * check: tags that Jaeger and Zipkin synthesize from fields the store does
 * not index as attributes (error, otel.status_code, otel.status_description,
 * span.kind, otel.scope.name/version) and Zipkin annotation words (event
 * names). When there are any, the store is asked for more traces
 * (QUERY_OVERFETCH times the limit) without them and the traces are
 * filtered here, each span tested against every condition (Jaeger's rule:
 * all conditions hold on one span). */

#define QUERY_OVERFETCH 4

typedef struct query_tag_cond {
    const char *key;
    const char *value; /* NULL = key present */
    bool post;         /* checked here rather than by the store */
    bool annotation;   /* Zipkin word: also matches an event name */
} query_tag_cond_t;

typedef struct query_search {
    stitch_store_query_t q;     /* service, operation, kind, times, durations, limit */
    query_tag_cond_t tags[QUERY_MAX_TAGS];
    size_t ntags;
    stitch_store_tag_t store_tags[QUERY_MAX_TAGS];
    char **owned;               /* strings this search copied */
    size_t nowned, capowned;
} query_search_t;

void query_search_init(query_search_t *s);
void query_search_free(query_search_t *s);
/* A malloc'd copy of [p, p+n) kept until query_search_free; NULL when out
 * of memory. */
char *query_search_strdup(query_search_t *s, const char *p, size_t n);
/* Add a tag condition (key, value or NULL), sorting it to the store or the
 * post-filter. The strings must live until query_search_free. 0, or -1
 * when there are too many tags. */
int query_search_add_tag(query_search_t *s, const char *key, const char *value, bool annotation);
/* Parse a JSON object of string (or number / bool) values into tag
 * conditions. 0, or -1 with a reason in err. */
int query_search_add_json_tags(query_search_t *s, const char *json, char *err, size_t errlen);

/* Traces to answer with: views into one or more store results. */
typedef struct query_trace {
    const stitch_span_data_t *spans; /* contiguous, ordered by start time */
    size_t n;
    uint8_t trace_id[16];
} query_trace_t;

typedef struct query_traces {
    query_trace_t *v;
    size_t n, cap;
    stitch_store_result_t *res;
    size_t nres, capres;
    size_t nspans; /* over all of v */
} query_traces_t;

void query_traces_init(query_traces_t *t);
void query_traces_free(query_traces_t *t);
/* Run the search; the matching traces are appended to t (at most the
 * search's limit). 0 or a STITCH_E* code (store or memory). */
int query_search_run(stitch_store_t *store, query_search_t *s, query_traces_t *t);
/* Fetch one trace by id and append it when found (*found says). */
int query_traces_get(stitch_store_t *store, const uint8_t id[16], query_traces_t *t, bool *found);
/* A GET of one trace, for every API: fetch trace `id`; a store error is
 * 500/503, no such trace 404 with the message `missing`, else answer(c, t)
 * writes the response. Returns 1 (answered). */
int query_answer_trace(query_ctx_t *c, const uint8_t id[16], const char *missing,
                       int (*answer)(query_ctx_t *c, const query_traces_t *t));

/* Every span of t as a pointer array for the wire encoders, with the
 * resource and scope pointers of equal resources / scopes made identical
 * (the encoders group by pointer identity; a store may hand back a copy
 * per span). *ptrs and *copies are malloc'd; free both. */
int query_traces_canonical(const query_traces_t *t, const stitch_span_data_t ***ptrs,
                           stitch_span_data_t **copies);

/* ---- resource / scope identity ------------------------------------------------------ */

/* Canonical ids for the resources (by content) of spans[0..n): ids[i] is
 * the id of spans[i]'s resource, 0-based in order of first appearance;
 * *nids their count. ids is caller-allocated (n entries). 0 or STITCH_ENOMEM. */
int query_resource_ids(const stitch_span_data_t *spans, size_t n, uint32_t *ids, uint32_t *nids);
/* The same for instrumentation scopes (name + version). */
int query_scope_ids(const stitch_span_data_t *spans, size_t n, uint32_t *ids, uint32_t *nids);

/* ---- the Jaeger v1 trace writer (query_jaeger.c) ------------------------------------ */

/* One Jaeger UI Trace object: {"traceID","spans","processes","warnings"}. */
int query_jaeger_write_trace(stitch_buf_t *b, const query_trace_t *t);

/* ---- the web UI's compact trace (query_ui.c) ----------------------------------------- */

/* {"data":{…columns…},"errors":null} for one trace (docs/http-api.md). */
int query_ui_write_trace(stitch_buf_t *b, const query_trace_t *t);
/* GET /api/ui/traces/{id}; seg is the id's path segment. */
int query_ui_trace(query_ctx_t *c, const char *seg, size_t seglen);

#endif
