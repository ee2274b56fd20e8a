/* store/sqlite.c — the embedded engine's life and write side: opening the
 * SQLite file, the write queue and its committer thread (group commit),
 * the compactor thread (head rows -> blocks), retention, space checks and
 * stats. Queries are in store/query.c.
 *
 * Tables (schema version ST_SCHEMA_VERSION in PRAGMA user_version):
 *   head(seq INTEGER PRIMARY KEY, time, nspans, data)  one row per append:
 *        data = the appended spans as a packed columnar page (page.c; zstd
 *        fast mode); rows of earlier versions, zstd(OTLP request), still read
 *   block(id INTEGER PRIMARY KEY, min_start, max_end, nspans, bytes, summary)
 *        summary = the blob of store/block.c, loaded into memory at open
 *   page(id INTEGER PRIMARY KEY, data)  id = block << 16 | page index
 *   name(type, service, name, kind)     services, operations, remote services
 *
 * Invariant: append() returns 0 only after the COMMIT that wrote its head
 * row, and after the row is in the in-memory head index; compaction moves
 * head rows into one block in one transaction (so a crash leaves either
 * the rows or the block) and swaps the in-memory state under state_lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "store/internal.h"

#define DEFAULT_MIN_FREE (64ull << 20)
#define DEFAULT_MAX_QUEUE 262144
#define SPACE_CHECK_NS 250000000ull
#define RETENTION_EVERY_NS (10ull * 1000000000ull)

/* ---- helpers ------------------------------------------------------------------ */

static int map_sqlite(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_FULL:
        return STITCH_ENOSPC;
    case SQLITE_NOMEM:
        return STITCH_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STITCH_EBUSY;
    default:
        return STITCH_EIO;
    }
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void log_sqlite(const char *what, sqlite3 *db)
{
    /* The store has no logger of its own (store.h: "message logged"): the
     * daemon's stderr gets one line per failure. */
    fprintf(stderr, "stitch store: %s: %s\n", what, sqlite3_errmsg(db));
}

static int open_conn(const char *path, sqlite3 **out, bool sync_full, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return STITCH_EIO;
    }
    sqlite3_busy_timeout(db, 30000);
    char sql[256];
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous=%s; PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-8192;",
             sync_full ? "FULL" : "NORMAL");
    if (exec(db, sql) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return STITCH_EIO;
    }
    *out = db;
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t disk_usage(stitch_store_t *s)
{
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    return file_size(s->path) + file_size(wal);
}

/* Refresh the space flags; at most every SPACE_CHECK_NS unless forced. */
static void check_space(stitch_store_t *s, bool force, bool kick)
{
    uint64_t now = st_now_ns();
    uint64_t last = atomic_load(&s->last_space_check_ns);
    if (!force && now - last < SPACE_CHECK_NS)
        return;
    atomic_store(&s->last_space_check_ns, now);
    uint64_t used = disk_usage(s);
    atomic_store(&s->disk_bytes, used);
    bool nospace = false;
    struct statvfs vf;
    if (statvfs(s->dir, &vf) == 0 && (uint64_t)vf.f_bavail * vf.f_frsize < s->opts.min_free_bytes)
        nospace = true;
    if (s->opts.max_disk_bytes && used > s->opts.max_disk_bytes) {
        /* retention will drop blocks; refuse only when there is none left
         * to drop (everything is in the head) */
        pthread_rwlock_rdlock(&s->state_lock);
        bool none = s->nblocks == 0;
        pthread_rwlock_unlock(&s->state_lock);
        if (none)
            nospace = true;
        if (kick) {
            pthread_mutex_lock(&s->c_mu);
            s->c_kick = true;
            pthread_cond_signal(&s->c_cv);
            pthread_mutex_unlock(&s->c_mu);
        }
    }
    atomic_store(&s->nospace, nospace);
}

/* ---- per-thread append buffers ---------------------------------------------------- */

typedef struct tl_bufs {
    stitch_buf_t enc, z, names;
    st_page_enc_t *pe; /* head rows: columnar, no blooms */
    const stitch_span_data_t **ptrs;
    size_t nptrs;
} tl_bufs_t;

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static void tl_free(void *p)
{
    tl_bufs_t *t = p;
    stitch_buf_free(&t->enc);
    stitch_buf_free(&t->z);
    stitch_buf_free(&t->names);
    st_page_enc_free(t->pe);
    free(t->ptrs);
    free(t);
}
static void tl_init(void) { (void)pthread_key_create(&tl_key, tl_free); }
static tl_bufs_t *tl_get(void)
{
    (void)pthread_once(&tl_once, tl_init);
    tl_bufs_t *t = pthread_getspecific(tl_key);
    if (!t && (t = calloc(1, sizeof *t)) != NULL) {
        if (!(t->pe = st_page_enc_new())) {
            free(t);
            return NULL;
        }
        st_page_enc_blooms(t->pe, false);
        (void)pthread_setspecific(tl_key, t);
    }
    return t;
}

/* ---- names on the append path ------------------------------------------------------ */

static int put_name(stitch_buf_t *b, int type, int kind, const char *svc, size_t sl,
                    const char *name, size_t nl)
{
    uint8_t h[2] = {(uint8_t)type, (uint8_t)kind};
    if (stitch_buf_append(b, h, 2) || stitch_buf_append(b, svc, sl) || stitch_buf_append(b, "", 1) ||
        stitch_buf_append(b, name, nl) || stitch_buf_append(b, "", 1))
        return STITCH_ENOMEM;
    return 0;
}

