/* store/clickhouse.c — the ClickHouse engine behind store.h: spans go to a
 * ClickHouse server (or cluster) through its HTTP interface (libcurl,
 * keep-alive handles from a small pool), so any number of stitchd
 * collectors and query servers can share one storage.
 *
 * Schema (created on open when missing; docs/storage.md has the details):
 *   spans_v2     MergeTree ORDER BY (service, start_ns): every span once,
 *                every field in a column (attributes as key / text / type
 *                arrays) but for a small `rest` page (store/page.c's codec)
 *                of what has no column; search, names and deps read it too
 *   trace_ix_v2  MergeTree ORDER BY trace_id: one row per trace per
 *                request (its services, first and last start), so a trace
 *                by id is one lookup here, then ranges of spans_v2's key
 * With a cluster, both are Distributed tables over *_local, sharded by a
 * hash of the trace id, so a trace and its index rows live on one shard.
 *
 * Invariant: stitch_store_append() returns 0 only after ClickHouse answered
 * 200 to an INSERT holding the spans (retried with backoff for up to
 * ST_CH_RETRY_NS while the server is down or restarting), first into
 * trace_ix_v2, then into spans_v2; appends from several threads go out
 * together in one INSERT per table (group commit, one writer thread). A
 * retried INSERT may store a span twice: every read drops repeats of
 * (trace id, span id), like the embedded store. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/internal.h"
#include "wire/decode/internal.h"

#define ST_CH_RETRY_NS (30ull * 1000000000ull) /* keep retrying an INSERT this long */
#define ST_CH_MAX_INSERT (64u << 20)           /* bytes of rows per INSERT */
/* With several appenders, the writer waits up to ST_CH_LINGER_NS for more
 * while fewer than ST_CH_MIN_ROWS spans wait: bigger INSERTs make fewer,
 * bigger parts, and merging parts is most of ClickHouse's work
 * (docs/storage.md). */
#define ST_CH_LINGER_NS (5ull * 1000000ull)
#define ST_CH_MIN_ROWS 8192
#define ST_CH_POOL 8                           /* idle curl handles kept */
#define DEFAULT_MAX_QUEUE 262144

typedef struct ch_req {
    stitch_buf_t rows; /* RowBinary rows of T_SPANS */
    stitch_buf_t ix;   /* ... and of T_TRACES */
    size_t n;
    int rc;
    bool done;
    struct ch_req *next;
} ch_req_t;

typedef struct st_ch {
    const st_engine_t *engine; /* first: see internal.h */
    char *url, *db, *cluster;
    bool no_ddl; /* the server has no distributed DDL: create the schema locally */
    int major, minor;
    size_t max_queue;
    uint64_t retention_ns;

    pthread_mutex_t pool_mu;
    CURL *pool[ST_CH_POOL];
    size_t npool;

    pthread_mutex_t q_mu;
    pthread_cond_t q_cv, done_cv;
    ch_req_t *q_head, **q_tail;
    size_t q_spans;
    bool stopping;
    pthread_t writer;
    bool writer_started;

    atomic_uint_fast64_t st_appended, st_busy, st_failed;
} st_ch_t;

static st_ch_t *CH(stitch_store_t *s) { return (st_ch_t *)(void *)s; }

/* ---- logging -------------------------------------------------------------------------- */

/* The store has no logger of its own (store.h: "message logged"): one
 * logfmt line per event on stderr, like the daemon's. */
