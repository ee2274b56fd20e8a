/* daemon/config.c — the settings table and its three readers (YAML file,
 * environment, command line); see config.h.
 * Invariant: every key is declared once in `opts[]`; a reader never
 * touches a field except through set_value(), so a value is validated the
 * same way wherever it comes from. */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "daemon/log.h"
#include "daemon/sampling.h"

#ifndef STITCH_VERSION
#define STITCH_VERSION "0.0.0"
#endif

enum opt_type { T_PATH, T_ADDR, T_DURATION, T_SIZE, T_SYNC, T_COUNT, T_LOGLEVEL, T_URL, T_URLS,
                T_STORAGE, T_COMPRESSION, T_IDENT, T_TLSVER, T_ORIGINS };

typedef struct opt {
    const char *name;   /* flag and file key */
    enum opt_type type;
    size_t off;         /* field in stitchd_config_t */
    const char *def;    /* default, parsed like any other value */
    uint64_t min, max;  /* T_COUNT bounds */
    const char *metavar;
    const char *help;
} opt_t;

#define F(field) offsetof(stitchd_config_t, field)

static const opt_t opts[] = {
    {"data", T_PATH, F(data), "./stitch-data", 0, 0, "DIR",
     "data directory, created if missing"},
    {"otlp-http", T_ADDR, F(otlp_http), "127.0.0.1:4318", 0, 0, "HOST:PORT",
     "OTLP/HTTP receiver (POST /v1/traces); off to disable"},
    {"zipkin", T_ADDR, F(zipkin), "127.0.0.1:9411", 0, 0, "HOST:PORT",
     "Zipkin receiver and Zipkin query API; off to disable"},
    {"http", T_ADDR, F(http), "127.0.0.1:16686", 0, 0, "HOST:PORT",
     "query API, /healthz, /metrics; off to disable"},
    {"retention", T_DURATION, F(retention_ns), "72h", 0, 0, "DURATION",
     "drop spans older than this (whole blocks); 0 keeps everything"},
    {"max-disk", T_SIZE, F(max_disk), "0", 0, 0, "SIZE",
     "drop the oldest blocks past this size (10GB, 500MiB); 0 = no cap"},
    {"min-free", T_SIZE, F(min_free), "64MiB", 0, 0, "SIZE",
     "refuse spans (503) when the disk has less free space"},
    {"sync", T_SYNC, F(sync_full), "normal", 0, 0, "normal|full",
     "full: fsync before acknowledging (survives power loss)"},
    {"max-body", T_SIZE, F(max_body), "20MiB", 1024, 0, "SIZE",
     "largest request body, before and after gzip (413 past it)"},
    {"queue-spans", T_COUNT, F(queue_spans), "262144", 1, 100000000, "N",
     "spans waiting to be written before 503 + Retry-After"},
    {"ingest-concurrency", T_COUNT, F(ingest_concurrency), "8", 1, 1024, "N",
     "requests decoded and stored at once; others wait"},
    {"max-connections", T_COUNT, F(max_connections), "1024", 1, 100000, "N",
     "open connections per listener; more are refused"},
    {"idle-timeout", T_DURATION, F(idle_timeout_ns), "60s", 0, 0, "DURATION",
     "close a connection silent this long (whole seconds)"},
    {"request-timeout", T_DURATION, F(request_timeout_ns), "60s", 0, 0, "DURATION",
     "drop a request whose body is still coming after this long"},
    {"header-timeout", T_DURATION, F(header_timeout_ns), "30s", 0, 0, "DURATION",
     "close a connection whose request line and headers are not complete after this long"},
    {"shutdown-timeout", T_DURATION, F(shutdown_timeout_ns), "10s", 0, 0, "DURATION",
     "on SIGTERM, wait this long for requests in flight"},
    {"log-level", T_LOGLEVEL, F(log_level), "info", 0, 0, "LEVEL",
     "debug, info, warn or error"},
    {"ready-file", T_PATH, F(ready_file), "", 0, 0, "PATH",
     "write the bound addresses here once spans are accepted"},
    /* access control (docs/OPERATIONS.md): the files are read once every
     * source is parsed, so the file, the environment and the flags can each
     * name them */
    {"ingest-token-file", T_PATH, F(ingest_token_file), "", 0, 0, "FILE",
     "bearer tokens (one a line) span uploads (OTLP, Zipkin POST) must carry"},
    {"query-token-file", T_PATH, F(query_token_file), "", 0, 0, "FILE",
     "bearer tokens the query APIs (/api/...) and /metrics need"},
    {"tls-cert", T_PATH, F(tls_cert), "", 0, 0, "FILE",
     "PEM certificate (chain): every listener speaks HTTPS; needs --tls-key"},
    {"tls-key", T_PATH, F(tls_key), "", 0, 0, "FILE",
     "PEM private key of --tls-cert (not encrypted)"},
    {"tls-min-version", T_TLSVER, F(tls_min_version), "1.2", 0, 0, "1.2|1.3",
     "oldest TLS version accepted"},
    {"cors-origins", T_ORIGINS, F(cors_origins), "", 0, 0, "LIST",
     "browser origins allowed to call the receivers and the API: URL,... or *"},
    /* the pipeline: tail sampling (the config file's tail_sampling: section),
     * then local storage and/or forwarding (docs/stitchd.md, docs/deployment.md) */
    {"storage", T_STORAGE, F(storage), "embedded", 0, 0, "embedded|clickhouse|none",
     "embedded: files in --data; clickhouse: --clickhouse-url; none: store nothing here"},
    {"clickhouse-url", T_URL, F(clickhouse_url), "http://127.0.0.1:8123", 0, 0, "URL",
     "--storage clickhouse: the server's HTTP interface"},
    {"clickhouse-database", T_IDENT, F(clickhouse_database), "stitch", 0, 0, "NAME",
     "--storage clickhouse: database of stitch's tables, created if missing"},
    {"clickhouse-cluster", T_IDENT, F(clickhouse_cluster), "", 0, 0, "NAME",
     "--storage clickhouse: remote_servers cluster; Distributed tables sharded by trace id"},
    {"forward", T_URL, F(forward), "", 0, 0, "URL",
     "send accepted (and tail-kept) spans to this OTLP/HTTP collector"},
    {"route-to", T_URLS, F(route_to), "", 0, 0, "URL,URL,...",
     "send each trace to one of these collectors, by a hash of its trace id"},
    {"forward-buffer", T_SIZE, F(forward_buffer), "64MiB", 4096, 0, "SIZE",
     "encoded spans held in memory per upstream; past it 503 + Retry-After"},
    {"forward-batch-spans", T_COUNT, F(forward_batch_spans), "512", 1, 1000000, "N",
     "send when this many spans wait for an upstream"},
    {"forward-batch-delay", T_DURATION, F(forward_batch_delay_ns), "200ms", 0, 0, "DURATION",
     "... or when the oldest has waited this long"},
    {"forward-timeout", T_DURATION, F(forward_timeout_ns), "10s", 0, 0, "DURATION",
     "one send with its retries; then back off (1s..30s) and try again"},
    {"forward-spool", T_PATH, F(forward_spool), "", 0, 0, "DIR",
     "also keep forwarders' buffers on disk here (fsync'ed before 200; sent after a restart)"},
    {"forward-compression", T_COMPRESSION, F(forward_gzip), "gzip", 0, 0, "gzip|none",
     "Content-Encoding of forwarded requests"},
    {"sampling-max-memory", T_SIZE, F(sampling_max_memory), "512MiB", 0, 0, "SIZE",
     "tail sampling: decide the oldest traces early past this much held data"},
};
#define NOPTS (sizeof opts / sizeof opts[0])