/* Names of these spans the store has not seen yet, into b (see st_req_t). */
static int new_names(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n,
                     stitch_buf_t *b, size_t *count)
{
    b->len = 0;
    *count = 0;
    const void *lastres = NULL;
    const char *svc = "";
    size_t sl = 0;
    const char *lastname = NULL;
    int lastkind = -1;
    int rc = 0;
    pthread_mutex_lock(&s->names_mu);
    for (size_t i = 0; i < n && !rc; i++) {
        const stitch_span_data_t *d = spans[i];
        bool newres = d->resource != lastres || !lastres;
        if (newres) {
            svc = st_span_service(d, &sl);
            lastres = d->resource;
            if (!st_names_has(&s->names, ST_NAME_SERVICE, svc, sl, "", 0, 0, NULL)) {
                rc = put_name(b, ST_NAME_SERVICE, 0, svc, sl, "", 0);
                ++*count;
            }
        }
        if (newres || d->name != lastname || (int)d->kind != lastkind) {
            size_t nl = strlen(d->name);
            if (!lastname || strcmp(d->name, lastname) || (int)d->kind != lastkind || newres)
                if (!st_names_has(&s->names, ST_NAME_OP, svc, sl, d->name, nl, (int)d->kind, NULL)) {
                    rc = rc ? rc : put_name(b, ST_NAME_OP, (int)d->kind, svc, sl, d->name, nl);
                    ++*count;
                }
            lastname = d->name;
            lastkind = (int)d->kind;
        }
        for (uint32_t a = 0; a < d->nattrs; a++)
            if (d->attrs[a].value.type == STITCH_VALUE_STRING && !strcmp(d->attrs[a].key, "peer.service")) {
                const stitch_value_t *v = &d->attrs[a].value;
                if (!st_names_has(&s->names, ST_NAME_REMOTE, svc, sl, v->u.str, v->len, 0, NULL)) {
                    rc = rc ? rc : put_name(b, ST_NAME_REMOTE, 0, svc, sl, v->u.str, v->len);
                    ++*count;
                }
            }
    }
    pthread_mutex_unlock(&s->names_mu);
    return rc;
}

/* ---- append ---------------------------------------------------------------------- */

int st_emb_append(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n)
{
    if (!s || (!spans && n))
        return STITCH_EINVAL;
    if (!n)
        return 0;
    /* the free space is looked at here (at most every SPACE_CHECK_NS), so
     * a disk filled by someone else is noticed before SQLite hits it */
    check_space(s, false, true);
    if (atomic_load(&s->nospace)) {
        atomic_fetch_add(&s->st_nospace, n);
        return STITCH_ENOSPC;
    }
    pthread_mutex_lock(&s->q_mu);
    bool full = s->q_spans && s->q_spans + n > s->opts.max_queue_spans;
    pthread_mutex_unlock(&s->q_mu);
    if (full) {
        atomic_fetch_add(&s->st_busy, n);
        return STITCH_EBUSY;
    }
    tl_bufs_t *t = tl_get();
    if (!t)
        return STITCH_ENOMEM;
    st_req_t req = {0};
    /* the head keeps its own copy of the records: compaction and head
     * queries read it instead of decoding the row again */
    int rc = (req.row.mem = st_hmem_new()) ? st_span_copy(&req.row.mem->b, spans, n) : STITCH_ENOMEM;
    /* the durable copy: the copied spans (keys interned: page.c's address
     * cache hits) as one columnar page in the order given, no blooms,
     * packed like a block's pages */
    if (!rc && n > t->nptrs) {
        const stitch_span_data_t **np = realloc(t->ptrs, n * sizeof *np);
        if (np) {
            t->ptrs = np;
            t->nptrs = n;
        } else {
            rc = STITCH_ENOMEM;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            t->ptrs[i] = &req.row.mem->b.spans[i];
        rc = st_page_encode(t->pe, t->ptrs, n, &t->enc);
    }
    if (!rc) {
        size_t lens[ST_PAGE_MAX_PARTS];
        size_t nparts = st_page_parts(t->pe, lens, ST_PAGE_MAX_PARTS);
        rc = st_page_pack(&t->enc, lens, nparts, ST_HEAD_ZSTD_LEVEL, &t->z);
    }
    if (!rc)
        rc = st_head_meta(spans, n, &req.row);
    if (!rc)
        rc = new_names(s, t->ptrs, n, &t->names, &req.nnew); /* the copies: names interned */
    if (rc) {
        free(req.row.tidh);
        st_hmem_unref(req.row.mem);
        return rc;
    }
    req.blob = t->z.data;
    req.bloblen = t->z.len;
    req.newnames = req.nnew ? &t->names : NULL;

    pthread_mutex_lock(&s->q_mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->q_mu);
        free(req.row.tidh);
        st_hmem_unref(req.row.mem);
        return STITCH_ESTATE;
    }
    if (s->q_spans && s->q_spans + n > s->opts.max_queue_spans) {
        pthread_mutex_unlock(&s->q_mu);
        free(req.row.tidh);
        st_hmem_unref(req.row.mem);
        atomic_fetch_add(&s->st_busy, n);
        return STITCH_EBUSY;
    }
    *s->q_tail = &req;
    s->q_tail = &req.next;
    s->q_spans += n;
    pthread_cond_signal(&s->q_cv);
    while (!req.done)
        pthread_cond_wait(&s->done_cv, &s->q_mu);
    pthread_mutex_unlock(&s->q_mu);
    /* on success the head index owns row.tidh and row.mem */
    if (req.rc) {
        free(req.row.tidh);
        st_hmem_unref(req.row.mem);
        if (req.rc == STITCH_ENOSPC)
            atomic_fetch_add(&s->st_nospace, n);
        return req.rc;
    }
    atomic_fetch_add(&s->st_appended, n);
    return 0;
}

