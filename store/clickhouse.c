/* store/clickhouse.c — the ClickHouse engine behind store.h: spans go to a
 * ClickHouse server (or cluster) through its HTTP interface (libcurl,
 * keep-alive handles from a small pool), so any number of stitchd
 * collectors and query servers can share one storage.
 *
 * Schema (created on open when missing; docs/storage.md has the details):
 *   spans_in  ENGINE = Null: what an insert writes, one RowBinary row per span
 *   spans     MergeTree ORDER BY (service, start_ns): search, names, deps
 *   traces    MergeTree ORDER BY (trace_id, start_ns): the span itself (a
 *             one-span page of store/page.c's codec), found by trace id
 *   spans_mv, traces_mv: materialized views from spans_in into the two
 * With a cluster, spans and traces are Distributed tables over
 * spans_local / traces_local, sharded by a hash of the trace id, so a trace
 * lives on one shard.
 *
 * Invariant: stitch_store_append() returns 0 only after ClickHouse answered
 * 200 to an INSERT holding the spans (retried with backoff for up to
 * ST_CH_RETRY_NS while the server is down or restarting); appends from
 * several threads go out together in one INSERT (group commit, one writer
 * thread). A retried INSERT may store a span twice: every read drops
 * repeats of (trace id, span id), like the embedded store. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/internal.h"

#define ST_CH_RETRY_NS (30ull * 1000000000ull) /* keep retrying an INSERT this long */
#define ST_CH_MAX_INSERT (64u << 20)           /* bytes of rows per INSERT */
#define ST_CH_POOL 8                           /* idle curl handles kept */
#define DEFAULT_MAX_QUEUE 262144

typedef struct ch_req {
    stitch_buf_t rows; /* RowBinary rows of spans_in */
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

/* The column list of spans_in, in RowBinary order (encode_span writes it). */
static const char IN_COLUMNS[] =
    "trace_id FixedString(16), span_id FixedString(8), parent_id FixedString(8), service String, "
    "name String, kind UInt8, status UInt8, start_ns UInt64, duration_ns UInt64, "
    "tag_keys Array(String), tag_values Array(String), peer_services Array(String), span String";

#define DAY_EXPR "toDate(toDateTime(intDiv(start_ns, 1000000000)))"

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
    /* per-column codecs: 19.10+ (ZSTD on the blobs, Delta on times) */
    bool codecs = at_least(c, 19, 10);
    const char *zstd = codecs ? " CODEC(ZSTD(1))" : "";
    const char *delta = codecs ? " CODEC(Delta, ZSTD(1))" : "";
    int rc = 0;
    rc = rc ? rc : putf(&sql, "CREATE DATABASE IF NOT EXISTS %s%s", db, on);
    rc = rc ? rc : put_nul(&sql);
    size_t s1 = sql.len;
    rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s.spans%s%s (day Date, trace_id FixedString(16), "
                              "span_id FixedString(8), parent_id FixedString(8), service String, name String, "
                              "kind UInt8, status UInt8, start_ns UInt64%s, duration_ns UInt64, ",
                        db, local, on, delta);
    rc = rc ? rc : putf(&sql, "tag_keys Array(String)%s, tag_values Array(String)%s, peer_services Array(String)",
                        zstd, zstd);
    if (at_least(c, 19, 6))
        rc = rc ? rc : put_str(&sql, ", INDEX trace_ix trace_id TYPE bloom_filter(0.01) GRANULARITY 4");
    rc = rc ? rc : putf(&sql, ") ENGINE = MergeTree PARTITION BY day ORDER BY (service, start_ns)%s", ttl);
    rc = rc ? rc : put_nul(&sql);
    size_t s2 = sql.len;
    rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s.traces%s%s (day Date, trace_id FixedString(16), "
                              "start_ns UInt64%s, span String%s) ENGINE = MergeTree PARTITION BY day "
                              "ORDER BY (trace_id, start_ns)%s SETTINGS index_granularity = 1024",
                        db, local, on, delta, zstd, ttl);
    rc = rc ? rc : put_nul(&sql);
    size_t s3 = sql.len;
    if (c->cluster) {
        rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s.spans%s AS %s.spans_local ENGINE = "
                                  "Distributed(%s, %s, spans_local, sipHash64(trace_id))",
                            db, on, db, c->cluster, db);
        rc = rc ? rc : put_nul(&sql);
        rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s.traces%s AS %s.traces_local ENGINE = "
                                  "Distributed(%s, %s, traces_local, sipHash64(trace_id))",
                            db, on, db, c->cluster, db);
        rc = rc ? rc : put_nul(&sql);
    }
    size_t s4 = sql.len;
    rc = rc ? rc : putf(&sql, "CREATE TABLE IF NOT EXISTS %s.spans_in%s (", db, on);
    rc = rc ? rc : put_str(&sql, IN_COLUMNS);
    rc = rc ? rc : put_str(&sql, ") ENGINE = Null");
    rc = rc ? rc : put_nul(&sql);
    rc = rc ? rc : putf(&sql, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.spans_mv%s TO %s.spans AS SELECT "
                              DAY_EXPR " AS day, trace_id, span_id, parent_id, service, name, kind, status, "
                              "start_ns, duration_ns, tag_keys, tag_values, peer_services FROM %s.spans_in",
                        db, on, db, db);
    rc = rc ? rc : put_nul(&sql);
    rc = rc ? rc : putf(&sql, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.traces_mv%s TO %s.traces AS SELECT "
                              DAY_EXPR " AS day, trace_id, start_ns, span FROM %s.spans_in",
                        db, on, db, db);
    rc = rc ? rc : put_nul(&sql);
    (void)s1, (void)s2, (void)s3, (void)s4;
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