/* ---- value parsers --------------------------------------------------------------- */

int stitchd_parse_duration(const char *s, uint64_t *ns)
{
    static const struct {
        const char *u;
        uint64_t mul;
    } units[] = {{"ns", 1},         {"us", 1000},           {"µs", 1000},
                 {"ms", 1000000},   {"s", 1000000000ull},   {"m", 60000000000ull},
                 {"h", 3600000000000ull}, {"d", 86400000000000ull}};
    if (!s || !*s)
        return -1;
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    long double total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        char *end;
        errno = 0;
        long double v = strtold(p, &end);
        if (end == p || errno || v < 0)
            return -1;
        p = end;
        size_t best = 0;
        uint64_t mul = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].u);
            /* longest match wins: "ms" over "m" */
            if (!strncmp(p, units[i].u, l) && l > best) {
                best = l;
                mul = units[i].mul;
            }
        }
        if (!best)
            return -1;
        p += best;
        total += v * (long double)mul;
        if (total > 1.8e19L)
            return -1;
    }
    *ns = (uint64_t)total;
    return 0;
}

int stitchd_parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *u;
        uint64_t mul;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1000ull},
                 {"MB", 1000000ull},
                 {"GB", 1000000000ull},
                 {"TB", 1000000000000ull},
                 {"K", 1024ull},
                 {"KiB", 1024ull},
                 {"M", 1048576ull},
                 {"MiB", 1048576ull},
                 {"G", 1073741824ull},
                 {"GiB", 1073741824ull},
                 {"T", 1099511627776ull},
                 {"TiB", 1099511627776ull}};
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long double v = strtold(s, &end);
    if (errno || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].u)) {
            long double b = v * (long double)units[i].mul;
            if (b > 1.8e19L)
                return -1;
            *bytes = (uint64_t)b;
            return 0;
        }
    return -1;
}