/* ---- committer --------------------------------------------------------------------- */

typedef struct wstmts {
    sqlite3_stmt *ins_head, *ins_name, *begin, *commit, *rollback;
} wstmts_t;

static int insert_names(sqlite3_stmt *st, const stitch_buf_t *b)
{
    const uint8_t *p = b->data, *end = b->data + b->len;
    while (p < end) {
        int type = p[0], kind = p[1];
        const char *svc = (const char *)p + 2;
        size_t sl = strlen(svc);
        const char *name = svc + sl + 1;
        size_t nl = strlen(name);
        p = (const uint8_t *)name + nl + 1;
        sqlite3_bind_int(st, 1, type);
        sqlite3_bind_text(st, 2, svc, (int)sl, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, (int)nl, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, kind);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return rc;
    }
    return SQLITE_OK;
}

static void names_commit(stitch_store_t *s, const stitch_buf_t *b)
{
    const uint8_t *p = b->data, *end = b->data + b->len;
    pthread_mutex_lock(&s->names_mu);
    while (p < end) {
        int type = p[0], kind = p[1];
        const char *svc = (const char *)p + 2;
        size_t sl = strlen(svc);
        const char *name = svc + sl + 1;
        size_t nl = strlen(name);
        p = (const uint8_t *)name + nl + 1;
        (void)st_names_add(&s->names, type, svc, sl, name, nl, kind); /* ENOMEM: asked again later */
    }
    pthread_mutex_unlock(&s->names_mu);
}

static int head_push(stitch_store_t *s, const st_headrow_t *row)
{
    if (s->nhead == s->caphead) {
        size_t nc = s->caphead ? s->caphead * 2 : 256;
        st_headrow_t *nh = realloc(s->head, nc * sizeof *nh);
        if (!nh)
            return STITCH_ENOMEM;
        s->head = nh;
        s->caphead = nc;
    }
    s->head[s->nhead++] = *row;
    s->head_spans += row->nspans;
    return 0;
}

static int commit_batch(stitch_store_t *s, wstmts_t *w, st_req_t *list)
{
    pthread_mutex_lock(&s->w_mu);
    int rc = sqlite3_step(w->begin);
    sqlite3_reset(w->begin);
    uint64_t now = st_now_ns();
    for (st_req_t *r = list; r && rc == SQLITE_DONE; r = r->next) {
        sqlite3_bind_int64(w->ins_head, 1, (sqlite3_int64)now);
        sqlite3_bind_int64(w->ins_head, 2, r->row.nspans);
        sqlite3_bind_blob(w->ins_head, 3, r->blob, (int)r->bloblen, SQLITE_STATIC);
        rc = sqlite3_step(w->ins_head);
        sqlite3_reset(w->ins_head);
        r->row.seq = sqlite3_last_insert_rowid(s->wdb);
        r->row.added_ns = now;
        if (rc == SQLITE_DONE && r->newnames) {
            int nrc = insert_names(w->ins_name, r->newnames);
            rc = nrc == SQLITE_OK ? SQLITE_DONE : nrc;
        }
    }
    if (rc == SQLITE_DONE) {
        rc = sqlite3_step(w->commit);
        sqlite3_reset(w->commit);
    }
    if (rc != SQLITE_DONE) {
        int e = map_sqlite(rc);
        log_sqlite("commit", s->wdb);
        sqlite3_step(w->rollback);
        sqlite3_reset(w->rollback);
        pthread_mutex_unlock(&s->w_mu);
        if (e == STITCH_ENOSPC)
            atomic_store(&s->nospace, true);
        return e ? e : STITCH_EIO;
    }
    pthread_mutex_unlock(&s->w_mu);
    int e = 0;
    pthread_mutex_lock(&s->head_mu);
    for (st_req_t *r = list; r; r = r->next)
        if (head_push(s, &r->row))
            e = STITCH_ENOMEM; /* durable but not indexed: found again at reopen */
    pthread_mutex_unlock(&s->head_mu);
    for (st_req_t *r = list; r; r = r->next)
        if (r->newnames)
            names_commit(s, r->newnames);
    return e;
}

