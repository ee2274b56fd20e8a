/* store/internal.h — what the files of the embedded engine share: the
 * in-memory state of a store (write queue, head index, block summaries,
 * names), bloom filters, the block builder and the query helpers.
 * Library-internal; tests may call the stitch__store_* functions.
 *
 * Main invariant (see docs/storage.md): every acknowledged span is either
 * in a `head` row or in a block's pages, never both and never neither, and
 * the in-memory state (`head` index, `blocks`) changes together with the
 * SQLite transaction that moved the spans, under `state_lock` held for
 * writing, so a query that takes its SQLite snapshot under the read lock
 * sees the same world in memory and on disk. */
#ifndef STITCH_STORE_INTERNAL_H
#define STITCH_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "wire/decode.h"
#include "wire/wire.h"

/* ---- tuning (why these values: docs/storage.md) ------------------------------- */

#define ST_BLOCK_SPANS 8192      /* compact the head into a block at this many spans */
#define ST_HEAD_MAX_AGE_NS (15ull * 1000000000ull) /* ... or when its oldest row is this old */
#define ST_PAGE_SPANS 2048       /* spans per page (a trace is never split below 4x this) */
#define ST_PAGE_ZSTD_LEVEL 1     /* pages: each stream on its own (level 3 gains nothing) */
#define ST_HEAD_ZSTD_LEVEL (-5)  /* head rows: columnar, packed on the append path (fast mode) */
#define ST_TID_BLOOM_BITS 14     /* bits per trace id (block bloom: ~0.1 % false positives) */
#define ST_TAG_BLOOM_BITS 8      /* bits per distinct tag entry (page bloom: ~2 %) */
#define ST_SCHEMA_VERSION 1

/* ---- hashing and bloom filters ------------------------------------------------ */

/* A seeded 64-bit hash of n bytes (not cryptographic). Written here rather
 * than taken from a library: Debian's libxxhash has no -dev in our setup,
 * and a bloom filter needs only good mixing, which this gives in a few
 * lines (a multiply-xorshift over 8-byte words, the shape of wyhash/xxh3's
 * short-input paths). Callers chain it: h = st_hash(p, n, h). */
uint64_t st_hash(const void *p, size_t n, uint64_t seed);
uint64_t st_hash_tid(const uint8_t tid[16]);

/* A bloom filter over 64-bit hashes, k probes by double hashing. `bits`
 * points into memory the owner keeps (a block's summary blob). */
typedef struct st_bloom {
    const uint8_t *bits;
    uint32_t nbits; /* multiple of 8; 0 = empty filter (matches nothing) */
    uint32_t k;
} st_bloom_t;

uint32_t st_bloom_nbits(size_t nkeys, unsigned bits_per_key);
unsigned st_bloom_k(unsigned bits_per_key);
void st_bloom_add(uint8_t *bits, uint32_t nbits, unsigned k, uint64_t h);
bool st_bloom_has(const st_bloom_t *b, uint64_t h);

/* Tag entries of the page blooms: every entry a search may ask for. */
#define ST_ENT_SERVICE 'S' /* service name */
#define ST_ENT_OP 'O'      /* service, operation */
#define ST_ENT_KEY 'K'     /* attribute key present */
#define ST_ENT_KV 'V'      /* key = value as text */
uint64_t st_entry_hash(char type, const char *a, size_t alen, const char *b, size_t blen);

/* A value as the text a tag condition compares with: "42", "true", "1.5",
 * the string itself, arrays as a JSON list. Returns the text (which may be
 * the value's own string, not NUL-terminated) and its length; `tmp` is
 * scratch space the text may live in (cut at its size). */
const char *st_value_text(const stitch_value_t *v, char *tmp, size_t tmplen, size_t *len);

/* service.name of a span's resource, or "" */
const char *st_span_service(const stitch_span_data_t *d, size_t *len);

/* ---- blocks ------------------------------------------------------------------ */

/* One page of a block: spans sorted by (trace id, start). */
typedef struct st_page {
    uint8_t first[16], last[16]; /* trace id range */
    uint32_t nspans;
    uint64_t min_start, max_start, max_dur;
    st_bloom_t tags;
} st_page_t;