int stitchd_parse_addr(const char *s, stitchd_addr_t *a)
{
    memset(a, 0, sizeof *a);
    if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "disabled")) {
        a->off = true;
        return 0;
    }
    const char *colon;
    const char *host = s;
    size_t hlen;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        host = s + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1; /* a bare IPv6 address must be bracketed */
        hlen = (size_t)(colon - s);
    }
    if (hlen >= sizeof a->host)
        return -1;
    memcpy(a->host, host, hlen);
    a->host[hlen] = 0;
    if (!hlen)
        strcpy(a->host, "0.0.0.0");
    const char *p = colon + 1;
    if (!*p)
        return -1;
    unsigned long port = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535)
            return -1;
    }
    a->port = (unsigned)port;
    return 0;
}

const char *stitchd_addr_str(const stitchd_addr_t *a, char *buf, size_t n)
{
    if (a->off)
        snprintf(buf, n, "off");
    else if (strchr(a->host, ':'))
        snprintf(buf, n, "[%s]:%u", a->host, a->port);
    else
        snprintf(buf, n, "%s:%u", a->host, a->port);
    return buf;
}

/* ---- the table's setter ------------------------------------------------------------ */

static void fail(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "stitchd: %s%s", where ? where : "", where ? ": " : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static const char *type_expect(enum opt_type t)
{
    switch (t) {
    case T_PATH: return "a path";
    case T_ADDR: return "HOST:PORT (port 0 = any free port) or off";
    case T_DURATION: return "a duration such as 72h, 30m, 1h30m, 500ms or 0";
    case T_SIZE: return "a size such as 10GB, 500MiB or 1048576";
    case T_SYNC: return "normal or full";
    case T_COUNT: return "a whole number";
    case T_LOGLEVEL: return "debug, info, warn or error";
    case T_URL: return "an http:// or https:// URL, or \"\" for none";
    case T_URLS: return "a comma-separated list of http:// or https:// URLs";
    case T_STORAGE: return "embedded, clickhouse or none (local = embedded)";
    case T_IDENT: return "a name of letters, digits and _ (not starting with a digit), or \"\"";
    case T_COMPRESSION: return "gzip or none";
    case T_TLSVER: return "1.2 or 1.3";
    case T_ORIGINS:
        return "a comma-separated list of origins (scheme://host[:port], one * allowed: "
               "https://*.example.com), * for any, or \"\" for none";
    }
    return "?";
}

/* Each comma-separated item of a --cors-origins list: "*", or an origin as
 * browsers send it (scheme://host[:port]: no path, not even "/") with at
 * most one "*" standing for a run of characters (a subdomain wildcard), as
 * the OpenTelemetry Collector's cors.allowed_origins takes them. 0 or -1. */
static int check_origins(const char *v)
{
    for (const char *p = v; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        size_t e = n;
        while (e && p[e - 1] == ' ')
            e--;
        if (!e)
            return -1;
        if (!(e == 1 && *p == '*')) {
            size_t i = 0, stars = 0;
            if (!isalpha((unsigned char)p[0]))
                return -1;
            while (i < e && (isalnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'))
                i++;
            if (e - i < 4 || strncmp(p + i, "://", 3))
                return -1;
            for (i += 3; i < e; i++) {
                unsigned char ch = (unsigned char)p[i];
                if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '"')
                    return -1;
                stars += ch == '*';
            }
            if (stars > 1)
                return -1;
        }
        p += n;
        if (*p)
            p++;
    }
    return 0;
}

/* 0, or -1 after printing why (`where` prefixes the message). */
static int set_value(stitchd_config_t *c, const opt_t *o, const char *v, const char *where)
{
    char *field = (char *)c + o->off;
    switch (o->type) {
    case T_PATH:
        if (strlen(v) >= 4096)
            goto bad;
        strcpy(field, v);
        return 0;
    case T_ADDR:
        if (stitchd_parse_addr(v, (stitchd_addr_t *)(void *)field))
            goto bad;
        return 0;
    case T_URL:
    case T_URLS: {
        size_t cap = o->type == T_URL ? sizeof c->forward : sizeof c->route_to;
        _Static_assert(sizeof c->forward == sizeof c->clickhouse_url, "T_URL fields share a size");
        if (strlen(v) >= cap)
            goto bad;
        /* every comma-separated item: scheme://host... */
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            if (o->type == T_URL && p[n])
                goto bad;
            bool http = n > 7 && !strncmp(p, "http://", 7), https = n > 8 && !strncmp(p, "https://", 8);
            if (!http && !https)
                goto bad;
            p += n;
            if (*p)
                p++;
        }
        strcpy(field, v);
        return 0;
    }
    case T_STORAGE:
        if (!strcmp(v, "local") || !strcmp(v, "embedded"))
            c->storage = STITCHD_STORAGE_EMBEDDED;
        else if (!strcmp(v, "clickhouse"))
            c->storage = STITCHD_STORAGE_CLICKHOUSE;
        else if (!strcmp(v, "none"))
            c->storage = STITCHD_STORAGE_NONE;
        else
            goto bad;
        c->no_store = c->storage == STITCHD_STORAGE_NONE;
        return 0;
    case T_IDENT: {
        size_t n = strlen(v);
        if (n >= sizeof c->clickhouse_database || (n && isdigit((unsigned char)v[0])))
            goto bad;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)v[i]) && v[i] != '_')
                goto bad;
        memcpy(field, v, n + 1);
        return 0;
    }
    case T_COMPRESSION:
        if (!strcmp(v, "none"))
            *(bool *)field = false;
        else if (!strcmp(v, "gzip"))
            *(bool *)field = true;
        else
            goto bad;
        return 0;
    case T_TLSVER:
        if (!strcmp(v, "1.2"))
            *(int *)(void *)field = 12;
        else if (!strcmp(v, "1.3"))
            *(int *)(void *)field = 13;
        else
            goto bad;
        return 0;
    case T_ORIGINS:
        if (strlen(v) >= sizeof c->cors_origins || check_origins(v))
            goto bad;
        strcpy(field, v);
        return 0;
    case T_DURATION:
        if (stitchd_parse_duration(v, (uint64_t *)(void *)field))
            goto bad;
        return 0;
    case T_SIZE: {
        uint64_t b;
        if (stitchd_parse_size(v, &b) || (o->min && b < o->min))
            goto bad;
        *(uint64_t *)(void *)field = b;
        return 0;
    }
    case T_SYNC:
        if (!strcmp(v, "normal"))
            *(bool *)field = false;
        else if (!strcmp(v, "full"))
            *(bool *)field = true;
        else
            goto bad;
        return 0;
    case T_COUNT: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)*v) || *end || errno || n < o->min || n > o->max) {
            fail(where, "--%s: bad value \"%s\": expected a whole number from %" PRIu64
                        " to %" PRIu64, o->name, v, o->min, o->max);
            return -1;
        }
        *(uint64_t *)(void *)field = n;
        return 0;
    }
    case T_LOGLEVEL: {
        st_log_level_t l;
        if (st_log_parse_level(v, &l))
            goto bad;
        *(int *)(void *)field = (int)l;
        return 0;
    }
    }