static void *committer_main(void *arg)
{
    stitch_store_t *s = arg;
    wstmts_t w = {0};
    int prc = sqlite3_prepare_v2(s->wdb, "INSERT INTO head(time, nspans, data) VALUES(?,?,?)", -1, &w.ins_head, NULL);
    prc |= sqlite3_prepare_v2(s->wdb, "INSERT OR IGNORE INTO name(type, service, name, kind) VALUES(?,?,?,?)", -1,
                              &w.ins_name, NULL);
    prc |= sqlite3_prepare_v2(s->wdb, "BEGIN IMMEDIATE", -1, &w.begin, NULL);
    prc |= sqlite3_prepare_v2(s->wdb, "COMMIT", -1, &w.commit, NULL);
    prc |= sqlite3_prepare_v2(s->wdb, "ROLLBACK", -1, &w.rollback, NULL);
    pthread_mutex_lock(&s->q_mu);
    for (;;) {
        while ((!s->q_head || s->paused) && !s->stopping)
            pthread_cond_wait(&s->q_cv, &s->q_mu);
        if (!s->q_head && s->stopping)
            break;
        st_req_t *list = s->q_head;
        s->q_head = NULL;
        s->q_tail = &s->q_head;
        pthread_mutex_unlock(&s->q_mu);

        int rc = prc ? STITCH_EIO : commit_batch(s, &w, list);
        if (!rc || rc == STITCH_ENOSPC)
            check_space(s, rc == STITCH_ENOSPC, true);

        pthread_mutex_lock(&s->q_mu);
        for (st_req_t *r = list, *next; r; r = next) {
            next = r->next;
            s->q_spans -= r->row.nspans;
            r->rc = rc;
            if (!rc) {
                r->row.tidh = NULL; /* owned by the head index now */
                r->row.mem = NULL;
            }
            r->done = true;
        }
        pthread_cond_broadcast(&s->done_cv);
        bool kick = false;
        pthread_mutex_lock(&s->head_mu);
        kick = s->head_spans >= ST_BLOCK_SPANS;
        pthread_mutex_unlock(&s->head_mu);
        if (kick) {
            pthread_mutex_unlock(&s->q_mu);
            pthread_mutex_lock(&s->c_mu);
            s->c_kick = true;
            pthread_cond_signal(&s->c_cv);
            pthread_mutex_unlock(&s->c_mu);
            pthread_mutex_lock(&s->q_mu);
        }
    }
    pthread_mutex_unlock(&s->q_mu);
    sqlite3_finalize(w.ins_head);
    sqlite3_finalize(w.ins_name);
    sqlite3_finalize(w.begin);
    sqlite3_finalize(w.commit);
    sqlite3_finalize(w.rollback);
    return NULL;
}

/* ---- compaction ---------------------------------------------------------------------- */

static int blocks_push(stitch_store_t *s, st_block_t *b)
{
    if (s->nblocks == s->capblocks) {
        size_t nc = s->capblocks ? s->capblocks * 2 : 64;
        st_block_t **nb = realloc(s->blocks, nc * sizeof *nb);
        if (!nb)
            return STITCH_ENOMEM;
        s->blocks = nb;
        s->capblocks = nc;
    }
    s->blocks[s->nblocks++] = b;
    return 0;
}

/* One block from the oldest head rows (up to ST_BLOCK_SPANS spans), when
 * the thresholds say so or `force`. *did = whether a block was written.
 * Caller holds c_mu. */
static int compact_once(stitch_store_t *s, bool force, bool *did)
{
    *did = false;
    uint64_t now = st_now_ns();
    pthread_mutex_lock(&s->head_mu);
    size_t k = 0;
    uint64_t spans = 0;
    bool go = s->nhead && (force || s->head_spans >= ST_BLOCK_SPANS ||
                           now - s->head[0].added_ns >= ST_HEAD_MAX_AGE_NS);
    if (go)
        while (k < s->nhead && spans < ST_BLOCK_SPANS)
            spans += s->head[k++].nspans;
    int64_t first = go ? s->head[0].seq : 0, last = go ? s->head[k - 1].seq : 0;
    pthread_mutex_unlock(&s->head_mu);
    if (!go)
        return 0;

    sqlite3 *db = s->cdb;
    /* the rows' records, kept in memory since append (copy.c): nothing is
     * read back or decoded here. The rows stay in the head (and their
     * memory with them) until the COMMIT below. */
    const stitch_span_data_t **ptrs = malloc((spans ? spans : 1) * sizeof *ptrs);
    if (!ptrs)
        return STITCH_ENOMEM;
    size_t np = 0;
    pthread_mutex_lock(&s->head_mu);
    for (size_t i = 0; i < k; i++) {
        const st_hmem_t *m = s->head[i].mem;
        for (size_t j = 0; m && j < m->b.nspans && np < spans; j++)
            ptrs[np++] = &m->b.spans[j];
    }
    pthread_mutex_unlock(&s->head_mu);
    int rc;
    st_built_t bt;
    int e = st_block_build(ptrs, np, &bt);
    free(ptrs);
    if (e)
        return e;
    uint8_t *blob = malloc(bt.summary.len ? bt.summary.len : 1);
    st_block_t *blk = NULL;
    if (!blob) {
        st_built_free(&bt);
        return STITCH_ENOMEM;
    }
    memcpy(blob, bt.summary.data, bt.summary.len);

    sqlite3_stmt *ins = NULL;
    pthread_mutex_lock(&s->w_mu);
    rc = exec(db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO block(min_start, max_end, nspans, bytes, summary) VALUES(?,?,?,?,?)",
                                -1, &ins, NULL);
    int64_t id = 0;
    if (rc == SQLITE_OK) {
        uint64_t minst = 0, maxend = 0;
        memcpy(&minst, bt.summary.data + 16, 8);
        memcpy(&maxend, bt.summary.data + 32, 8);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)minst);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)maxend);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)bt.nspans);
        sqlite3_bind_int64(ins, 4, (sqlite3_int64)bt.bytes);
        sqlite3_bind_blob(ins, 5, bt.summary.data, (int)bt.summary.len, SQLITE_STATIC);
        rc = sqlite3_step(ins);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        id = sqlite3_last_insert_rowid(db);
        sqlite3_finalize(ins);
        ins = NULL;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO page(id, data) VALUES(?,?)", -1, &ins, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < bt.npages; i++) {
        sqlite3_bind_int64(ins, 1, (id << 16) | (int64_t)i);
        sqlite3_bind_blob(ins, 2, bt.pages[i].data, (int)bt.pages[i].len, SQLITE_STATIC);
        rc = sqlite3_step(ins);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (rc == SQLITE_OK) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM head WHERE seq BETWEEN %lld AND %lld", (long long)first,
                 (long long)last);
        rc = exec(db, sql);
    }
    if (rc == SQLITE_OK && (e = st_block_parse(&blk, id, blob, bt.summary.len)) != 0) {
        free(blob);
        blob = NULL;
        rc = SQLITE_NOMEM;
    }
    uint64_t dups = bt.nduplicates;
    st_built_free(&bt);
    if (rc != SQLITE_OK) {
        log_sqlite("compact: write block", db);
        exec(db, "ROLLBACK");
        pthread_mutex_unlock(&s->w_mu);
        if (blk)
            st_block_unref(blk);
        else
            free(blob);
        return map_sqlite(rc);
    }
    /* the switch: COMMIT and the in-memory state change together */
    pthread_rwlock_wrlock(&s->state_lock);
    rc = exec(db, "COMMIT");
    if (rc != SQLITE_OK)
        exec(db, "ROLLBACK");
    pthread_mutex_unlock(&s->w_mu);
    if (rc == SQLITE_OK && blocks_push(s, blk) == 0) {
        pthread_mutex_lock(&s->head_mu);
        for (size_t i = 0; i < k; i++) {
            s->head_spans -= s->head[i].nspans;
            free(s->head[i].tidh);
            st_hmem_unref(s->head[i].mem);
        }
        memmove(s->head, s->head + k, (s->nhead - k) * sizeof *s->head);
        s->nhead -= k;
        pthread_mutex_unlock(&s->head_mu);
        pthread_rwlock_unlock(&s->state_lock);
        atomic_fetch_add(&s->st_dup, dups);
        *did = true;
        return 0;
    }
    if (rc == SQLITE_OK) {
        /* committed but no memory for the block list: the data is safe and
         * the head rows are gone; the block shows up at the next open */
        pthread_mutex_lock(&s->head_mu);
        for (size_t i = 0; i < k; i++) {
            s->head_spans -= s->head[i].nspans;
            free(s->head[i].tidh);
            st_hmem_unref(s->head[i].mem);
        }
        memmove(s->head, s->head + k, (s->nhead - k) * sizeof *s->head);
        s->nhead -= k;
        pthread_mutex_unlock(&s->head_mu);
        pthread_rwlock_unlock(&s->state_lock);
        st_block_unref(blk);
        return STITCH_ENOMEM;
    }
    pthread_rwlock_unlock(&s->state_lock);
    log_sqlite("compact: commit", db);
    st_block_unref(blk);
    return map_sqlite(rc);
}