typedef struct st_dep {
    const char *parent, *child; /* into the block's blob */
    uint64_t calls, errors;
} st_dep_t;

/* A block's summary, parsed from its blob (layout: block.c); everything
 * points into `blob`. Shared by queries through `refs` (atomic). */
typedef struct st_block {
    int64_t id;
    uint32_t nspans, npages, ndeps;
    uint64_t min_start, max_start, max_end, max_dur;
    uint64_t bytes; /* pages + summary, compressed */
    st_bloom_t tids;
    st_page_t *pages;
    st_dep_t *deps;
    uint8_t *blob;
    size_t bloblen;
    atomic_int refs;
} st_block_t;

/* Parse a summary blob (taken over on success). 0 or STITCH_EPARSE. */
int st_block_parse(st_block_t **out, int64_t id, uint8_t *blob, size_t len);
void st_block_unref(st_block_t *b);

/* A block under construction: what compaction produces before its one
 * transaction. pages[i] is compressed page i. */
typedef struct st_built {
    stitch_buf_t summary;
    stitch_buf_t *pages;
    size_t npages;
    uint64_t nspans, nduplicates, bytes;
} st_built_t;

/* Build a block from spans (order is free; duplicates of (trace id, span
 * id) are dropped). 0 or STITCH_ENOMEM. */
int st_block_build(const stitch_span_data_t *const *spans, size_t n, st_built_t *out);
void st_built_free(st_built_t *b);

/* Dependencies among spans sorted by (trace id, ...): calls into fn for
 * each parent/child service pair. Spans of one trace must be contiguous. */
typedef void (*st_dep_cb)(void *arg, const char *parent, size_t plen, const char *child,
                          size_t clen, bool error);
void st_deps_of(const stitch_span_data_t *const *spans, size_t n, st_dep_cb cb, void *arg);
/* Dependency edges summed by (parent, child): built when a block is cut
 * and again when a query adds up blocks and the head. `oom` is set (and
 * further adds ignored) when memory ran out. st_depsum_cb is an st_dep_cb
 * that counts one call. */
typedef struct st_depsum {
    struct {
        char *p, *c;
        uint64_t calls, errors;
    } *v;
    size_t n, cap;
    bool oom;
} st_depsum_t;
void st_depsum_add(st_depsum_t *d, const char *p, size_t pl, const char *c, size_t cl,
                   uint64_t calls, uint64_t errors);
void st_depsum_cb(void *arg, const char *p, size_t pl, const char *c, size_t cl, bool err);
void st_depsum_free(st_depsum_t *d);

/* ---- pages (page.c: the columnar codec, layout at the top of the file) ----------- */

typedef struct st_page_enc st_page_enc_t; /* the encoder's reusable streams */
st_page_enc_t *st_page_enc_new(void);
void st_page_enc_free(st_page_enc_t *e);
/* Whether st_page_encode collects bloom entries (on by default; a head
 * row, which has no bloom, turns them off). */
void st_page_enc_blooms(st_page_enc_t *e, bool on);
/* Spans sorted by trace id (a trace's spans together) -> raw page bytes in
 * out (reset first; not compressed). 0 or STITCH_ENOMEM. */
int st_page_encode(st_page_enc_t *e, const stitch_span_data_t *const *spans, size_t n,
                   stitch_buf_t *out);
/* The bloom entries of the page last encoded (st_entry_hash of `S service`,
 * `O service+operation`, `K key` and `V key=value` for span, resource and
 * event attributes), each distinct one at least once; valid until the next
 * encode. */
const uint64_t *st_page_entries(const st_page_enc_t *e, size_t *n);
/* The parts of the page last encoded, in order (its header, then each
 * stream): their lengths into lens[0 .. return value), at most max. */
size_t st_page_parts(const st_page_enc_t *e, size_t *lens, size_t max);
#define ST_PAGE_MAX_PARTS 64