bad:
    if (o->type == T_SIZE && o->min)
        fail(where, "--%s: bad value \"%s\": expected %s, at least %" PRIu64 " bytes", o->name,
             v, type_expect(o->type), o->min);
    else
        fail(where, "--%s: bad value \"%s\": expected %s", o->name, v, type_expect(o->type));
    return -1;
}

/* "otlp_http" and "otlp-http" name the same key. */
static const opt_t *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *n = opts[i].name;
        if (strlen(n) != len)
            continue;
        size_t j = 0;
        for (; j < len; j++)
            if (!(n[j] == name[j] || (n[j] == '-' && name[j] == '_')))
                break;
        if (j == len)
            return &opts[i];
    }
    return NULL;
}

/* ---- YAML file --------------------------------------------------------------------- */

/* The file is loaded as a whole (libyaml's document API) so that nested
 * sections keep their line numbers for error messages:
 *   key: value            a flat key of the table above
 *   key: [a, b]           a list value, joined with commas (route-to)
 *   forward:              a section: `endpoint` is the key itself, any other
 *     endpoint: URL       sub-key K means "forward-K" (forward.buffer is
 *     buffer: 64MiB       --forward-buffer)
 *   tail_sampling: ...    the OpenTelemetry Collector's schema (sampling_config.c) */