/* ---- retention ------------------------------------------------------------------------ */

/* Caller holds c_mu. */
static int retention(stitch_store_t *s, uint64_t now)
{
    uint64_t used = disk_usage(s);
    pthread_rwlock_rdlock(&s->state_lock);
    size_t n = s->nblocks;
    int64_t *victims = malloc((n ? n : 1) * sizeof *victims);
    size_t nv = 0;
    if (!victims) {
        pthread_rwlock_unlock(&s->state_lock);
        return STITCH_ENOMEM;
    }
    uint64_t target = s->opts.max_disk_bytes ? s->opts.max_disk_bytes / 10 * 9 : 0;
    uint64_t freed = 0;
    for (size_t i = 0; i < n; i++) {
        st_block_t *b = s->blocks[i];
        bool old = s->opts.retention_ns && now > s->opts.retention_ns &&
                   b->max_end < now - s->opts.retention_ns;
        bool big = s->opts.max_disk_bytes && used > s->opts.max_disk_bytes && used - freed > target &&
                   i + 1 < n; /* keep the newest block */
        if (old || big) {
            victims[nv++] = b->id;
            freed += b->bytes;
        }
    }
    pthread_rwlock_unlock(&s->state_lock);
    if (!nv) {
        free(victims);
        return 0;
    }
    sqlite3 *db = s->cdb;
    pthread_mutex_lock(&s->w_mu);
    int rc = exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < nv && rc == SQLITE_OK; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "DELETE FROM block WHERE id=%lld; DELETE FROM page WHERE id BETWEEN %lld AND %lld",
                 (long long)victims[i], (long long)(victims[i] << 16), (long long)((victims[i] << 16) | 0xffff));
        rc = exec(db, sql);
    }
    if (rc != SQLITE_OK) {
        log_sqlite("retention", db);
        exec(db, "ROLLBACK");
        pthread_mutex_unlock(&s->w_mu);
        free(victims);
        return map_sqlite(rc);
    }
    pthread_rwlock_wrlock(&s->state_lock);
    rc = exec(db, "COMMIT");
    if (rc != SQLITE_OK)
        exec(db, "ROLLBACK");
    pthread_mutex_unlock(&s->w_mu);
    if (rc == SQLITE_OK) {
        size_t o = 0, vi = 0;
        for (size_t i = 0; i < s->nblocks; i++) {
            st_block_t *b = s->blocks[i];
            bool gone = false;
            while (vi < nv && victims[vi] < b->id)
                vi++;
            gone = vi < nv && victims[vi] == b->id;
            if (gone)
                st_block_unref(b);
            else
                s->blocks[o++] = b;
        }
        s->nblocks = o;
    }
    pthread_rwlock_unlock(&s->state_lock);
    free(victims);
    if (rc != SQLITE_OK) {
        log_sqlite("retention: commit", db);
        return map_sqlite(rc);
    }
    atomic_fetch_add(&s->st_dropped, nv);
    /* give the pages back to the file system (auto_vacuum=INCREMENTAL) */
    pthread_mutex_lock(&s->w_mu);
    (void)exec(db, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(PASSIVE);");
    pthread_mutex_unlock(&s->w_mu);
    check_space(s, true, false); /* c_mu is held: no kick */
    return 0;
}