/* spans_in rows of n spans into b (appended). */
static int encode_rows(st_page_enc_t *enc, stitch_buf_t *page, const stitch_span_data_t *const *spans, size_t n,
                       stitch_buf_t *b)
{
    char tmp[1024];
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = spans[i];
        size_t sl;
        const char *svc = st_span_service(d, &sl);
        uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
        const char *name = d->name ? d->name : "";
        if (stitch_buf_append(b, d->ctx.trace_id, 16) || stitch_buf_append(b, d->ctx.span_id, 8) ||
            stitch_buf_append(b, d->parent_span_id, 8) || rb_str(b, svc, sl) ||
            rb_str(b, name, strlen(name)))
            return STITCH_ENOMEM;
        uint8_t ks[2] = {(uint8_t)d->kind, (uint8_t)d->status};
        if (stitch_buf_append(b, ks, 2) || rb_u64(b, d->start_ns) || rb_u64(b, dur))
            return STITCH_ENOMEM;
        /* tags: span, resource and event attributes as (key, text) pairs */
        uint64_t nt = (uint64_t)d->nattrs + d->nresource;
        for (uint32_t e = 0; e < d->nevents; e++)
            nt += d->events[e].nattrs;
        for (int pass = 0; pass < 2; pass++) {
            if (rb_var(b, nt))
                return STITCH_ENOMEM;
            for (int set = 0; set < 2 + (int)d->nevents; set++) {
                const stitch_attr_t *a = set == 0 ? d->attrs : set == 1 ? d->resource : d->events[set - 2].attrs;
                uint32_t na = set == 0 ? d->nattrs : set == 1 ? d->nresource : d->events[set - 2].nattrs;
                for (uint32_t k = 0; k < na; k++) {
                    if (pass == 0) {
                        const char *key = a[k].key ? a[k].key : "";
                        if (rb_str(b, key, strlen(key)))
                            return STITCH_ENOMEM;
                    } else {
                        size_t vl;
                        const char *v = st_value_text(&a[k].value, tmp, sizeof tmp, &vl);
                        if (rb_str(b, v, vl))
                            return STITCH_ENOMEM;
                    }
                }
            }
        }
        /* peer.service (string values of the span's own attributes): Zipkin's remoteServices */
        uint64_t np = 0;
        for (uint32_t k = 0; k < d->nattrs; k++)
            np += d->attrs[k].value.type == STITCH_VALUE_STRING && d->attrs[k].key &&
                  !strcmp(d->attrs[k].key, "peer.service");
        if (rb_var(b, np))
            return STITCH_ENOMEM;
        for (uint32_t k = 0; k < d->nattrs; k++)
            if (d->attrs[k].value.type == STITCH_VALUE_STRING && d->attrs[k].key &&
                !strcmp(d->attrs[k].key, "peer.service") && rb_str(b, d->attrs[k].value.u.str, d->attrs[k].value.len))
                return STITCH_ENOMEM;
        /* the span itself: a one-span page (every field, as the embedded store keeps it) */
        int rc = st_page_encode(enc, &spans[i], 1, page);
        if (rc)
            return rc;
        if (rb_str(b, (const char *)page->data, page->len))
            return STITCH_ENOMEM;
    }
    return 0;
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