static int yaml_set(stitchd_config_t *c, const char *path, yaml_document_t *doc, const char *name,
                    yaml_node_t *kn, yaml_node_t *vn)
{
    char where[4200], val[8192];
    size_t line = kn->start_mark.line + 1;
    snprintf(where, sizeof where, "%s:%zu", path, line);
    const opt_t *o = find_opt(name, strlen(name));
    if (!o || !strcmp(name, "config")) {
        fail(NULL, "%s: unknown key \"%s\" (see stitchd --help for the keys)", where, name);
        return -1;
    }
    if (vn->type == YAML_SCALAR_NODE) {
        snprintf(val, sizeof val, "%s", (const char *)vn->data.scalar.value);
    } else if (vn->type == YAML_SEQUENCE_NODE && (o->type == T_URLS || o->type == T_ORIGINS)) {
        size_t off = 0;
        val[0] = 0;
        for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top;
             it++) {
            yaml_node_t *e = yaml_document_get_node(doc, *it);
            if (!e || e->type != YAML_SCALAR_NODE) {
                fail(NULL, "%s:%zu: key \"%s\": expected a list of plain values", path,
                     e ? e->start_mark.line + 1 : line, name);
                return -1;
            }
            int k = snprintf(val + off, sizeof val - off, "%s%s", off ? "," : "",
                             (const char *)e->data.scalar.value);
            if (k < 0 || (size_t)k >= sizeof val - off) {
                fail(NULL, "%s: key \"%s\": list too long", where, name);
                return -1;
            }
            off += (size_t)k;
        }
    } else {
        fail(NULL, "%s: key \"%s\": expected a plain value, not a %s", where, name,
             vn->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return -1;
    }
    return set_value(c, o, val, where);
}

static int load_file(stitchd_config_t *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(NULL, "--config %s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        fail(NULL, "--config %s: out of memory", path);
        return -1;
    }
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &doc)) {
        fail(NULL, "%s:%zu: %s", path, p.problem_mark.line + 1,
             p.problem ? p.problem : "YAML syntax error");
        yaml_parser_delete(&p);
        fclose(f);
        return -1;
    }
    int rc = -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = 0; /* an empty file */
        goto out;
    }
    if (root->type != YAML_MAPPING_NODE) {
        if (root->type == YAML_SCALAR_NODE && !root->data.scalar.length) {
            rc = 0;
            goto out;
        }
        fail(NULL, "%s:%zu: expected a mapping of key: value", path, root->start_mark.line + 1);
        goto out;
    }
    for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top;
         kv++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, kv->key);
        yaml_node_t *vn = yaml_document_get_node(&doc, kv->value);
        size_t line = kn->start_mark.line + 1;
        if (kn->type != YAML_SCALAR_NODE) {
            fail(NULL, "%s:%zu: expected a plain key", path, line);
            goto out;
        }
        const char *key = (const char *)kn->data.scalar.value;
        if (!strcmp(key, "tail_sampling")) {
            char err[600];
            struct sampling_cfg *t = NULL;
            if (sampling_cfg_from_node(&t, &doc, vn, path, err, sizeof err)) {
                fail(NULL, "%s", err);
                goto out;
            }
            sampling_cfg_free(c->tail);
            c->tail = t;
            continue;
        }
        if (vn->type == YAML_MAPPING_NODE) {
            /* a section: forward: {endpoint: URL, buffer: 64MiB, ...} */
            bool known = false;
            for (size_t i = 0; i < NOPTS; i++) {
                size_t kl = strlen(key);
                if (!strncmp(opts[i].name, key, kl) && (!opts[i].name[kl] || opts[i].name[kl] == '-'))
                    known = true;
            }
            if (!known) {
                fail(NULL, "%s:%zu: unknown key \"%s\" (see stitchd --help for the keys)", path,
                     line, key);
                goto out;
            }
            for (yaml_node_pair_t *s = vn->data.mapping.pairs.start; s < vn->data.mapping.pairs.top;
                 s++) {
                yaml_node_t *sk = yaml_document_get_node(&doc, s->key);
                yaml_node_t *sv = yaml_document_get_node(&doc, s->value);
                if (sk->type != YAML_SCALAR_NODE) {
                    fail(NULL, "%s:%zu: expected a plain key", path, sk->start_mark.line + 1);
                    goto out;
                }
                const char *sub = (const char *)sk->data.scalar.value;
                char name[160];
                if (!strcmp(sub, "endpoint"))
                    snprintf(name, sizeof name, "%s", key);
                else
                    snprintf(name, sizeof name, "%s-%s", key, sub);
                for (char *q = name; *q; q++)
                    if (*q == '_' || *q == '.')
                        *q = '-';
                if (!find_opt(name, strlen(name))) {
                    fail(NULL, "%s:%zu: unknown key \"%s\" in section \"%s\" (see stitchd --help: "
                               "section %s, key K is the flag --%s-K)",
                         path, sk->start_mark.line + 1, sub, key, key, key);
                    goto out;
                }
                if (yaml_set(c, path, &doc, name, sk, sv))
                    goto out;
            }
            continue;
        }
        if (yaml_set(c, path, &doc, key, kn, vn))
            goto out;
    }
    rc = 0;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