int st_emb_enforce_retention(stitch_store_t *s, uint64_t now_ns)
{
    if (!s)
        return STITCH_EINVAL;
    pthread_mutex_lock(&s->c_mu);
    int rc = retention(s, now_ns ? now_ns : st_now_ns());
    pthread_mutex_unlock(&s->c_mu);
    return rc;
}

static void *compactor_main(void *arg)
{
    stitch_store_t *s = arg;
    uint64_t last_ret = 0;
    pthread_mutex_lock(&s->c_mu);
    while (!s->stopping) {
        if (!s->c_kick) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->c_cv, &s->c_mu, &ts);
        }
        s->c_kick = false;
        if (s->stopping)
            break;
        bool did = true;
        for (int i = 0; did && i < 64 && !s->stopping; i++)
            if (compact_once(s, false, &did))
                break;
        uint64_t now = st_now_ns();
        bool over = s->opts.max_disk_bytes && atomic_load(&s->disk_bytes) > s->opts.max_disk_bytes;
        if (over || now - last_ret >= RETENTION_EVERY_NS) {
            (void)retention(s, now);
            last_ret = now;
        }
    }
    pthread_mutex_unlock(&s->c_mu);
    return NULL;
}

int stitch__store_compact_now(stitch_store_t *s)
{
    if (st_engine_of(s) != &st_emb_engine)
        return 0; /* other engines have nothing to compact: appends are visible at once */
    pthread_mutex_lock(&s->c_mu);
    int rc = 0;
    bool did = true;
    while (did && !rc)
        rc = compact_once(s, true, &did);
    pthread_mutex_unlock(&s->c_mu);
    return rc;
}