static void ch_log(const char *level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ch_log(const char *level, const char *msg, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        line[0] = 0;
    fprintf(stderr, "level=%s component=store.clickhouse msg=\"%s\" %s\n", level, msg, line);
}

/* s as a logfmt value: quoted, with quotes, backslashes and control bytes escaped. */
static const char *qstr(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    buf[o++] = '"';
    for (; *s && o + 6 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf[o++] = '\\', buf[o++] = (char)ch;
        else if (ch < 0x20)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

/* ---- HTTP ------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    return stitch_buf_append(arg, p, sz * n) ? 0 : sz * n;
}

static CURL *handle_get(st_ch_t *c)
{
    pthread_mutex_lock(&c->pool_mu);
    CURL *h = c->npool ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->pool_mu);
    return h ? h : curl_easy_init();
}

static void handle_put(st_ch_t *c, CURL *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&c->pool_mu);
    if (c->npool < ST_CH_POOL) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (h)
        curl_easy_cleanup(h);
}

/* POST body to the server. query (may be NULL) goes in the URL (an INSERT
 * whose data is the body); else the body is the SQL. The answer goes to
 * out (reset first). 0; STITCH_EIO when the server cannot be reached
 * (worth a retry); STITCH_EINVAL when it answered with an error (the
 * message in err). */
static int http_post(st_ch_t *c, const char *query, const void *body, size_t len, stitch_buf_t *out,
                     long timeout_ms, char *err, size_t errlen)
{
    CURL *h = handle_get(c);
    if (!h) {
        snprintf(err, errlen, "curl_easy_init failed");
        return STITCH_ENOMEM;
    }
    char *url = NULL;
    if (query) {
        char *q = curl_easy_escape(h, query, 0);
        size_t ul = q ? strlen(c->url) + strlen(q) + 48 : 0;
        url = q ? malloc(ul) : NULL;
        if (url)
            snprintf(url, ul, "%s/?query=%s%s", c->url, q,
                     c->cluster ? "&insert_distributed_sync=1" : ""); /* 200 = on its shard */
        curl_free(q);
    } else {
        size_t ul = strlen(c->url) + 4;
        url = malloc(ul);
        if (url)
            snprintf(url, ul, "%s/", c->url);
    }
    if (!url) {
        handle_put(c, h);
        return STITCH_ENOMEM;
    }
    stitch_buf_reset(out);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    free(url);
    int rc = 0;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", c->url, cerr[0] ? cerr : curl_easy_strerror(cc));
        rc = STITCH_EIO;
        curl_easy_cleanup(h); /* the connection may be half-dead: start afresh */
        h = NULL;
    } else if (code != 200) {
        size_t l = out->len < 400 ? out->len : 400;
        while (l && (out->data[l - 1] == '\n' || out->data[l - 1] == ' '))
            l--;
        snprintf(err, errlen, "ClickHouse answered %ld: %.*s", code, (int)l, out->data ? (char *)out->data : "");
        /* 5xx other than a query error (e.g. a proxy's 502/503) are worth a retry */
        rc = (code >= 500 && !memmem(out->data ? (void *)out->data : "", out->len, "Code:", 5)) ? STITCH_EIO
                                                                                            : STITCH_EINVAL;
    }
    handle_put(c, h);
    return rc;
}

/* Run SQL (a query or DDL); the answer (RowBinary when the SQL asks for
 * it) in out. Logs and returns STITCH_EIO / STITCH_EINVAL on failure. */
static int run_sql(st_ch_t *c, const char *sql, stitch_buf_t *out)
{
    char err[512];
    int rc = http_post(c, NULL, sql, strlen(sql), out, 60000, err, sizeof err);
    if (rc) {
        char q1[600], q2[300];
        ch_log("error", "query failed", "error=%s sql=%s", qstr(q1, sizeof q1, err),
               qstr(q2, sizeof q2, sql));
        return rc == STITCH_EINVAL ? STITCH_EIO : rc;
    }
    return 0;
}

/* ---- SQL text ---------------------------------------------------------------------- */

/* A string literal: quotes, backslashes and control bytes escaped. */
static int put_lit(stitch_buf_t *b, const char *s, size_t n)
{
    if (stitch_buf_append(b, "'", 1))
        return STITCH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[8];
        size_t l = 1;
        if (ch == '\'' || ch == '\\') {
            tmp[0] = '\\', tmp[1] = (char)ch, l = 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", ch), l = 4;
        } else {
            tmp[0] = (char)ch;
        }
        if (stitch_buf_append(b, tmp, l))
            return STITCH_ENOMEM;
    }
    return stitch_buf_append(b, "'", 1) ? STITCH_ENOMEM : 0;
}

static int put_str(stitch_buf_t *b, const char *s) { return stitch_buf_append(b, s, strlen(s)) ? STITCH_ENOMEM : 0; }

static int putf(stitch_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int putf(stitch_buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return STITCH_ELIMIT;
    return stitch_buf_append(b, tmp, (size_t)n) ? STITCH_ENOMEM : 0;
}

static int put_tid(stitch_buf_t *b, const uint8_t tid[16])
{
    char hex[48];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", tid[i]);
    return putf(b, "unhex('%s')", hex);
}

static int put_nul(stitch_buf_t *b) { return stitch_buf_append(b, "", 1) ? STITCH_ENOMEM : 0; }

/* ---- RowBinary ----------------------------------------------------------------------- */

static int rb_var(stitch_buf_t *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    return stitch_buf_append(b, t, n);
}

static int rb_str(stitch_buf_t *b, const char *s, size_t n)
{
    return rb_var(b, n) || (n && stitch_buf_append(b, s, n)) ? STITCH_ENOMEM : 0;
}

static int rb_u64(stitch_buf_t *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return stitch_buf_append(b, t, 8);
}

/* A reader over a RowBinary answer (untrusted: every read is checked). */
typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd_t;

static uint64_t rd_var(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned sh = 0; sh < 64; sh += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static const uint8_t *rd_bytes(rd_t *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static const char *rd_str(rd_t *r, size_t *n)
{
    *n = (size_t)rd_var(r);
    return (const char *)rd_bytes(r, *n);
}

static uint64_t rd_u64(rd_t *r)
{
    const uint8_t *p = rd_bytes(r, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint8_t rd_u8(rd_t *r)
{
    const uint8_t *p = rd_bytes(r, 1);
    return p ? *p : 0;
}

/* ---- schema -------------------------------------------------------------------------- */

static bool at_least(const st_ch_t *c, int major, int minor)
{
    return c->major > major || (c->major == major && c->minor >= minor);
}

/* Table names: a new schema gets new names, so a database that still has
 * the tables of an older stitchd (spans + traces + spans_in, the span
 * stored twice) is left alone rather than misread; ch_open says so. */
#define T_SPANS "spans_v2"
#define T_TRACES "trace_ix_v2"

/* The columns of T_SPANS in RowBinary order (encode_span writes them):
 * one row per span, every field once. The search columns come first; the
 * attributes are three parallel arrays per owner (span, resource, events'
 * attributes as text for search only), a type per span/resource attribute
 * says how its text turns back into the value (A_* below); `rest` holds
 * what has no column, as a one-span page of store/page.c's codec (events,
 * links, scope, tracestate, flags, dropped counts, status message, and
 * the values whose text does not give them back exactly). */
static const char SPAN_COLUMNS[] =
    "day, trace_id, span_id, parent_id, service, name, kind, status, start_ns, duration_ns, attr_keys, "
    "attr_values, attr_types, res_keys, res_values, res_types, ev_keys, ev_values, rest";

/* attr_types / res_types: how a value comes back from its text. */
enum { A_REST = 0, A_STR = 1, A_BOOL = 2, A_INT = 3, A_DBL = 4 };

static int create_schema(st_ch_t *c, char *err, size_t errlen)
{
    stitch_buf_t sql = STITCH_BUF_INIT(0), out = STITCH_BUF_INIT(0);
    const char *db = c->db;
    char on[300] = "";
    if (c->cluster && !c->no_ddl)
        snprintf(on, sizeof on, " ON CLUSTER %s", c->cluster);
    const char *local = c->cluster ? "_local" : "";
    /* TTL (19.6+) drops old rows by itself; older servers drop whole
     * partitions in enforce_retention */
    char ttl[160] = "";
    if (c->retention_ns && at_least(c, 19, 6))
        snprintf(ttl, sizeof ttl, " TTL day + toIntervalDay(%" PRIu64 ")",
                 (uint64_t)((c->retention_ns + 86399999999999ull) / 86400000000000ull));
    /* per-column codecs: 19.10+ (ZSTD on strings, Delta on times) */
    bool codecs = at_least(c, 19, 10);
    const char *zstd = codecs ? " CODEC(ZSTD(1))" : "";
    const char *delta = codecs ? " CODEC(Delta, ZSTD(1))" : "";
    int rc = 0;
    rc = rc ? rc : putf(&sql, "CREATE DATABASE IF NOT EXISTS %s%s", db, on);
    rc = rc ? rc : put_nul(&sql);
    /* granules of 1024 rows (not 8192): a trace by id reads one granule
     * per service and part */
    rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s." T_SPANS "%s%s (day Date, trace_id FixedString(16), "
                              "span_id FixedString(8), parent_id FixedString(8), service String, name String, "
                              "kind UInt8, status UInt8, start_ns UInt64%s, duration_ns UInt64%s, ",
                        db, local, on, delta, zstd);
    rc = rc ? rc : putf(&sql, "attr_keys Array(String)%s, attr_values Array(String)%s, attr_types Array(UInt8), ",
                        zstd, zstd);
    rc = rc ? rc : putf(&sql, "res_keys Array(String)%s, res_values Array(String)%s, res_types Array(UInt8), ",
                        zstd, zstd);
    rc = rc ? rc : putf(&sql, "ev_keys Array(String)%s, ev_values Array(String)%s, rest String%s", zstd, zstd,
                        zstd);
    rc = rc ? rc : putf(&sql, ") ENGINE = MergeTree PARTITION BY day ORDER BY (service, start_ns)%s "
                              "SETTINGS index_granularity = 1024",
                        ttl);
    rc = rc ? rc : put_nul(&sql);
    /* one row per trace per request: where its spans are in T_SPANS */
    rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s." T_TRACES "%s%s (day Date, trace_id FixedString(16), "
                              "services Array(String), min_start UInt64%s, max_start UInt64%s) ENGINE = MergeTree "
                              "PARTITION BY day ORDER BY trace_id%s SETTINGS index_granularity = 1024",
                        db, local, on, delta, delta, ttl);
    rc = rc ? rc : put_nul(&sql);
    if (c->cluster) {
        rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s." T_SPANS "%s AS %s." T_SPANS "_local ENGINE = "
                                  "Distributed(%s, %s, " T_SPANS "_local, sipHash64(trace_id))",
                            db, on, db, c->cluster, db);
        rc = rc ? rc : put_nul(&sql);
        rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s." T_TRACES "%s AS %s." T_TRACES "_local ENGINE = "
                                  "Distributed(%s, %s, " T_TRACES "_local, sipHash64(trace_id))",
                            db, on, db, c->cluster, db);
        rc = rc ? rc : put_nul(&sql);
    }
    for (size_t off = 0; !rc && off < sql.len;) {
        const char *stmt = (const char *)sql.data + off;
        size_t l = strlen(stmt);
        char e[512];
        rc = http_post(c, NULL, stmt, l, &out, 60000, e, sizeof e);
        if (rc == STITCH_EINVAL && *on && (strstr(e, "DistributedDDL") || strstr(e, "ZooKeeper") || strstr(e, "DDL background thread"))) {
            /* ON CLUSTER needs distributed DDL (ZooKeeper): without it, the
             * schema goes to this server only, and every shard needs a
             * stitchd pointed at it once (docs/storage.md) */
            ch_log("warn", "no distributed DDL on this server: creating the schema here only",
                   "cluster=%s hint=\"start a stitchd with --clickhouse-url of each shard once\"", c->cluster);
            stitch_buf_free(&sql);
            stitch_buf_free(&out);
            c->no_ddl = true;
            return create_schema(c, err, errlen);
        }
        if (rc)
            snprintf(err, errlen, "creating the schema: %s", e);
        off += l + 1;
    }
    stitch_buf_free(&sql);
    stitch_buf_free(&out);
    return rc;
}

/* ---- writing --------------------------------------------------------------------------- */

/* How a value comes back from its text (st_value_text): strings, bools
 * and integers always; a double when its text reads back to the same
 * bits; arrays never (A_REST: the value also goes into the rest page). */
static int value_class(const stitch_value_t *v, const char *text, size_t len)
{
    switch (v->type) {
    case STITCH_VALUE_STRING:
        return A_STR;
    case STITCH_VALUE_BOOL:
        return A_BOOL;
    case STITCH_VALUE_INT:
        return A_INT;
    case STITCH_VALUE_DOUBLE: {
        char tmp[64];
        if (len == 0 || len >= sizeof tmp)
            return A_REST;
        memcpy(tmp, text, len);
        tmp[len] = 0;
        char *end;
        double d = strtod(tmp, &end);
        return *end == 0 && !memcmp(&d, &v->u.d, sizeof d) ? A_DBL : A_REST;
    }
    default:
        return A_REST;
    }
}

/* The encoder's scratch, reused across the spans of one append. */
typedef struct enc {
    st_page_enc_t *page_enc;
    stitch_buf_t page;
    stitch_attr_t *x;    /* the A_REST attributes of the span being encoded */
    size_t nx, capx;
    stitch_event_t *ev;  /* its events, times relative to its start */
    size_t capev;
} enc_t;

static void enc_free(enc_t *e)
{
    st_page_enc_free(e->page_enc);
    stitch_buf_free(&e->page);
    free(e->x);
    free(e->ev);
}

/* An attribute list as three arrays (keys, texts, A_* types); the A_REST
 * ones are added to e->x. */
static int rb_attrs(stitch_buf_t *b, enc_t *e, const stitch_attr_t *a, uint32_t n)
{
    char tmp[1024];
    if (e->nx + n > e->capx) {
        size_t cap = (e->nx + n) * 2;
        stitch_attr_t *x = realloc(e->x, cap * sizeof *x);
        if (!x)
            return STITCH_ENOMEM;
        e->x = x;
        e->capx = cap;
    }
    if (rb_var(b, n))
        return STITCH_ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        const char *key = a[k].key ? a[k].key : "";
        if (rb_str(b, key, strlen(key)))
            return STITCH_ENOMEM;
    }
    if (rb_var(b, n))
        return STITCH_ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        size_t vl;
        const char *v = st_value_text(&a[k].value, tmp, sizeof tmp, &vl);
        if (rb_str(b, v, vl))
            return STITCH_ENOMEM;
    }
    if (rb_var(b, n))
        return STITCH_ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        size_t vl;
        const char *v = st_value_text(&a[k].value, tmp, sizeof tmp, &vl);
        uint8_t t = (uint8_t)value_class(&a[k].value, v, vl);
        if (stitch_buf_append(b, &t, 1))
            return STITCH_ENOMEM;
        if (t == A_REST)
            e->x[e->nx++] = a[k];
    }
    return 0;
}

static uint16_t day_of(uint64_t ns)
{
    uint64_t d = ns / 86400000000000ull;
    return (uint16_t)(d > 65535 ? 65535 : d);
}

static int rb_u16(stitch_buf_t *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return stitch_buf_append(b, t, 2);
}

/* One T_SPANS row (SPAN_COLUMNS) per span into b (appended). */
static int encode_rows(enc_t *e, const stitch_span_data_t *const *spans, size_t n, stitch_buf_t *b)
{
    char tmp[1024];
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = spans[i];
        size_t sl;
        const char *svc = st_span_service(d, &sl);
        uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
        const char *name = d->name ? d->name : "";
        if (rb_u16(b, day_of(d->start_ns)) || stitch_buf_append(b, d->ctx.trace_id, 16) ||
            stitch_buf_append(b, d->ctx.span_id, 8) || stitch_buf_append(b, d->parent_span_id, 8) ||
            rb_str(b, svc, sl) || rb_str(b, name, strlen(name)))
            return STITCH_ENOMEM;
        uint8_t ks[2] = {(uint8_t)d->kind, (uint8_t)d->status};
        if (stitch_buf_append(b, ks, 2) || rb_u64(b, d->start_ns) || rb_u64(b, dur))
            return STITCH_ENOMEM;
        /* the span's and the resource's attributes: columns; A_REST
         * values also in the rest page, in their order */
        e->nx = 0;
        int rc = rb_attrs(b, e, d->attrs, d->nattrs);
        size_t nxa = e->nx;
        rc = rc ? rc : rb_attrs(b, e, d->resource, d->nresource);
        if (rc)
            return rc;
        /* events' attributes as text, for search only */
        uint64_t ne = 0;
        for (uint32_t k = 0; k < d->nevents; k++)
            ne += d->events[k].nattrs;
        for (int pass = 0; pass < 2; pass++) {
            if (rb_var(b, ne))
                return STITCH_ENOMEM;
            for (uint32_t k = 0; k < d->nevents; k++)
                for (uint32_t j = 0; j < d->events[k].nattrs; j++) {
                    const stitch_attr_t *a = &d->events[k].attrs[j];
                    size_t vl;
                    const char *v = pass ? st_value_text(&a->value, tmp, sizeof tmp, &vl) : a->key ? a->key : "";
                    if (!pass)
                        vl = strlen(v);
                    if (rb_str(b, v, vl))
                        return STITCH_ENOMEM;
                }
        }
        /* the rest: the span without what the columns hold (ids, name,
         * the column values), times relative to its start (so they cost
         * a few bytes): decoded, then completed from the columns */
        if (d->nevents > e->capev) {
            stitch_event_t *ev = realloc(e->ev, d->nevents * sizeof *ev);
            if (!ev)
                return STITCH_ENOMEM;
            e->ev = ev;
            e->capev = d->nevents;
        }
        stitch_span_data_t r = *d;
        memset(r.ctx.trace_id, 0, 16);
        memset(r.ctx.span_id, 0, 8);
        memset(r.parent_span_id, 0, 8);
        r.name = "";
        r.start_ns = 0;
        r.end_ns = d->end_ns - d->start_ns; /* modulo 2^64: exact for any end */
        r.attrs = e->x;
        r.nattrs = (uint32_t)nxa;
        r.resource = e->x + nxa;
        r.nresource = (uint32_t)(e->nx - nxa);
        for (uint32_t k = 0; k < d->nevents; k++) {
            e->ev[k] = d->events[k];
            e->ev[k].time_ns = d->events[k].time_ns - d->start_ns;
        }
        r.events = e->ev;
        const stitch_span_data_t *rp = &r;
        rc = st_page_encode(e->page_enc, &rp, 1, &e->page);
        if (rc)
            return rc;
        if (rb_str(b, (const char *)e->page.data, e->page.len))
            return STITCH_ENOMEM;
    }
    return 0;
}