/* ---- token files and TLS files ----------------------------------------------------- */

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void tokens_free(stitchd_tokens_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        wipe(t->v[i].s, t->v[i].len);
        free(t->v[i].s);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* A secret readable by every local user is worth a word at start. */
static void warn_world_readable(const char *flag, const char *path, int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH))
        fail(NULL, "warning: --%s %s is readable by every user (mode %03o); chmod 600 or 640 it",
             flag, path, (unsigned)(st.st_mode & 0777));
}

/* One token a line; blank lines and lines starting with '#' are skipped,
 * spaces around a token are not part of it. Several tokens let a client
 * move to a new one while the old still works (rotation). A token is
 * printable ASCII without spaces: what an HTTP header can carry as is. */
static int load_tokens(const char *flag, const char *path, stitchd_tokens_t *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fail(NULL, "--%s %s: cannot read the token file: %s", flag, path, strerror(errno));
        return -1;
    }
    warn_world_readable(flag, path, fileno(f));
    char line[4098];
    size_t ln = 0, shortest = SIZE_MAX;
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            fail(NULL, "--%s %s:%zu: line longer than 4096 characters", flag, path, ln);
            goto out;
        }
        char *p = line;
        while (*p && isspace((unsigned char)*p))
            p++;
        n = strlen(p);
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        p[n] = 0;
        if (!n || *p == '#')
            continue;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e) {
                fail(NULL, "--%s %s:%zu: a token is printable ASCII without spaces (the character at "
                           "column %zu is not)", flag, path, ln, (size_t)(p - line) + i + 1);
                goto out;
            }
        stitchd_token_t *nv = realloc(t->v, (t->n + 1) * sizeof *nv);
        char *s = nv ? malloc(n + 1) : NULL;
        if (nv)
            t->v = nv;
        if (!s) {
            fail(NULL, "--%s %s: out of memory", flag, path);
            goto out;
        }
        memcpy(s, p, n + 1);
        t->v[t->n].s = s;
        t->v[t->n].len = n;
        t->n++;
        if (n < shortest)
            shortest = n;
    }
    if (ferror(f)) {
        fail(NULL, "--%s %s: cannot read the token file: %s", flag, path, strerror(errno));
        goto out;
    }
    if (!t->n) {
        fail(NULL, "--%s %s: no token in the file (one token a line; blank lines and # comments "
                   "are skipped)", flag, path);
        goto out;
    }
    if (shortest < 16)
        fail(NULL, "warning: --%s %s: a token of %zu characters is easy to guess; use 32 random "
                   "characters or more (openssl rand -hex 32)", flag, path, shortest);
    rc = 0;
out:
    wipe(line, sizeof line);
    fclose(f);
    return rc;
}

/* The whole PEM file, NUL-terminated (libmicrohttpd takes PEM text in
 * memory). NULL after printing why. */