void stitch__store_pause(stitch_store_t *s, bool paused)
{
    if (st_engine_of(s) != &st_emb_engine)
        return;
    pthread_mutex_lock(&s->q_mu);
    s->paused = paused;
    pthread_cond_signal(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
}

void stitch__store_counts(stitch_store_t *s, size_t *head_rows, uint64_t *head_spans, size_t *blocks)
{
    if (st_engine_of(s) != &st_emb_engine) {
        *head_rows = 0, *head_spans = 0, *blocks = 0;
        return;
    }
    pthread_rwlock_rdlock(&s->state_lock);
    pthread_mutex_lock(&s->head_mu);
    *head_rows = s->nhead;
    *head_spans = s->head_spans;
    *blocks = s->nblocks;
    pthread_mutex_unlock(&s->head_mu);
    pthread_rwlock_unlock(&s->state_lock);
}

/* ---- readers -------------------------------------------------------------------------- */

static void reader_free(st_reader_t *r);

st_reader_t *st_reader_get(stitch_store_t *s)
{
    pthread_mutex_lock(&s->r_mu);
    st_reader_t *r = s->readers;
    if (r)
        s->readers = r->next;
    pthread_mutex_unlock(&s->r_mu);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    char err[256];
    if (open_conn(s->path, &r->db, false, err, sizeof err)) {
        free(r);
        return NULL;
    }
    int rc = exec(r->db, "PRAGMA query_only=1");
    rc |= sqlite3_prepare_v2(r->db, "SELECT data FROM head WHERE seq=?", -1, &r->get_head, NULL);
    rc |= sqlite3_prepare_v2(r->db, "SELECT data FROM page WHERE id=?", -1, &r->get_page, NULL);
    rc |= sqlite3_prepare_v2(r->db, "BEGIN", -1, &r->begin, NULL);
    rc |= sqlite3_prepare_v2(r->db, "COMMIT", -1, &r->commit, NULL);
    rc |= sqlite3_prepare_v2(r->db, "SELECT count(*) FROM block WHERE id=0", -1, &r->touch, NULL);
    stitch_wire_batch_init(&r->scratch, 0);
    if (rc != SQLITE_OK) {
        reader_free(r);
        return NULL;
    }
    return r;
}

static void reader_free(st_reader_t *r)
{
    sqlite3_finalize(r->get_head);
    sqlite3_finalize(r->get_page);
    sqlite3_finalize(r->begin);
    sqlite3_finalize(r->commit);
    sqlite3_finalize(r->touch);
    sqlite3_close(r->db);
    stitch_wire_batch_free(&r->scratch);
    stitch_buf_free(&r->zbuf);
    free(r);
}

void st_reader_put(stitch_store_t *s, st_reader_t *r)
{
    if (!r)
        return;
    /* a reader's scratch arena may have grown for a big page: keep it, it
     * is reused; the pool holds at most as many readers as ran at once */
    if (r->scratch.used > (16u << 20)) {
        stitch_wire_batch_free(&r->scratch);
        stitch_wire_batch_init(&r->scratch, 0);
    } else {
        stitch_wire_batch_reset(&r->scratch);
    }
    if (r->zbuf.cap > (8u << 20))
        stitch_buf_free(&r->zbuf);
    pthread_mutex_lock(&s->r_mu);
    r->next = s->readers;
    s->readers = r;
    pthread_mutex_unlock(&s->r_mu);
}

/* ---- open / close -------------------------------------------------------------------- */

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS head(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " nspans INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS block(id INTEGER PRIMARY KEY, min_start INTEGER NOT NULL,"
    " max_end INTEGER NOT NULL, nspans INTEGER NOT NULL, bytes INTEGER NOT NULL, summary BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS page(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS name(type INTEGER NOT NULL, service TEXT NOT NULL, name TEXT NOT NULL,"
    " kind INTEGER NOT NULL, PRIMARY KEY(type, service, name, kind)) WITHOUT ROWID;";

static int load(stitch_store_t *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->wdb, "SELECT id, summary FROM block ORDER BY id", -1, &st, NULL);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        uint8_t *blob = malloc(len ? len : 1);
        if (!blob) {
            sqlite3_finalize(st);
            return STITCH_ENOMEM;
        }
        memcpy(blob, sqlite3_column_blob(st, 1), len);
        st_block_t *b;
        int e = st_block_parse(&b, sqlite3_column_int64(st, 0), blob, len);
        if (e) {
            free(blob);
            snprintf(err, errlen, "%s: block %lld has a bad summary", s->path, (long long)sqlite3_column_int64(st, 0));
            sqlite3_finalize(st);
            return e;
        }
        if (blocks_push(s, b)) {
            st_block_unref(b);
            sqlite3_finalize(st);
            return STITCH_ENOMEM;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto sqlerr;
    /* the head: decode each leftover row once, into its in-memory copy */
    rc = sqlite3_prepare_v2(s->wdb, "SELECT seq, time, data FROM head ORDER BY seq", -1, &st, NULL);
    stitch_buf_t tmp = STITCH_BUF_INIT(0);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        st_headrow_t row = {0};
        row.mem = st_hmem_new();
        int e = row.mem ? st_decode_page(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &tmp,
                                         &row.mem->b)
                        : STITCH_ENOMEM;
        if (e && e != STITCH_ENOMEM) {
            fprintf(stderr, "stitch store: head row %lld does not decode (%s); its spans are dropped\n",
                    (long long)sqlite3_column_int64(st, 0), stitch_strerror(e));
            stitch_wire_batch_reset(&row.mem->b);
            e = 0;
        }
        const stitch_wire_batch_t *b = row.mem ? &row.mem->b : NULL;
        const stitch_span_data_t **ptrs = e ? NULL : malloc((b->nspans ? b->nspans : 1) * sizeof *ptrs);
        if (!ptrs) {
            st_hmem_unref(row.mem);
            stitch_buf_free(&tmp);
            sqlite3_finalize(st);
            return STITCH_ENOMEM;
        }
        for (size_t i = 0; i < b->nspans; i++)
            ptrs[i] = &b->spans[i];
        e = st_head_meta(ptrs, b->nspans, &row);
        free(ptrs);
        row.seq = sqlite3_column_int64(st, 0);
        row.added_ns = (uint64_t)sqlite3_column_int64(st, 1);
        if (e || head_push(s, &row)) {
            free(row.tidh);
            st_hmem_unref(row.mem);
            stitch_buf_free(&tmp);
            sqlite3_finalize(st);
            return STITCH_ENOMEM;
        }
    }
    stitch_buf_free(&tmp);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto sqlerr;
    rc = sqlite3_prepare_v2(s->wdb, "SELECT type, service, name, kind FROM name", -1, &st, NULL);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *svc = (const char *)sqlite3_column_text(st, 1), *name = (const char *)sqlite3_column_text(st, 2);
        if (st_names_add(&s->names, sqlite3_column_int(st, 0), svc ? svc : "", svc ? strlen(svc) : 0,
                         name ? name : "", name ? strlen(name) : 0, sqlite3_column_int(st, 3))) {
            sqlite3_finalize(st);
            return STITCH_ENOMEM;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto sqlerr;
    return 0;
sqlerr:
    snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->wdb));
    return map_sqlite(rc) ? map_sqlite(rc) : STITCH_EIO;
}