/* T_TRACES rows: one per trace of the request (its services, first and
 * last start), so a trace by id reads only its own ranges of T_SPANS. */
typedef struct tref {
    const uint8_t *tid;
    const char *svc;
    size_t sl;
    uint64_t start;
} tref_t;

static int cmp_tref(const void *a, const void *b)
{
    const tref_t *x = a, *y = b;
    int c = memcmp(x->tid, y->tid, 16);
    if (c)
        return c;
    size_t l = x->sl < y->sl ? x->sl : y->sl;
    c = memcmp(x->svc, y->svc, l);
    return c ? c : (x->sl > y->sl) - (x->sl < y->sl);
}

static int encode_index(const stitch_span_data_t *const *spans, size_t n, stitch_buf_t *b)
{
    tref_t *t = malloc(n * sizeof *t);
    if (!t)
        return STITCH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        t[i].tid = spans[i]->ctx.trace_id;
        t[i].svc = st_span_service(spans[i], &t[i].sl);
        t[i].start = spans[i]->start_ns;
    }
    qsort(t, n, sizeof *t, cmp_tref);
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i, nsvc = 0;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (; j < n && !memcmp(t[j].tid, t[i].tid, 16); j++) {
            lo = t[j].start < lo ? t[j].start : lo;
            hi = t[j].start > hi ? t[j].start : hi;
            nsvc += j == i || cmp_tref(&t[j - 1], &t[j]);
        }
        /* the day of its last start: the row outlives its spans' partitions */
        if (rb_u16(b, day_of(hi)) || stitch_buf_append(b, t[i].tid, 16) || rb_var(b, nsvc))
            rc = STITCH_ENOMEM;
        for (size_t k = i; k < j && !rc; k++)
            if ((k == i || cmp_tref(&t[k - 1], &t[k])) && rb_str(b, t[k].svc, t[k].sl))
                rc = STITCH_ENOMEM;
        if (!rc && (rb_u64(b, lo) || rb_u64(b, hi)))
            rc = STITCH_ENOMEM;
        i = j;
    }
    free(t);
    return rc;
}