/* One INSERT of body, retried with backoff (100 ms doubling to 2 s) while
 * the server cannot be reached, for up to ST_CH_RETRY_NS. */
static int insert_rows(st_ch_t *c, const stitch_buf_t *body, size_t nspans)
{
    char query[300], err[512];
    snprintf(query, sizeof query, "INSERT INTO %s.spans_in FORMAT RowBinary", c->db);
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
            ch_log("warn", "insert failed, retrying", "spans=%zu attempt=%u error=%s", nspans,
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
        ch_log("error", "insert failed", "spans=%zu attempts=%u error=%s", nspans, attempt,
               qstr(q, sizeof q, err));
        rc = STITCH_EIO;
    } else if (attempt > 1) {
        ch_log("info", "insert succeeded after retries", "spans=%zu attempts=%u", nspans,
               attempt);
    }
    stitch_buf_free(&out);
    return rc;
}

static int enforce_partitions(st_ch_t *c, uint64_t now_ns);

static void *writer_main(void *arg)
{
    st_ch_t *c = arg;
    stitch_buf_t body = STITCH_BUF_INIT(0);
    uint64_t last_retention = now_mono();
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

        int rc = 0;
        stitch_buf_reset(&body);
        if (!list->next) {
            rc = insert_rows(c, &list->rows, n);
        } else {
            for (ch_req_t *x = list; x && !rc; x = x->next)
                if (stitch_buf_append(&body, x->rows.data, x->rows.len))
                    rc = STITCH_ENOMEM;
            rc = rc ? rc : insert_rows(c, &body, n);
        }
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
    ch_req_t req = {.rows = STITCH_BUF_INIT(0), .n = n};
    st_page_enc_t *enc = st_page_enc_new();
    stitch_buf_t page = STITCH_BUF_INIT(0);
    int rc = enc ? 0 : STITCH_ENOMEM;
    if (enc)
        st_page_enc_blooms(enc, false);
    rc = rc ? rc : encode_rows(enc, &page, spans, n, &req.rows);
    st_page_enc_free(enc);
    stitch_buf_free(&page);
    if (rc) {
        stitch_buf_free(&req.rows);
        return rc;
    }
    pthread_mutex_lock(&c->q_mu);
    if (c->q_spans && c->q_spans + n > c->max_queue) {
        pthread_mutex_unlock(&c->q_mu);
        stitch_buf_free(&req.rows);
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
    return req.rc;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Decode the one-span pages of an answer of `SELECT span` into b. */
static int decode_spans(const stitch_buf_t *ans, stitch_wire_batch_t *b)
{
    rd_t r = {ans->data, ans->data + ans->len, false};
    while (r.p < r.end) {
        size_t n;
        const char *p = rd_str(&r, &n);
        if (r.bad)
            return STITCH_EPARSE;
        int rc = st_page_decode(b, (const uint8_t *)p, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* The spans of traces ids[0..n) into r, ordered as build_result does. */
static int fetch_traces(st_ch_t *c, const uint8_t (*ids)[16], size_t n, stitch_store_result_t *r)
{
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT span FROM %s.traces WHERE trace_id IN (", c->db);
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = put_str(&sql, ",");
        rc = rc ? rc : put_tid(&sql, ids[i]);
    }
    rc = rc ? rc : put_str(&sql, ") FORMAT RowBinary");
    rc = rc ? rc : put_nul(&sql);
    rc = rc ? rc : run_sql(c, (const char *)sql.data, &ans);
    rc = rc ? rc : decode_spans(&ans, &r->batch);
    rc = rc ? rc : st_build_result(r, ids, n);
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
    int rc = putf(&sql, "SELECT trace_id, max(start_ns) AS m FROM %s.spans WHERE 1", c->db);
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
        if (!t->value) {
            rc = put_str(&sql, " AND has(tag_keys, ");
            rc = rc ? rc : put_lit(&sql, t->key, strlen(t->key));
            rc = rc ? rc : put_str(&sql, ")");
        } else {
            rc = put_str(&sql, " AND arrayExists((k_, v_) -> k_ = ");
            rc = rc ? rc : put_lit(&sql, t->key, strlen(t->key));
            rc = rc ? rc : put_str(&sql, " AND v_ = ");
            rc = rc ? rc : put_lit(&sql, t->value, strlen(t->value));
            rc = rc ? rc : put_str(&sql, ", tag_keys, tag_values)");
        }
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

/* Run sql (NUL-terminated in b) and hand its answer back in ans. */
static int query_buf(st_ch_t *c, stitch_buf_t *sql, stitch_buf_t *ans)
{
    int rc = put_nul(sql);
    return rc ? rc : run_sql(c, (const char *)sql->data, ans);
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

static int ch_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT DISTINCT service FROM %s.spans ORDER BY service FORMAT RowBinary", c->db);
    rc = rc ? rc : query_buf(c, &sql, &ans);
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
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
    return rc;
}

static int ch_operations(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg)
{
    st_ch_t *c = CH(s);
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    int rc = putf(&sql, "SELECT DISTINCT service, name, kind FROM %s.spans WHERE 1", c->db);
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
    stitch_buf_t sql = STITCH_BUF_INIT(0), ans = STITCH_BUF_INIT(0);
    /* the embedded store's order: by (service, name), each name once */
    int rc = putf(&sql, "SELECT p FROM (SELECT DISTINCT service, arrayJoin(peer_services) AS p FROM %s.spans "
                        "WHERE notEmpty(peer_services)", c->db);
    if (service) {
        rc = rc ? rc : put_str(&sql, " AND service = ");
        rc = rc ? rc : put_lit(&sql, service, strlen(service));
    }
    rc = rc ? rc : put_str(&sql, " ORDER BY service, p) LIMIT 1 BY p FORMAT RowBinary");
    rc = rc ? rc : query_buf(c, &sql, &ans);
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
    stitch_buf_free(&sql);
    stitch_buf_free(&ans);
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
                  "service AS csvc, status AS cstatus FROM %s.spans WHERE start_ns >= %" PRIu64
                  " AND start_ns <= %" PRIu64 " AND parent_id != toFixedString('', 8))) ANY INNER JOIN (SELECT DISTINCT trace_id, span_id, "
                  "service AS psvc FROM %s.spans WHERE start_ns >= %" PRIu64 " AND start_ns <= %" PRIu64
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
    snprintf(sql, sizeof sql, "SELECT toUInt64(count()) FROM %s.spans FORMAT RowBinary", c->db);
    st->spans_stored = query_u64(c, sql);
    /* the local server's parts (with a cluster: this shard's) */
    snprintf(sql, sizeof sql,
             "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE active AND database = '%s' FORMAT "
             "RowBinary",
             c->db);
    st->disk_bytes = query_u64(c, sql);
    snprintf(sql, sizeof sql,
             "SELECT toUInt64(count()) FROM system.parts WHERE active AND database = '%s' FORMAT RowBinary", c->db);
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
                  "table IN ('spans%s', 'traces%s') AND max_date < toDate(toDateTime(%" PRIu64
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