/* A page as stored (block.c): "STZ1", varint number of parts, then per
 * part of st_page_parts:
 * varint raw length, varint stored length, the bytes (raw when the two
 * are equal, else one zstd frame): each stream compressed on its own, so
 * zstd's entropy tables fit each kind of value. */
int st_page_pack(const stitch_buf_t *raw, const size_t *lens, size_t nparts, int level,
                 stitch_buf_t *out);
#define ST_PACK_RAW (-1000) /* st_page_pack level: every part stored raw */
/* A packed ("STZ1") columnar page's raw bytes into tmp (reset first): 0,
 * STITCH_ENOTFOUND when z is not one (st_decode_page reads those),
 * STITCH_EPARSE or STITCH_ENOMEM. */
int st_page_unpack(const void *z, size_t zlen, stitch_buf_t *tmp);
/* Part `part` of a packed ("STZ1") page, decompressed into out (reset
 * first): what a query reads to rule a page out without decoding it. 0,
 * STITCH_ENOTFOUND when the page is not packed (schema 1's OTLP frame),
 * STITCH_EPARSE or STITCH_ENOMEM. */
int st_page_part(const void *z, size_t zlen, size_t part, stitch_buf_t *out);
/* Which parts hold what (page.c's layout): the trace ids (16 bytes each,
 * one per trace), and the strings: *n columns, column c's lengths (varints)
 * in part lens + c and their bytes back to back in part data + c; every
 * string of the page (keys, names, values) is in one of them. */
size_t st_page_part_tids(void);
void st_page_part_strings(size_t *lens, size_t *data, size_t *n);
/* A search's conditions (store.h's stitch_store_query_t, prepared: every
 * bound set, service and operation NULL = any) for st_page_match. */
typedef struct st_page_match {
    uint64_t smin, smax, dmin, dmax;
    int kind;
    unsigned status_mask;
    const char *service, *operation;
    size_t svclen;
    const stitch_store_tag_t *tags;
    size_t ntags;
    /* called for each span meeting every condition, in page order; tid
     * points into the page */
    void (*hit)(void *arg, const uint8_t tid[16], uint64_t start);
    void *arg;
} st_page_match_t;
/* Raw page bytes (untrusted): test every span against m without building
 * the records (a search needs only the trace id and start of the spans
 * that match), with query.c's semantics. b's arena holds the string table
 * and the resources meanwhile (reset it after). 0; 1 when a tag condition
 * met an array value, which this pass does not build: hits may be missing,
 * decode the page instead; STITCH_EPARSE, STITCH_ELIMIT, STITCH_ENOMEM.
 * Hits already reported stand even when it then fails. */
int st_page_match(stitch_wire_batch_t *b, const uint8_t *p, size_t n, const st_page_match_t *m);
/* Raw page bytes (untrusted) -> spans appended to b, in page order. 0,
 * STITCH_EPARSE (nothing appended), STITCH_ELIMIT or STITCH_ENOMEM. */
int st_page_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n);
/* st_page_decode of the traces `want` says yes to (called once per trace
 * of the page, tid into the page); the others are read past without
 * building anything. NULL want = every trace. */
int st_page_decode_traces(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                          bool (*want)(const void *arg, const uint8_t tid[16]), const void *arg);

/* ---- the head ---------------------------------------------------------------- */

/* The spans of one head row, deep-copied on the append path (copy.c) and
 * kept until compaction has moved them into a block: compaction and head
 * queries read these, never the row's bytes (which are only the durable
 * copy, decoded again only at open after a crash). Immutable once queued;
 * shared with queries through `refs`. */
typedef struct st_hmem {
    stitch_wire_batch_t b; /* b.spans / b.nspans */
    atomic_int refs;
} st_hmem_t;

st_hmem_t *st_hmem_new(void);
void st_hmem_unref(st_hmem_t *m);

/* Deep-copy n spans into b (appended; see copy.c). 0, STITCH_ENOMEM or
 * STITCH_ELIMIT (nothing appended). */
int st_span_copy(stitch_wire_batch_t *b, const stitch_span_data_t *const *spans, size_t n);