static uint64_t now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One INSERT of body into table, retried with backoff (100 ms doubling to
 * 2 s) while the server cannot be reached, for up to ST_CH_RETRY_NS. */
static int insert_rows(st_ch_t *c, const char *table, const char *columns, const stitch_buf_t *body,
                       size_t nspans)
{
    char query[600], err[512];
    snprintf(query, sizeof query, "INSERT INTO %s.%s (%s) FORMAT RowBinary", c->db, table, columns);
    stitch_buf_t out = STITCH_BUF_INIT(1 << 20);
    uint64_t t0 = now_mono(), delay_ms = 100;
    int rc;
    unsigned attempt = 0;
    for (;;) {
        rc = http_post(c, query, body->data, body->len, &out, 120000, err, sizeof err);
        attempt++;
        if (rc != STITCH_EIO || now_mono() - t0 > ST_CH_RETRY_NS)
            break;
        if (attempt == 1 || attempt % 10 == 0) {
            char q[600];
            ch_log("warn", "insert failed, retrying", "table=%s spans=%zu attempt=%u error=%s", table, nspans,
                   attempt, qstr(q, sizeof q, err));
        }
        pthread_mutex_lock(&c->q_mu);
        bool stop = c->stopping && now_mono() - t0 > 5000000000ull;
        pthread_mutex_unlock(&c->q_mu);
        if (stop)
            break;
        struct timespec ts = {(time_t)(delay_ms / 1000), (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
    }
    if (rc) {
        char q[600];
        ch_log("error", "insert failed", "table=%s spans=%zu attempts=%u error=%s", table, nspans, attempt,
               qstr(q, sizeof q, err));
        rc = STITCH_EIO;
    } else if (attempt > 1) {
        ch_log("info", "insert succeeded after retries", "table=%s spans=%zu attempts=%u", table, nspans,
               attempt);
    }
    stitch_buf_free(&out);
    return rc;
}

static int enforce_partitions(st_ch_t *c, uint64_t now_ns);

/* The requests' rows (field off: rows or ix) back to back in body. */
static int gather(const ch_req_t *list, size_t off, stitch_buf_t *body)
{
    stitch_buf_reset(body);
    for (const ch_req_t *x = list; x; x = x->next) {
        const stitch_buf_t *b = (const stitch_buf_t *)(const void *)((const char *)x + off);
        if (stitch_buf_append(body, b->data, b->len))
            return STITCH_ENOMEM;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    st_ch_t *c = arg;
    stitch_buf_t body = STITCH_BUF_INIT(0);
    uint64_t last_retention = now_mono();
    size_t last_reqs = 0; /* requests in the last INSERT */
    pthread_mutex_lock(&c->q_mu);
    for (;;) {
        while (!c->q_head && !c->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 10;
            pthread_cond_timedwait(&c->q_cv, &c->q_mu, &ts);
            if (!c->q_head && now_mono() - last_retention > 3600ull * 1000000000ull)
                break;
        }
        if (!c->q_head && c->stopping)
            break;
        if (!c->q_head) { /* hourly: retention on servers without TTL */
            pthread_mutex_unlock(&c->q_mu);
            (void)enforce_partitions(c, now_real());
            last_retention = now_mono();
            pthread_mutex_lock(&c->q_mu);
            continue;
        }
        /* a few ms for more appenders while the INSERT would be small,
         * when there are several (the last INSERT carried more than one
         * request): a lone sequential client is not kept waiting */
        if (last_reqs > 1 && c->q_spans < ST_CH_MIN_ROWS && !c->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + ST_CH_LINGER_NS;
            ts.tv_sec += (time_t)(ns / 1000000000ull);
            ts.tv_nsec = (long)(ns % 1000000000ull);
            while (c->q_spans < ST_CH_MIN_ROWS && !c->stopping &&
                   pthread_cond_timedwait(&c->q_cv, &c->q_mu, &ts) == 0)
                ;
        }
        /* take what waits, up to ST_CH_MAX_INSERT bytes (at least one request) */
        ch_req_t *list = c->q_head, **tail = &list, *r = list;
        size_t bytes = 0, n = 0;
        while (r && (bytes == 0 || bytes + r->rows.len <= ST_CH_MAX_INSERT)) {
            bytes += r->rows.len;
            n += r->n;
            tail = &r->next;
            r = r->next;
        }
        c->q_head = r;
        if (!r)
            c->q_tail = &c->q_head;
        *tail = NULL;
        pthread_mutex_unlock(&c->q_mu);
        last_reqs = 0;
        for (ch_req_t *x = list; x; x = x->next)
            last_reqs++;

        /* the index first: a span is acknowledged only once it can be
         * found by id (an index row whose spans then failed finds nothing) */
        int rc = gather(list, offsetof(ch_req_t, ix), &body);
        rc = rc ? rc : insert_rows(c, T_TRACES, "day, trace_id, services, min_start, max_start", &body, n);
        rc = rc ? rc : gather(list, offsetof(ch_req_t, rows), &body);
        rc = rc ? rc : insert_rows(c, T_SPANS, SPAN_COLUMNS, &body, n);
        if (body.cap > (16u << 20)) {
            stitch_buf_free(&body);
            body = (stitch_buf_t)STITCH_BUF_INIT(0);
        }
        if (!rc)
            atomic_fetch_add(&c->st_appended, n);
        else
            atomic_fetch_add(&c->st_failed, n);
        pthread_mutex_lock(&c->q_mu);
        for (ch_req_t *x = list; x; x = x->next) {
            x->rc = rc;
            x->done = true;
            c->q_spans -= x->n;
        }
        pthread_cond_broadcast(&c->done_cv);
    }
    pthread_mutex_unlock(&c->q_mu);
    stitch_buf_free(&body);
    return NULL;
}

static int ch_append(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n)
{
    st_ch_t *c = CH(s);
    if (!n)
        return 0;
    pthread_mutex_lock(&c->q_mu);
    bool full = c->q_spans && c->q_spans + n > c->max_queue;
    bool stopping = c->stopping;
    pthread_mutex_unlock(&c->q_mu);
    if (stopping)
        return STITCH_ESTATE;
    if (full) {
        atomic_fetch_add(&c->st_busy, n);
        return STITCH_EBUSY;
    }
    ch_req_t req = {.rows = STITCH_BUF_INIT(0), .ix = STITCH_BUF_INIT(0), .n = n};
    enc_t e = {.page_enc = st_page_enc_new(), .page = STITCH_BUF_INIT(0)};
    int rc = e.page_enc ? 0 : STITCH_ENOMEM;
    if (e.page_enc)
        st_page_enc_blooms(e.page_enc, false);
    rc = rc ? rc : encode_rows(&e, spans, n, &req.rows);
    rc = rc ? rc : encode_index(spans, n, &req.ix);
    enc_free(&e);
    if (rc) {
        stitch_buf_free(&req.rows);
        stitch_buf_free(&req.ix);
        return rc;
    }
    pthread_mutex_lock(&c->q_mu);
    if (c->q_spans && c->q_spans + n > c->max_queue) {
        pthread_mutex_unlock(&c->q_mu);
        stitch_buf_free(&req.rows);
        stitch_buf_free(&req.ix);
        atomic_fetch_add(&c->st_busy, n);
        return STITCH_EBUSY;
    }
    c->q_spans += n;
    *c->q_tail = &req;
    c->q_tail = &req.next;
    pthread_cond_signal(&c->q_cv);
    while (!req.done)
        pthread_cond_wait(&c->done_cv, &c->q_mu);
    pthread_mutex_unlock(&c->q_mu);
    stitch_buf_free(&req.rows);
    stitch_buf_free(&req.ix);
    return req.rc;
}

/* Run sql (NUL-terminated in b) and hand its answer back in ans. */
static int query_buf(st_ch_t *c, stitch_buf_t *sql, stitch_buf_t *ans)
{
    int rc = put_nul(sql);
    return rc ? rc : run_sql(c, (const char *)sql->data, ans);
}

/* ---- reading --------------------------------------------------------------------------- */

/* What a trace fetch reads of T_SPANS, in this order (decode_rows). */
#define READ_COLUMNS                                                                                   \
    "rest, trace_id, span_id, parent_id, name, start_ns, attr_keys, attr_values, attr_types, res_keys, " \
    "res_values, res_types"

/* An attribute list from its three columns (r at the keys) into *out /
 * *nout (the batch's arena); the A_REST values are x[0 .. nx) in order. */
static int rd_attrs(rd_t *r, stitch_wire_batch_t *b, const stitch_attr_t *x, uint32_t nx,
                    const stitch_attr_t **out, uint32_t *nout)
{
    uint64_t nk = rd_var(r);
    if (r->bad || nk > (uint64_t)(r->end - r->p)) /* every key takes a byte at least */
        return STITCH_EPARSE;
    stitch_attr_t *a = stitch_wire_calloc(b, (size_t)nk, sizeof *a);
    if (!a)
        return STITCH_ENOMEM;
    for (uint64_t k = 0; k < nk; k++) {
        size_t l;
        const char *p = rd_str(r, &l);
        if (!p || !(a[k].key = stitch_wire_dup(b, p, l)))
            return r->bad ? STITCH_EPARSE : STITCH_ENOMEM;
    }
    if (rd_var(r) != nk)
        return STITCH_EPARSE;
    for (uint64_t k = 0; k < nk; k++) { /* the texts, converted below */
        size_t l;
        a[k].value.u.str = rd_str(r, &l);
        a[k].value.len = (uint32_t)l;
        if (r->bad || l > UINT32_MAX)
            return STITCH_EPARSE;
    }
    if (rd_var(r) != nk)
        return STITCH_EPARSE;
    const uint8_t *types = rd_bytes(r, (size_t)nk);
    if (r->bad)
        return STITCH_EPARSE;
    uint32_t j = 0;
    for (uint64_t k = 0; k < nk; k++) {
        stitch_value_t *v = &a[k].value;
        const char *text = v->u.str;
        size_t l = v->len;
        char tmp[64];
        if (types[k] == A_INT || types[k] == A_DBL) {
            if (!l || l >= sizeof tmp)
                return STITCH_EPARSE;
            memcpy(tmp, text, l);
            tmp[l] = 0;
        }
        char *end = NULL; /* where strtoll / strtod stopped: must be the end */
        switch (types[k]) {
        case A_STR:
            v->type = STITCH_VALUE_STRING;
            if (!(v->u.str = stitch_wire_dup(b, text, l)))
                return STITCH_ENOMEM;
            break;
        case A_BOOL:
            v->type = STITCH_VALUE_BOOL;
            v->len = 0;
            v->u.b = l == 4 && !memcmp(text, "true", 4);
            break;
        case A_INT:
            v->type = STITCH_VALUE_INT;
            v->len = 0;
            v->u.i = strtoll(tmp, &end, 10);
            break;
        case A_DBL:
            v->type = STITCH_VALUE_DOUBLE;
            v->len = 0;
            v->u.d = strtod(tmp, &end);
            break;
        case A_REST:
            if (j >= nx)
                return STITCH_EPARSE;
            *v = x[j++].value;
            break;
        default:
            return STITCH_EPARSE;
        }
        if (end && *end)
            return STITCH_EPARSE;
    }
    if (j != nx)
        return STITCH_EPARSE;
    *out = a;
    *nout = (uint32_t)nk;
    return 0;
}

/* The T_SPANS rows of an answer (READ_COLUMNS) as spans appended to b:
 * each row's rest page decoded, then completed from its columns. */
static int decode_rows(const stitch_buf_t *ans, stitch_wire_batch_t *b)
{
    rd_t r = {ans->data, ans->data + ans->len, false};
    while (r.p < r.end) {
        size_t rl, nl;
        const char *rest = rd_str(&r, &rl);
        if (r.bad)
            return STITCH_EPARSE;
        size_t before = b->nspans;
        int rc = st_page_decode(b, (const uint8_t *)rest, rl);
        if (rc)
            return rc;
        if (b->nspans != before + 1)
            return STITCH_EPARSE;
        stitch_span_data_t *d = &b->spans[before];
        const uint8_t *tid = rd_bytes(&r, 16), *sid = rd_bytes(&r, 8), *pid = rd_bytes(&r, 8);
        const char *name = rd_str(&r, &nl);
        uint64_t start = rd_u64(&r);
        if (r.bad)
            return STITCH_EPARSE;
        memcpy(d->ctx.trace_id, tid, 16);
        memcpy(d->ctx.span_id, sid, 8);
        memcpy(d->parent_span_id, pid, 8);
        if (!(d->name = stitch_wire_dup(b, name, nl)))
            return STITCH_ENOMEM;
        /* the page's times are relative to the start (modulo 2^64) */
        d->start_ns = start;
        d->end_ns += start;
        for (uint32_t k = 0; k < d->nevents; k++)
            ((stitch_event_t *)(void *)&d->events[k])->time_ns += start;
        rc = rd_attrs(&r, b, d->attrs, d->nattrs, &d->attrs, &d->nattrs);
        rc = rc ? rc : rd_attrs(&r, b, d->resource, d->nresource, &d->resource, &d->nresource);
        if (rc)
            return rc;
    }
    return 0;
}

/* Where the spans of some traces are: (services, first start, last
 * start) ranges of T_SPANS, from T_TRACES. */
typedef struct range {
    char **svcs;
    size_t nsvcs;
    uint64_t lo, hi;
} range_t;

static void ranges_free(range_t *rg, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < rg[i].nsvcs; k++)
            free(rg[i].svcs[k]);
        free(rg[i].svcs);
    }
    free(rg);
}

static int put_tids(stitch_buf_t *sql, const uint8_t (*ids)[16], size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = put_str(sql, ",");
        rc = rc ? rc : put_tid(sql, ids[i]);
    }
    return rc;
}