static char *load_pem(const char *flag, const char *path, bool key)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(NULL, "--%s %s: %s", flag, path, strerror(errno));
        return NULL;
    }
    if (key)
        warn_world_readable(flag, path, fd);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        fail(NULL, "--%s %s: out of memory", flag, path);
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail(NULL, "--%s %s: %s", flag, path, strerror(errno));
            goto bad;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            fail(NULL, "--%s %s: larger than 1 MiB; not a PEM file", flag, path);
            goto bad;
        }
    }
    close(fd);
    fd = -1;
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
        fail(NULL, "--%s %s: not a PEM file (binary data; convert DER with openssl x509 -inform der "
                   "or openssl pkey -inform der)", flag, path);
        goto bad;
    }
    if (!key && !strstr(buf, "-----BEGIN CERTIFICATE-----")) {
        fail(NULL, "--%s %s: no \"-----BEGIN CERTIFICATE-----\" in it: expected a PEM certificate "
                   "(the server's first, then its intermediates)", flag, path);
        goto bad;
    }
    if (key && strstr(buf, "ENCRYPTED")) {
        fail(NULL, "--%s %s: the key is encrypted, which stitchd does not support; decrypt it "
                   "(openssl pkey -in KEY -out KEY.plain) and protect the file instead", flag, path);
        goto bad;
    }
    /* a cut-off file (a copy that stopped short) is common; say so rather
     * than pass GnuTLS a PEM block it reports as a base64 error */
    for (const char *b = strstr(buf, "-----BEGIN "); b; b = strstr(b + 11, "-----BEGIN ")) {
        const char *label = b + 11, *le = strstr(label, "-----");
        char end[100] = "";
        if (le && le - label <= 60)
            snprintf(end, sizeof end, "-----END %.*s-----", (int)(le - label), label);
        if (!end[0] || !strstr(le, end)) {
            fail(NULL, "--%s %s: truncated PEM: \"%.*s\" has no matching END line", flag, path,
                 le ? (int)(le + 5 - b) : 16, b);
            goto bad;
        }
    }
    if (key && !strstr(buf, "PRIVATE KEY-----")) {
        fail(NULL, "--%s %s: no \"-----BEGIN ... PRIVATE KEY-----\" in it: expected a PEM private "
                   "key", flag, path);
        goto bad;
    }
    return buf;
bad:
    if (fd >= 0)
        close(fd);
    wipe(buf, len);
    free(buf);
    return NULL;
}

/* After every source is parsed: read the files the access-control keys name. */
static int load_access_files(stitchd_config_t *c)
{
    if (c->ingest_token_file[0] && load_tokens("ingest-token-file", c->ingest_token_file, &c->ingest_tokens))
        return -1;
    if (c->query_token_file[0] && load_tokens("query-token-file", c->query_token_file, &c->query_tokens))
        return -1;
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        fail(NULL, "%s without %s: TLS needs both the certificate and its key",
             c->tls_cert[0] ? "--tls-cert" : "--tls-key", c->tls_cert[0] ? "--tls-key" : "--tls-cert");
        return -1;
    }
    if (c->tls_cert[0]) {
        if (!(c->tls_cert_pem = load_pem("tls-cert", c->tls_cert, false)))
            return -1;
        if (!(c->tls_key_pem = load_pem("tls-key", c->tls_key, true)))
            return -1;
    }
    return 0;
}

void stitchd_config_free(stitchd_config_t *c)
{
    sampling_cfg_free(c->tail);
    c->tail = NULL;
    tokens_free(&c->ingest_tokens);
    tokens_free(&c->query_tokens);
    if (c->tls_key_pem)
        wipe(c->tls_key_pem, strlen(c->tls_key_pem));
    free(c->tls_key_pem);
    free(c->tls_cert_pem);
    c->tls_key_pem = c->tls_cert_pem = NULL;
}

/* ---- environment and command line --------------------------------------------------- */

static int load_env(stitchd_config_t *c)
{
    for (size_t i = 0; i < NOPTS; i++) {
        char env[64] = "STITCHD_";
        size_t o = strlen(env);
        for (const char *n = opts[i].name; *n && o + 1 < sizeof env; n++)
            env[o++] = *n == '-' ? '_' : (char)toupper((unsigned char)*n);
        env[o] = 0;
        const char *v = getenv(env);
        if (v && set_value(c, &opts[i], v, env))
            return -1;
    }
    return 0;
}