typedef struct st_headrow {
    int64_t seq;
    st_hmem_t *mem;    /* the spans (a reference) */
    uint32_t nspans;
    uint64_t added_ns; /* CLOCK_REALTIME when committed (for the age trigger) */
    uint64_t min_start, max_start, max_end, max_dur;
    uint64_t *tidh;    /* st_hash_tid of each span (malloc'd) */
} st_headrow_t;

/* Facts about a decoded request: times, tid hashes (malloc'd into *tidh). */
int st_head_meta(const stitch_span_data_t *const *spans, size_t n, st_headrow_t *row);

/* ---- names (services, operations, remote services) --------------------------- */

#define ST_NAME_SERVICE 0
#define ST_NAME_OP 1
#define ST_NAME_REMOTE 2

typedef struct st_name {
    int type, kind;
    char *service, *name; /* one allocation: service then name */
    uint64_t h;
} st_name_t;

typedef struct st_names {
    st_name_t *slots; /* open addressing; service == NULL = empty */
    size_t cap, n;
} st_names_t;

bool st_names_has(const st_names_t *t, int type, const char *svc, size_t slen, const char *name,
                  size_t nlen, int kind, uint64_t *h);
int st_names_add(st_names_t *t, int type, const char *svc, size_t slen, const char *name,
                 size_t nlen, int kind);
void st_names_free(st_names_t *t);

/* ---- the store --------------------------------------------------------------- */

/* A request waiting for the committer (lives on the appender's stack). */
typedef struct st_req {
    const uint8_t *blob;
    size_t bloblen;
    st_headrow_t row;
    stitch_buf_t *newnames; /* NUL-separated (type, kind, service, name) tuples or NULL */
    size_t nnew;
    int rc;
    bool done;
    struct st_req *next;
} st_req_t;

/* A reader: its own connection, statements and scratch decode batch. */
typedef struct st_reader {
    sqlite3 *db;
    sqlite3_stmt *get_head, *get_page, *begin, *commit, *touch;
    stitch_wire_batch_t scratch;
    stitch_buf_t zbuf;  /* decompressed page or head row */
    struct st_reader *next;
} st_reader_t;

/* ---- engines (store.c dispatches the public functions through these) ------------ */

/* One storage engine: the public functions of store.h minus the checks
 * store.c makes once. Each engine's handle (struct stitch_store for the
 * embedded one, struct st_ch in clickhouse.c) starts with a pointer to its
 * table, which is how store.c finds it. */
typedef struct st_engine {
    const char *name;
    int (*open)(stitch_store_t **out, const stitch_store_opts_t *opts, char *err, size_t errlen);
    void (*close)(stitch_store_t *s);
    int (*append)(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n);
    int (*get_trace)(stitch_store_t *s, const uint8_t trace_id[16], stitch_store_result_t *r);
    int (*search)(stitch_store_t *s, const stitch_store_query_t *q, stitch_store_result_t *r);
    int (*services)(stitch_store_t *s, stitch_store_str_fn fn, void *arg);
    int (*operations)(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg);
    int (*remote_services)(stitch_store_t *s, const char *service, stitch_store_str_fn fn, void *arg);
    int (*dependencies)(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns, stitch_store_dep_fn fn,
                        void *arg);
    void (*get_stats)(stitch_store_t *s, stitch_store_stats_t *st);
    int (*enforce_retention)(stitch_store_t *s, uint64_t now_ns);
} st_engine_t;

extern const st_engine_t st_emb_engine; /* sqlite.c + query.c: the embedded store */
extern const st_engine_t st_ch_engine;  /* clickhouse.c */

/* The engine of an open store. */
static inline const st_engine_t *st_engine_of(const stitch_store_t *s)
{
    return *(const st_engine_t *const *)s;
}