/* More ranges than this in one read become one (all services, first to
 * last start): a long trace sent in many requests. */
#define MAX_RANGES 256

/* The spans of traces ids[0..n) into r, ordered as build_result does:
 * their T_TRACES rows, then the T_SPANS rows in those ranges. */
static int fetch_traces(st_ch_t *c, const uint8_t (*ids)[16], size_t n, stitch_store_result_t *r)
{
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    range_t *rg = NULL;
    size_t nrg = 0, caprg = 0;
    int rc = putf(&sql, "SELECT DISTINCT services, min_start, max_start FROM %s." T_TRACES " WHERE trace_id IN (",
                  c->db);
    rc = rc ? rc : put_tids(&sql, ids, n);
    rc = rc ? rc : put_str(&sql, ") FORMAT RowBinary");
    rc = rc ? rc : query_buf(c, &sql, &ans);
    rd_t rr = {ans.data, ans.data + ans.len, false};
    while (!rc && rr.p < rr.end) {
        if (nrg == caprg) {
            size_t cap = caprg ? caprg * 2 : 16;
            range_t *g = realloc(rg, cap * sizeof *g);
            if (!g) {
                rc = STITCH_ENOMEM;
                break;
            }
            rg = g;
            caprg = cap;
        }
        range_t *g = &rg[nrg++];
        memset(g, 0, sizeof *g);
        uint64_t ns = rd_var(&rr);
        if (rr.bad || ns > (uint64_t)(rr.end - rr.p)) {
            rc = STITCH_EPARSE;
            break;
        }
        g->svcs = calloc(ns ? ns : 1, sizeof *g->svcs);
        if (!g->svcs) {
            rc = STITCH_ENOMEM;
            break;
        }
        for (uint64_t k = 0; k < ns && !rc; k++) {
            size_t l;
            const char *p = rd_str(&rr, &l);
            if (!p)
                rc = STITCH_EPARSE;
            else if (!(g->svcs[g->nsvcs++] = strndup(p, l)))
                rc = STITCH_ENOMEM;
        }
        g->lo = rd_u64(&rr);
        g->hi = rd_u64(&rr);
        if (!rc && rr.bad)
            rc = STITCH_EPARSE;
    }
    if (!rc && nrg) {
        stitch_buf_reset(&sql);
        /* PREWHERE: the trace id column alone first, the others only
         * where a granule of the ranges has one of the traces */
        rc = putf(&sql, "SELECT " READ_COLUMNS " FROM %s." T_SPANS " PREWHERE trace_id IN (", c->db);
        rc = rc ? rc : put_tids(&sql, ids, n);
        rc = rc ? rc : put_str(&sql, ") WHERE (");
        if (nrg > MAX_RANGES) {
            uint64_t lo = UINT64_MAX, hi = 0;
            for (size_t i = 0; i < nrg; i++) {
                lo = rg[i].lo < lo ? rg[i].lo : lo;
                hi = rg[i].hi > hi ? rg[i].hi : hi;
            }
            rc = rc ? rc : putf(&sql, "start_ns >= %" PRIu64 " AND start_ns <= %" PRIu64, lo, hi);
        } else {
            for (size_t i = 0; i < nrg && !rc; i++) {
                rc = put_str(&sql, i ? " OR (service IN (" : "(service IN (");
                for (size_t k = 0; k < rg[i].nsvcs && !rc; k++) {
                    rc = k ? put_str(&sql, ",") : 0;
                    rc = rc ? rc : put_lit(&sql, rg[i].svcs[k], strlen(rg[i].svcs[k]));
                }
                rc = rc ? rc : putf(&sql, ") AND start_ns >= %" PRIu64 " AND start_ns <= %" PRIu64 ")", rg[i].lo,
                                    rg[i].hi);
            }
        }
        rc = rc ? rc : put_str(&sql, ") FORMAT RowBinary");
        rc = rc ? rc : query_buf(c, &sql, &ans);
        rc = rc ? rc : decode_rows(&ans, &r->batch);
    }
    rc = rc ? rc : st_build_result(r, ids, n);
    ranges_free(rg, nrg);
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    return rc;
}

