/* daemon/config.h — stitchd's settings: one table (config.c) declares
 * every key once, with its type, default, bounds and help text, and the
 * same table reads the YAML file (--config), the environment
 * (STITCHD_<KEY>, '-' as '_') and the command line (--key VALUE or
 * --key=VALUE). Later sources win: defaults < file < environment < flags.
 * The --help text is generated from the table, so it cannot drift from
 * what is parsed; docs/stitchd.md repeats it. */
#ifndef STITCHD_CONFIG_H
#define STITCHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A listener address: "HOST:PORT", "[V6]:PORT", or "off". Port 0 = any free port. */
typedef struct stitchd_addr {
    bool off;
    char host[256];
    unsigned port;
} stitchd_addr_t;

/* Bearer tokens read from a token file (--ingest-token-file,
 * --query-token-file): n == 0 means "no token needed". Owned by the
 * config (stitchd_config_free wipes and frees them). */
typedef struct stitchd_token {
    char *s;
    size_t len;
} stitchd_token_t;
typedef struct stitchd_tokens {
    stitchd_token_t *v;
    size_t n;
} stitchd_tokens_t;

/* --storage */
typedef enum { STITCHD_STORAGE_EMBEDDED, STITCHD_STORAGE_CLICKHOUSE, STITCHD_STORAGE_NONE } stitchd_storage_t;

typedef struct stitchd_config {
    char data[4096];
    stitchd_addr_t otlp_http, zipkin, http;
    uint64_t retention_ns;       /* 0 = keep forever */
    uint64_t max_disk;           /* bytes; 0 = no cap */
    uint64_t min_free;           /* bytes; refuse spans below this free space */
    bool sync_full;
    uint64_t max_body;           /* bytes, before and after decompression */
    uint64_t queue_spans;        /* store write queue, spans */
    uint64_t ingest_concurrency; /* requests decoded + stored at once */
    uint64_t max_connections;    /* per listener */
    uint64_t idle_timeout_ns;    /* a connection silent this long is closed */
    uint64_t request_timeout_ns; /* a body still coming after this long is dropped; 0 = never */
    uint64_t header_timeout_ns;  /* a request head (line + headers) not complete after this long: closed; 0 = never */
    uint64_t shutdown_timeout_ns;/* grace for in-flight requests on SIGTERM */
    int log_level;               /* st_log_level_t */
    char ready_file[4096];       /* "" = none */
    char config_file[4096];      /* "" = none */
    /* the pipeline between receivers and storage (docs/stitchd.md) */
    bool no_store;               /* --storage none: keep nothing locally */
    int storage;                 /* stitchd_storage_t (--storage) */
    char clickhouse_url[4096];   /* --clickhouse-url */
    char clickhouse_database[256];
    char clickhouse_cluster[256]; /* "" = one server */
    char forward[4096];          /* --forward URL: send what is kept there; "" = off */
    char route_to[8192];         /* --route-to URL,URL,...: by trace id; "" = off */
    bool forward_gzip;
    char forward_spool[4096];    /* "" = forwarders buffer in memory only */
    uint64_t forward_buffer;     /* bytes buffered per upstream before 503 */
    uint64_t forward_batch_spans;
    uint64_t forward_batch_delay_ns;
    uint64_t forward_timeout_ns;
    uint64_t sampling_max_memory;/* bytes of held traces; 0 = num_traces only */
    /* access control (docs/OPERATIONS.md) */
    char ingest_token_file[4096];  /* "" = ingest needs no token */
    char query_token_file[4096];   /* "" = queries need no token */
    char tls_cert[4096], tls_key[4096]; /* "" = plain HTTP */
    int tls_min_version;           /* 12 or 13 (--tls-min-version 1.2|1.3) */
    char cors_origins[4096];       /* "" = no CORS headers at all */
    /* read from the files above once every source is parsed */
    stitchd_tokens_t ingest_tokens, query_tokens;
    char *tls_cert_pem, *tls_key_pem; /* NUL-terminated PEM text, NULL without TLS */
    /* the `tail_sampling:` section of the --config file (Collector schema);
     * NULL = no tail sampling. Owned by the config (stitchd_config_free). */
    struct sampling_cfg *tail;
} stitchd_config_t;

/* What stitchd_config_load decided. */
enum { STITCHD_CONFIG_RUN = 0, STITCHD_CONFIG_EXIT_OK = 1, STITCHD_CONFIG_EXIT_USAGE = 2 };

/* Fill `c` from defaults, the --config file, the environment and argv.
 * RUN: start. EXIT_OK: --help / --version were printed on stdout.
 * EXIT_USAGE: a bad flag, value or file; the message is on stderr. */
int stitchd_config_load(stitchd_config_t *c, int argc, char **argv);

/* Free what stitchd_config_load allocated (the tail-sampling section, unless
 * it was taken: set c->tail = NULL after taking it; the tokens and the TLS
 * key, wiped first). */
void stitchd_config_free(stitchd_config_t *c);

/* "127.0.0.1:4318", "[::1]:4318" — into buf. */
const char *stitchd_addr_str(const stitchd_addr_t *a, char *buf, size_t n);

/* Parsers shared with tests: 0 or -1. */
int stitchd_parse_duration(const char *s, uint64_t *ns);
int stitchd_parse_size(const char *s, uint64_t *bytes);
int stitchd_parse_addr(const char *s, stitchd_addr_t *a);

#endif