static void print_help(void)
{
    printf("Usage: stitchd [flags]\n\n"
           "stitchd receives spans (OTLP/HTTP protobuf and JSON, Zipkin v2 JSON), optionally\n"
           "tail-samples them (--config), stores them durably in --data and/or forwards them\n"
           "(--forward, --route-to), and answers the Jaeger and Zipkin query APIs.\n\n"
           "Flags (each is also a key of the --config file and a STITCHD_<KEY> environment\n"
           "variable, e.g. STITCHD_MAX_BODY; flags win over the environment, which wins over\n"
           "the file):\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "--%s %s", opts[i].name, opts[i].metavar);
        if (strlen(lhs) > 28) /* a long flag: its help on the next line */
            printf("  %s\n  %-28s %s\n", lhs, "", opts[i].help);
        else
            printf("  %-28s %s\n", lhs, opts[i].help);
        if (*opts[i].def)
            printf("  %-28s default: %s\n", "", opts[i].def);
    }
    printf("  %-28s %s\n", "--config FILE", "YAML file of key: value lines with the keys above,");
    printf("  %-28s %s\n", "", "sections (forward: {endpoint: URL, buffer: 64MiB}) and a");
    printf("  %-28s %s\n", "", "tail_sampling: section in the OpenTelemetry Collector's schema");
    printf("  %-28s %s\n", "--help", "print this text and exit");
    printf("  %-28s %s\n", "--version", "print the version and exit");
    printf("\nSignals: SIGINT or SIGTERM stop accepting, finish requests in flight, close the\n"
           "store and exit 0. Exit status 2: a bad flag, value or config file; 1: a start-up\n"
           "failure (store, port in use). Logs are logfmt lines on stderr.\n"
           "\nAccess control (bearer tokens, TLS, CORS) and running stitchd on a network:\n"
           "docs/OPERATIONS.md.\n");
}

int stitchd_config_load(stitchd_config_t *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NOPTS; i++)
        if (set_value(c, &opts[i], opts[i].def, "default"))
            return STITCHD_CONFIG_EXIT_USAGE;

    /* first pass: --help, --version, --config (the file must load before
     * the flags that override it) */
    const char *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help();
            return STITCHD_CONFIG_EXIT_OK;
        }
        if (!strcmp(a, "--version")) {
            printf("stitchd %s\n", STITCH_VERSION);
            return STITCHD_CONFIG_EXIT_OK;
        }
        if (!strcmp(a, "--config")) {
            if (i + 1 >= argc) {
                fail(NULL, "--config needs a value (see --help)");
                return STITCHD_CONFIG_EXIT_USAGE;
            }
            cfg = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            cfg = a + 9;
        }
    }
    if (cfg) {
        if (strlen(cfg) >= sizeof c->config_file) {
            fail(NULL, "--config: path too long");
            return STITCHD_CONFIG_EXIT_USAGE;
        }
        strcpy(c->config_file, cfg);
        if (load_file(c, cfg))
            return STITCHD_CONFIG_EXIT_USAGE;
    }
    if (load_env(c))
        return STITCHD_CONFIG_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || !a[2]) {
            fail(NULL, "unexpected argument \"%s\" (see --help)", a);
            return STITCHD_CONFIG_EXIT_USAGE;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *val;
        if (len == 6 && !strncmp(name, "config", 6)) {
            if (!eq)
                i++;
            continue;
        }
        const opt_t *o = find_opt(name, len);
        if (!o) {
            fail(NULL, "unknown flag --%.*s (see --help)", (int)len, name);
            return STITCHD_CONFIG_EXIT_USAGE;
        }
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fail(NULL, "--%s needs a value: %s", o->name, type_expect(o->type));
                return STITCHD_CONFIG_EXIT_USAGE;
            }
            val = argv[++i];
        }
        if (set_value(c, o, val, NULL))
            return STITCHD_CONFIG_EXIT_USAGE;
    }
    if (!c->data[0]) {
        fail(NULL, "--data must not be empty");
        return STITCHD_CONFIG_EXIT_USAGE;
    }
    if (c->forward[0] && c->route_to[0]) {
        fail(NULL, "--forward and --route-to exclude each other (route to one URL with --route-to URL)");
        return STITCHD_CONFIG_EXIT_USAGE;
    }
    if (c->no_store && !c->forward[0] && !c->route_to[0]) {
        fail(NULL, "--storage none needs --forward URL or --route-to URL,...: the spans would go nowhere");
        return STITCHD_CONFIG_EXIT_USAGE;
    }
    if (c->otlp_http.off && c->zipkin.off)
        fail(NULL, "warning: both receivers are off; stitchd will only answer queries");
    if (load_access_files(c)) {
        stitchd_config_free(c);
        return STITCHD_CONFIG_EXIT_USAGE;
    }
    return STITCHD_CONFIG_RUN;
}