static int ch_get_trace(stitch_store_t *s, const uint8_t trace_id[16], stitch_store_result_t *r)
{
    return fetch_traces(CH(s), (const uint8_t(*)[16])trace_id, 1, r);
}

static int ch_search(stitch_store_t *s, const stitch_store_query_t *q, stitch_store_result_t *r)
{
    st_ch_t *c = CH(s);
    size_t limit = q->limit ? q->limit : 20;
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT trace_id, max(start_ns) AS m FROM %s." T_SPANS, c->db);
    /* PREWHERE: a tag is a needle; has() over the value (or key) columns
     * alone finds the few rows worth reading the rest for (~10x faster
     * than letting arrayExists read every array of the range) */
    static const char *const own[3][2] = {{"attr_keys", "attr_values"}, {"res_keys", "res_values"},
                                          {"ev_keys", "ev_values"}};
    for (size_t i = 0; i < q->ntags && !rc; i++) {
        const stitch_store_tag_t *t = &q->tags[i];
        rc = put_str(&sql, i ? " AND (" : " PREWHERE (");
        for (int o = 0; o < 3 && !rc; o++) {
            rc = putf(&sql, "%shas(%s, ", o ? " OR " : "", own[o][t->value ? 1 : 0]);
            rc = rc ? rc : put_lit(&sql, t->value ? t->value : t->key, strlen(t->value ? t->value : t->key));
            rc = rc ? rc : put_str(&sql, ")");
        }
        rc = rc ? rc : put_str(&sql, ")");
    }
    rc = rc ? rc : put_str(&sql, " WHERE 1");
    if (q->service) {
        rc = rc ? rc : put_str(&sql, " AND service = ");
        rc = rc ? rc : put_lit(&sql, q->service, strlen(q->service));
    }
    if (q->start_min_ns)
        rc = rc ? rc : putf(&sql, " AND start_ns >= %" PRIu64, q->start_min_ns);
    if (q->start_max_ns)
        rc = rc ? rc : putf(&sql, " AND start_ns <= %" PRIu64, q->start_max_ns);
    if (q->duration_min_ns)
        rc = rc ? rc : putf(&sql, " AND duration_ns >= %" PRIu64, q->duration_min_ns);
    if (q->duration_max_ns)
        rc = rc ? rc : putf(&sql, " AND duration_ns <= %" PRIu64, q->duration_max_ns);
    if (q->operation) {
        rc = rc ? rc : put_str(&sql, " AND name = ");
        rc = rc ? rc : put_lit(&sql, q->operation, strlen(q->operation));
    }
    if (q->kind > 0)
        rc = rc ? rc : putf(&sql, " AND kind = %d", q->kind);
    if (q->status_mask) {
        rc = rc ? rc : put_str(&sql, " AND status IN (");
        bool first = true;
        for (unsigned b = 0; b < 32 && !rc; b++)
            if (q->status_mask >> b & 1) {
                rc = putf(&sql, "%s%u", first ? "" : ",", b);
                first = false;
            }
        rc = rc ? rc : put_str(&sql, ")");
    }
    for (size_t i = 0; i < q->ntags && !rc; i++) {
        const stitch_store_tag_t *t = &q->tags[i];
        /* on the span's, its resource's or its events' attributes */
        rc = put_str(&sql, " AND (");
        for (int o = 0; o < 3 && !rc; o++) {
            if (o)
                rc = put_str(&sql, " OR ");
            if (!t->value) {
                rc = rc ? rc : putf(&sql, "has(%s, ", own[o][0]);
                rc = rc ? rc : put_lit(&sql, t->key, strlen(t->key));
                rc = rc ? rc : put_str(&sql, ")");
            } else {
                /* has() first: cheap (PREWHERE above read its column) */
                rc = rc ? rc : putf(&sql, "(has(%s, ", own[o][1]);
                rc = rc ? rc : put_lit(&sql, t->value, strlen(t->value));
                rc = rc ? rc : put_str(&sql, ") AND arrayExists((k_, v_) -> k_ = ");
                rc = rc ? rc : put_lit(&sql, t->key, strlen(t->key));
                rc = rc ? rc : put_str(&sql, " AND v_ = ");
                rc = rc ? rc : put_lit(&sql, t->value, strlen(t->value));
                rc = rc ? rc : putf(&sql, ", %s, %s))", own[o][0], own[o][1]);
            }
        }
        rc = rc ? rc : put_str(&sql, ")");
    }
    rc = rc ? rc : putf(&sql, " GROUP BY trace_id ORDER BY m DESC, trace_id LIMIT %zu FORMAT RowBinary", limit);
    rc = rc ? rc : put_nul(&sql);
    rc = rc ? rc : run_sql(c, (const char *)sql.data, &ans);
    uint8_t(*ids)[16] = NULL;
    size_t n = 0;
    if (!rc && ans.len) {
        ids = malloc((ans.len / 24 + 1) * 16);
        if (!ids)
            rc = STITCH_ENOMEM;
        rd_t rr = {ans.data, ans.data + ans.len, false};
        while (!rc && rr.p < rr.end) {
            const uint8_t *id = rd_bytes(&rr, 16);
            (void)rd_u64(&rr);
            if (rr.bad) {
                rc = STITCH_EPARSE;
                break;
            }
            memcpy(ids[n++], id, 16);
        }
    }
    if (!rc && n)
        rc = fetch_traces(c, (const uint8_t(*)[16])ids, n, r);
    free(ids);
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    return rc;
}