int st_emb_open(stitch_store_t **out, const stitch_store_opts_t *opts, char *err, size_t errlen);
void st_emb_close(stitch_store_t *s);
int st_emb_append(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n);
int st_emb_get_trace(stitch_store_t *s, const uint8_t trace_id[16], stitch_store_result_t *r);
int st_emb_search(stitch_store_t *s, const stitch_store_query_t *q, stitch_store_result_t *r);
int st_emb_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg);
int st_emb_operations(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg);
int st_emb_remote_services(stitch_store_t *s, const char *service, stitch_store_str_fn fn, void *arg);
int st_emb_dependencies(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns, stitch_store_dep_fn fn,
                        void *arg);
void st_emb_get_stats(stitch_store_t *s, stitch_store_stats_t *st);
int st_emb_enforce_retention(stitch_store_t *s, uint64_t now_ns);

/* Order r's spans (query.c): traces in the order of `order` (order[0]
 * first), spans by start, each (trace id, span id) once; fills r->traces.
 * Shared by both engines so a result looks the same from either. */
int st_build_result(stitch_store_result_t *r, const uint8_t (*order)[16], size_t n);

struct stitch_store {
    const st_engine_t *engine; /* first: store.c dispatches through it */
    stitch_store_opts_t opts;
    char *dir, *path;
    sqlite3 *wdb;         /* the committer's connection */
    sqlite3 *cdb;         /* the compactor's connection */

    /* write queue */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv, done_cv;
    st_req_t *q_head, **q_tail;
    size_t q_spans;
    bool stopping, paused;
    pthread_t committer, compactor;
    bool threads_started;

    /* one writer at a time across our connections: SQLite's own busy
     * handler would sleep (1, 2, 5 ... 100 ms) instead of queueing */
    pthread_mutex_t w_mu;

    /* compactor */
    pthread_mutex_t c_mu; /* serialises compaction and retention */
    pthread_cond_t c_cv;
    bool c_kick;

    /* shared state */
    pthread_rwlock_t state_lock;
    pthread_mutex_t head_mu; /* head rows (also under state_lock for removal) */
    st_headrow_t *head;
    size_t nhead, caphead;
    uint64_t head_spans;
    st_block_t **blocks; /* by id (= age) ascending */
    size_t nblocks, capblocks;

    pthread_mutex_t names_mu;
    st_names_t names;

    pthread_mutex_t r_mu;
    st_reader_t *readers;

    /* space */
    atomic_bool nospace;
    atomic_uint_fast64_t last_space_check_ns;
    atomic_uint_fast64_t disk_bytes;

    /* stats */
    atomic_uint_fast64_t st_appended, st_dup, st_busy, st_nospace, st_dropped;
};

/* zstd with a per-thread context: compress `in` into `out` (reset first).
 * 0, STITCH_ENOMEM or STITCH_EIO. */
int st_compress(const void *in, size_t n, int level, stitch_buf_t *out);

/* Decode a compressed page or head row (packed columnar page, page.c, or
 * a zstd frame of an OTLP request as the first version of the store wrote
 * both) into b. */
int st_decode_page(const void *z, size_t zlen, stitch_buf_t *tmp, stitch_wire_batch_t *b);
/* The same, building only the traces `want` accepts (st_page_decode_traces)
 * when the page is columnar; an OTLP page is decoded whole. */
int st_decode_page_traces(const void *z, size_t zlen, stitch_buf_t *tmp, stitch_wire_batch_t *b,
                          bool (*want)(const void *arg, const uint8_t tid[16]), const void *arg);

uint64_t st_now_ns(void);

/* ---- internal entry points (tests, tools) -------------------------------------- */

/* Compact every head row into blocks now (whatever the thresholds). 0 or STITCH_E*. */
int stitch__store_compact_now(stitch_store_t *s);
/* Hold / release the committer (a test fills the queue with it held). */
void stitch__store_pause(stitch_store_t *s, bool paused);
/* Rows and spans in the head, blocks. */
void stitch__store_counts(stitch_store_t *s, size_t *head_rows, uint64_t *head_spans,
                          size_t *blocks);

/* query.c needs the reader pool from sqlite.c */
st_reader_t *st_reader_get(stitch_store_t *s);
void st_reader_put(stitch_store_t *s, st_reader_t *r);

#endif