int st_emb_open(stitch_store_t **out, const stitch_store_opts_t *opts, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!out || !opts || !opts->dir || !*opts->dir) {
        snprintf(err, errlen, "no data directory");
        return STITCH_EINVAL;
    }
    *out = NULL;
    if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", opts->dir, strerror(errno));
        return STITCH_EIO;
    }
    stitch_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return STITCH_ENOMEM;
    s->engine = &st_emb_engine;
    s->opts = *opts;
    if (!s->opts.min_free_bytes)
        s->opts.min_free_bytes = DEFAULT_MIN_FREE;
    if (!s->opts.max_queue_spans)
        s->opts.max_queue_spans = DEFAULT_MAX_QUEUE;
    size_t dl = strlen(opts->dir);
    s->dir = strdup(opts->dir);
    s->path = malloc(dl + 16);
    if (!s->dir || !s->path) {
        free(s->dir);
        free(s->path);
        free(s);
        return STITCH_ENOMEM;
    }
    snprintf(s->path, dl + 16, "%s/stitch.db", opts->dir);
    s->opts.dir = s->dir;
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->c_mu, NULL);
    pthread_mutex_init(&s->w_mu, NULL);
    pthread_cond_init(&s->c_cv, NULL);
    pthread_mutex_init(&s->head_mu, NULL);
    pthread_mutex_init(&s->names_mu, NULL);
    pthread_mutex_init(&s->r_mu, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* compaction must not starve behind a stream of queries */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->state_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    s->q_tail = &s->q_head;

    int rc = open_conn(s->path, &s->wdb, opts->sync_full, err, errlen);
    if (rc)
        goto fail;
    /* page_size and auto_vacuum only take effect on a new file */
    int ver = -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->wdb, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            ver = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (ver > ST_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: schema version %d is newer than this stitchd's (%d)", s->path, ver,
                 ST_SCHEMA_VERSION);
        rc = STITCH_EINVAL;
        goto fail;
    }
    if (ver == 0 && exec(s->wdb, "PRAGMA page_size=8192; PRAGMA auto_vacuum=INCREMENTAL;") != SQLITE_OK)
        goto sqlfail;
    sqlite3_stmt *jm;
    if (sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode=WAL", -1, &jm, NULL) != SQLITE_OK)
        goto sqlfail;
    bool wal = sqlite3_step(jm) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(jm, 0), "wal");
    sqlite3_finalize(jm);
    if (!wal) {
        snprintf(err, errlen, "%s: cannot use WAL mode", s->path);
        rc = STITCH_EIO;
        goto fail;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", ST_SCHEMA_VERSION);
    if (exec(s->wdb, "BEGIN IMMEDIATE") != SQLITE_OK || exec(s->wdb, SCHEMA) != SQLITE_OK ||
        exec(s->wdb, sql) != SQLITE_OK || exec(s->wdb, "COMMIT") != SQLITE_OK)
        goto sqlfail;
    rc = open_conn(s->path, &s->cdb, opts->sync_full, err, errlen);
    if (rc)
        goto fail;
    rc = load(s, err, errlen);
    if (rc)
        goto fail;
    check_space(s, true, false);
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the committer thread");
        rc = STITCH_ENOMEM;
        goto fail;
    }
    if (pthread_create(&s->compactor, NULL, compactor_main, s) != 0) {
        pthread_mutex_lock(&s->q_mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->q_cv);
        pthread_mutex_unlock(&s->q_mu);
        pthread_join(s->committer, NULL);
        snprintf(err, errlen, "cannot start the compactor thread");
        rc = STITCH_ENOMEM;
        goto fail;
    }
    s->threads_started = true;
    *out = s;
    return 0;
sqlfail:
    snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->wdb));
    rc = STITCH_EIO;
fail:
    st_emb_close(s);
    return rc;
}

void st_emb_close(stitch_store_t *s)
{
    if (!s)
        return;
    if (s->threads_started) {
        pthread_mutex_lock(&s->q_mu);
        s->stopping = true;
        s->paused = false;
        pthread_cond_broadcast(&s->q_cv);
        pthread_mutex_unlock(&s->q_mu);
        pthread_join(s->committer, NULL);
        pthread_mutex_lock(&s->c_mu);
        pthread_cond_broadcast(&s->c_cv);
        pthread_mutex_unlock(&s->c_mu);
        pthread_join(s->compactor, NULL);
    }
    while (s->readers) {
        st_reader_t *r = s->readers;
        s->readers = r->next;
        reader_free(r);
    }
    sqlite3_close(s->cdb);
    if (s->wdb)
        (void)exec(s->wdb, "PRAGMA optimize");
    sqlite3_close(s->wdb);
    for (size_t i = 0; i < s->nhead; i++) {
        free(s->head[i].tidh);
        st_hmem_unref(s->head[i].mem);
    }
    free(s->head);
    for (size_t i = 0; i < s->nblocks; i++)
        st_block_unref(s->blocks[i]);
    free(s->blocks);
    st_names_free(&s->names);
    pthread_rwlock_destroy(&s->state_lock);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->c_mu);
    pthread_mutex_destroy(&s->w_mu);
    pthread_cond_destroy(&s->c_cv);
    pthread_mutex_destroy(&s->head_mu);
    pthread_mutex_destroy(&s->names_mu);
    pthread_mutex_destroy(&s->r_mu);
    free(s->dir);
    free(s->path);
    free(s);
}

/* ---- stats ---------------------------------------------------------------------------- */

void st_emb_get_stats(stitch_store_t *s, stitch_store_stats_t *st)
{
    memset(st, 0, sizeof *st);
    if (!s)
        return;
    st->spans_appended = atomic_load(&s->st_appended);
    st->spans_duplicate = atomic_load(&s->st_dup);
    st->refused_busy = atomic_load(&s->st_busy);
    st->refused_nospace = atomic_load(&s->st_nospace);
    st->blocks_dropped = atomic_load(&s->st_dropped);
    pthread_mutex_lock(&s->q_mu);
    st->queue_spans = s->q_spans;
    pthread_mutex_unlock(&s->q_mu);
    pthread_rwlock_rdlock(&s->state_lock);
    pthread_mutex_lock(&s->head_mu);
    st->spans_stored = s->head_spans;
    pthread_mutex_unlock(&s->head_mu);
    for (size_t i = 0; i < s->nblocks; i++)
        st->spans_stored += s->blocks[i]->nspans;
    st->blocks = s->nblocks;
    pthread_rwlock_unlock(&s->state_lock);
    check_space(s, false, true);
    st->disk_bytes = atomic_load(&s->disk_bytes);
}

const st_engine_t st_emb_engine = {
    "embedded",        st_emb_open,         st_emb_close,           st_emb_append,
    st_emb_get_trace,  st_emb_search,       st_emb_services,        st_emb_operations,
    st_emb_remote_services, st_emb_dependencies, st_emb_get_stats, st_emb_enforce_retention,
};