/* A string of an answer as a C string (copied into tmp, cut at its size). */
static const char *cstr(rd_t *r, char *tmp, size_t cap)
{
    size_t n;
    const char *p = rd_str(r, &n);
    if (!p)
        return NULL;
    if (n >= cap)
        n = cap - 1;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    return tmp;
}

/* Run sql (one String column, RowBinary) and hand each row to fn until it
 * says stop. */
static int each_string(st_ch_t *c, stitch_buf_t *sql, stitch_store_str_fn fn, void *arg)
{
    stitch_buf_t ans = STITCH_BUF_INIT(0);
    int rc = query_buf(c, sql, &ans);
    char tmp[4096];
    rd_t r = {ans.data, ans.data + ans.len, false};
    while (!rc && r.p < r.end) {
        const char *v = cstr(&r, tmp, sizeof tmp);
        if (!v) {
            rc = STITCH_EPARSE;
            break;
        }
        if (fn(arg, v))
            break;
    }
    stitch_buf_free(&ans);
    return rc;
}

static int ch_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    stitch_buf_t sql = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT DISTINCT service FROM %s." T_SPANS " ORDER BY service FORMAT RowBinary", c->db);
    rc = rc ? rc : each_string(c, &sql, fn, arg);
    stitch_buf_free(&sql);
    return rc;
}

static int ch_operations(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT DISTINCT service, name, kind FROM %s." T_SPANS " WHERE 1", c->db);
    if (service) {
        rc = rc ? rc : put_str(&sql, " AND service = ");
        rc = rc ? rc : put_lit(&sql, service, strlen(service));
    }
    if (kind > 0)
        rc = rc ? rc : putf(&sql, " AND kind = %d", kind);
    rc = rc ? rc : put_str(&sql, " ORDER BY name, service, kind FORMAT RowBinary");
    rc = rc ? rc : query_buf(c, &sql, &ans);
    char t1[4096], t2[4096];
    rd_t r = {ans.data, ans.data + ans.len, false};
    while (!rc && r.p < r.end) {
        const char *sv = cstr(&r, t1, sizeof t1);
        const char *nm = sv ? cstr(&r, t2, sizeof t2) : NULL;
        int k = rd_u8(&r);
        if (!sv || !nm || r.bad) {
            rc = STITCH_EPARSE;
            break;
        }
        if (fn(arg, sv, nm, k))
            break;
    }
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    return rc;
}

static int ch_remote_services(stitch_store_t *s, const char *service, stitch_store_str_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    stitch_buf_t sql = STITCH_BUF_INIT(0);
    /* the embedded store's order: by (service, name), each name once */
    int rc = putf(&sql, "SELECT p FROM (SELECT DISTINCT service, arrayJoin(arrayFilter((v_, k_, t_) -> k_ = "
                        "'peer.service' AND t_ = %d, attr_values, attr_keys, attr_types)) AS p FROM %s." T_SPANS
                        " WHERE has(attr_keys, 'peer.service')",
                  A_STR, c->db);
    if (service) {
        rc = rc ? rc : put_str(&sql, " AND service = ");
        rc = rc ? rc : put_lit(&sql, service, strlen(service));
    }
    rc = rc ? rc : put_str(&sql, " ORDER BY service, p) LIMIT 1 BY p FORMAT RowBinary");
    rc = rc ? rc : each_string(c, &sql, fn, arg);
    stitch_buf_free(&sql);
    return rc;
}

static int ch_dependencies(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns, stitch_store_dep_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    if (!end_ns)
        end_ns = UINT64_MAX;
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    /* a child span, its parent in the same trace, different services
     * (block.c's st_deps_of); DISTINCT drops stored repeats. The child's
     * columns are renamed one level down: an alias (parent_id AS span_id)
     * would shadow the column it names at its own level. */
    int rc = putf(&sql,
                  "SELECT psvc, csvc, count(), countIf(cstatus = 2) FROM (SELECT trace_id, pid AS span_id, "
                  "csvc, cstatus FROM (SELECT DISTINCT trace_id, parent_id AS pid, span_id AS cid, "
                  "service AS csvc, status AS cstatus FROM %s." T_SPANS " WHERE start_ns >= %" PRIu64
                  " AND start_ns <= %" PRIu64 " AND parent_id != toFixedString('', 8))) ANY INNER JOIN (SELECT DISTINCT trace_id, span_id, "
                  "service AS psvc FROM %s." T_SPANS " WHERE start_ns >= %" PRIu64 " AND start_ns <= %" PRIu64
                  ") USING (trace_id, span_id) WHERE psvc != csvc GROUP BY psvc, csvc ORDER BY psvc, csvc "
                  "FORMAT RowBinary",
                  c->db, start_ns, end_ns, c->db, start_ns, end_ns);
    rc = rc ? rc : query_buf(c, &sql, &ans);
    char t1[4096], t2[4096];
    rd_t r = {ans.data, ans.data + ans.len, false};
    while (!rc && r.p < r.end) {
        stitch_store_dep_t d;
        d.parent = cstr(&r, t1, sizeof t1);
        d.child = d.parent ? cstr(&r, t2, sizeof t2) : NULL;
        d.calls = rd_u64(&r);
        d.errors = rd_u64(&r);
        if (!d.parent || !d.child || r.bad) {
            rc = STITCH_EPARSE;
            break;
        }
        if (fn(arg, &d))
            break;
    }
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    return rc;
}

/* One number from a query answering one UInt64 in RowBinary; 0 on failure. */
static uint64_t query_u64(st_ch_t *c, const char *sql)
{
    stitch_buf_t ans = STITCH_BUF_INIT(0);
    char err[512];
    uint64_t v = 0;
    if (!http_post(c, NULL, sql, strlen(sql), &ans, 5000, err, sizeof err) && ans.len == 8) {
        rd_t r = {ans.data, ans.data + ans.len, false};
        v = rd_u64(&r);
    }
    stitch_buf_free(&ans);
    return v;
}

static void ch_get_stats(stitch_store_t *s, stitch_store_stats_t *st)
{
    st_ch_t *c = CH(s);
    memset(st, 0, sizeof *st);
    st->spans_appended = atomic_load(&c->st_appended);
    st->refused_busy = atomic_load(&c->st_busy);
    pthread_mutex_lock(&c->q_mu);
    st->queue_spans = c->q_spans;
    pthread_mutex_unlock(&c->q_mu);
    char sql[600];
    snprintf(sql, sizeof sql, "SELECT toUInt64(count()) FROM %s." T_SPANS " FORMAT RowBinary", c->db);
    st->spans_stored = query_u64(c, sql);
    /* the local server's parts (with a cluster: this shard's) */
    snprintf(sql, sizeof sql,
             "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE active AND database = '%s' "
             "AND table IN ('" T_SPANS "', '" T_TRACES "', '" T_SPANS "_local', '" T_TRACES "_local') FORMAT RowBinary",
             c->db);
    st->disk_bytes = query_u64(c, sql);
    snprintf(sql, sizeof sql,
             "SELECT toUInt64(count()) FROM system.parts WHERE active AND database = '%s' "
             "AND table IN ('" T_SPANS "', '" T_TRACES "', '" T_SPANS "_local', '" T_TRACES "_local') FORMAT RowBinary",
             c->db);
    st->blocks = query_u64(c, sql);
}

/* Retention on servers without TTL: drop the day partitions wholly older
 * than the retention (of the local tables; with a cluster, of this node). */
static int enforce_partitions(st_ch_t *c, uint64_t now_ns)
{
    if (!c->retention_ns || now_ns < c->retention_ns || at_least(c, 19, 6))
        return 0;
    uint64_t cutoff_s = (now_ns - c->retention_ns) / 1000000000ull;
    const char *local = c->cluster ? "_local" : "";
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0), out = STITCH_BUF_INIT(0);
    int rc = putf(&sql,
                  "SELECT DISTINCT table, partition FROM system.parts WHERE active AND database = '%s' AND "
                  "table IN ('" T_SPANS "%s', '" T_TRACES "%s') AND max_date < toDate(toDateTime(%" PRIu64
                  ")) FORMAT RowBinary",
                  c->db, local, local, cutoff_s);
    rc = rc ? rc : query_buf(c, &sql, &ans);
    rd_t r = {ans.data, ans.data + ans.len, false};
    char t1[256], t2[256];
    while (!rc && r.p < r.end) {
        const char *table = cstr(&r, t1, sizeof t1);
        const char *part = table ? cstr(&r, t2, sizeof t2) : NULL;
        if (!part) {
            rc = STITCH_EPARSE;
            break;
        }
        stitch_buf_reset(&sql);
        rc = putf(&sql, "ALTER TABLE %s.%s DROP PARTITION ", c->db, table);
        rc = rc ? rc : put_lit(&sql, part, strlen(part));
        rc = rc ? rc : query_buf(c, &sql, &out);
        if (!rc)
            ch_log("info", "retention dropped a partition", "table=%s partition=%s", table,
                   part);
    }
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    stitch_buf_free(&out);
    return rc;
}

static int ch_enforce_retention(stitch_store_t *s, uint64_t now_ns) { return enforce_partitions(CH(s), now_ns); }

/* ---- open / close ------------------------------------------------------------------------ */

static void ch_close(stitch_store_t *s)
{
    st_ch_t *c = CH(s);
    if (c->writer_started) {
        pthread_mutex_lock(&c->q_mu);
        c->stopping = true;
        pthread_cond_broadcast(&c->q_cv);
        pthread_mutex_unlock(&c->q_mu);
        pthread_join(c->writer, NULL);
    }
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_mutex_destroy(&c->q_mu);
    pthread_cond_destroy(&c->q_cv);
    pthread_cond_destroy(&c->done_cv);
    free(c->url);
    free(c->db);
    free(c->cluster);
    free(c);
}

/* A database or cluster name: an identifier, so it can go into SQL as is. */
static bool ident_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 200)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return !(*s >= '0' && *s <= '9');
}

static int ch_open(stitch_store_t **out, const stitch_store_opts_t *opts, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!out || !opts)
        return STITCH_EINVAL;
    *out = NULL;
    const char *url = opts->clickhouse_url && *opts->clickhouse_url ? opts->clickhouse_url : "http://127.0.0.1:8123";
    const char *db = opts->clickhouse_database && *opts->clickhouse_database ? opts->clickhouse_database : "stitch";
    const char *cl = opts->clickhouse_cluster && *opts->clickhouse_cluster ? opts->clickhouse_cluster : NULL;
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        snprintf(err, errlen, "--clickhouse-url must be http://HOST:PORT or https://..., not \"%s\"", url);
        return STITCH_EINVAL;
    }
    if (!ident_ok(db) || (cl && !ident_ok(cl))) {
        snprintf(err, errlen, "ClickHouse database and cluster names are letters, digits and _ (got \"%s\"%s%s)",
                 db, cl ? ", \"" : "", cl ? cl : "");
        return STITCH_EINVAL;
    }
    pthread_once(&curl_once, curl_init_once);
    st_ch_t *c = calloc(1, sizeof *c);
    if (!c)
        return STITCH_ENOMEM;
    c->engine = &st_ch_engine;
    c->url = strdup(url);
    c->db = strdup(db);
    c->cluster = cl ? strdup(cl) : NULL;
    c->max_queue = opts->max_queue_spans ? opts->max_queue_spans : DEFAULT_MAX_QUEUE;
    c->retention_ns = opts->retention_ns;
    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_mutex_init(&c->q_mu, NULL);
    pthread_cond_init(&c->q_cv, NULL);
    pthread_cond_init(&c->done_cv, NULL);
    c->q_tail = &c->q_head;
    if (!c->url || !c->db || (cl && !c->cluster)) {
        ch_close((stitch_store_t *)(void *)c);
        return STITCH_ENOMEM;
    }
    size_t ul = strlen(c->url);
    while (ul && c->url[ul - 1] == '/')
        c->url[--ul] = 0;
    /* the version decides what the schema may use */
    stitch_buf_t ans = STITCH_BUF_INIT(1 << 16);
    char e[512];
    int rc = http_post(c, NULL, "SELECT version()", 16, &ans, 10000, e, sizeof e);
    if (rc) {
        snprintf(err, errlen, "ClickHouse: %s", e); /* e names the URL */
    } else {
        char v[64] = "";
        size_t l = ans.len < sizeof v - 1 ? ans.len : sizeof v - 1;
        memcpy(v, ans.data, l);
        if (sscanf(v, "%d.%d", &c->major, &c->minor) != 2) {
            snprintf(err, errlen, "ClickHouse at %s: cannot read its version from \"%.20s\"", c->url, v);
            rc = STITCH_EPARSE;
        } else if (!at_least(c, 18, 14)) {
            snprintf(err, errlen, "ClickHouse at %s is %d.%d; stitch needs 18.14 or newer", c->url, c->major,
                     c->minor);
            rc = STITCH_EINVAL;
        }
    }
    stitch_buf_free(&ans);
    rc = rc ? rc : create_schema(c, err, errlen);
    if (!rc) {
        /* an older stitchd's tables (the span stored twice): not read */
        char sql[400];
        snprintf(sql, sizeof sql,
                 "SELECT toUInt64(count()) FROM system.tables WHERE database = '%s' AND name IN ('spans_in', "
                 "'traces', 'traces_local') FORMAT RowBinary",
                 c->db);
        if (query_u64(c, sql))
            ch_log("warn", "tables of an older stitch schema found: their spans are not read",
                   "database=%s tables=\"spans traces spans_in spans_mv traces_mv\" "
                   "hint=\"see docs/storage.md (ClickHouse, upgrading); drop them when no longer needed\"",
                   c->db);
    }
    if (!rc) {
        if (pthread_create(&c->writer, NULL, writer_main, c)) {
            snprintf(err, errlen, "cannot start the ClickHouse writer thread: %s", strerror(errno));
            rc = STITCH_ENOMEM;
        } else {
            c->writer_started = true;
        }
    }
    if (rc) {
        ch_close((stitch_store_t *)(void *)c);
        return rc == STITCH_ENOMEM ? rc : rc == STITCH_EINVAL || rc == STITCH_EPARSE ? STITCH_EINVAL : STITCH_EIO;
    }
    ch_log("info", "connected", "url=%s database=%s cluster=%s version=%d.%d", c->url, c->db,
           c->cluster ? c->cluster : "", c->major, c->minor);
    *out = (stitch_store_t *)(void *)c;
    return 0;
}

const st_engine_t st_ch_engine = {
    "clickhouse",        ch_open,       ch_close,        ch_append,     ch_get_trace,
    ch_search,           ch_services,   ch_operations,   ch_remote_services,
    ch_dependencies,     ch_get_stats,  ch_enforce_retention,
};
