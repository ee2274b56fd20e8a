/* daemon/forward_spool.c — a forwarder's buffer on disk (--forward-spool
 * DIR), so that what an agent acknowledged survives kill -9, a crash or a
 * power cut, and is sent after the restart.
 *
 * Layout: DIR/<16 hex digits: a hash of the upstream URL>/<16 hex digits:
 * sequence number>.chunk, one file per batch in sending order. A file is a
 * run of records
 *
 *     offset 0   u32 little-endian  spans in the record
 *     offset 4   u32 little-endian  n, bytes of the record's body
 *     offset 8   n bytes            an ExportTraceServiceRequest (protobuf)
 *
 * Invariants: a push returns only after its record is written and
 * fdatasync'ed (and a new file's directory entry fsync'ed), so an
 * acknowledged span is on disk; a file is deleted only after the upstream
 * acknowledged it (or refused it for good); a record cut short by a crash
 * was never acknowledged and is ignored at load. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/forward_internal.h"

static int mkdir_p(const char *path)
{
    char tmp[4300];
    int k = snprintf(tmp, sizeof tmp, "%s", path);
    if (k < 0 || (size_t)k >= sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0700) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int spool_open(forwarder_t *f, const char *root, uint64_t url_hash, char *err, size_t errlen)
{
    int k = snprintf(f->spool, sizeof f->spool, "%s/%016" PRIx64, root, url_hash);
    if (k < 0 || (size_t)k >= sizeof f->spool) {
        snprintf(err, errlen, "--forward-spool: path too long");
        return -1;
    }
    if (mkdir_p(f->spool)) {
        snprintf(err, errlen, "--forward-spool %s: %s", f->spool, strerror(errno));
        return -1;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every chunk file, oldest first, into the queue (sealed: new pushes
 * go to new files). Returns the spans loaded, or -1. */
long spool_load(forwarder_t *f, char *err, size_t errlen)
{
    DIR *d = opendir(f->spool);
    if (!d) {
        snprintf(err, errlen, "--forward-spool %s: %s", f->spool, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l != 16 + 6 || strcmp(e->d_name + 16, ".chunk"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n) /* fixed-width hex: name order is sequence order */
        qsort(names, n, sizeof *names, by_name);
    long spans = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", f->spool, names[i]);
        uint64_t seq = strtoull(names[i], NULL, 16);
        if (seq >= f->next_seq)
            f->next_seq = seq + 1;
        FILE *fp = fopen(path, "rb");
        chunk_t *c = fp ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            if (fp)
                fclose(fp);
            continue;
        }
        c->buf = (stitch_buf_t)STITCH_BUF_INIT(0);
        c->seq = seq;
        c->fd = -1;
        c->sealed = true;
        for (;;) {
            uint8_t h[8];
            if (fread(h, 1, 8, fp) != 8)
                break;
            uint32_t ns = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
            uint32_t len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
            if (stitch_buf_reserve(&c->buf, len))
                break;
            if (fread(c->buf.data + c->buf.len, 1, len, fp) != len)
                break; /* cut short by a crash: never acknowledged */
            c->buf.len += len;
            c->nspans += ns;
        }
        fclose(fp);
        if (!c->nspans) {
            stitch_buf_free(&c->buf);
            free(c);
            unlink(path);
            continue;
        }
        c->first_ns = 0; /* due at once */
        if (f->tail)
            f->tail->next = c;
        else
            f->head = c;
        f->tail = c;
        f->bytes += c->buf.len;
        f->spans += c->nspans;
        spans += (long)c->nspans;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    (void)err;
    (void)errlen;
    return spans;
}

static void chunk_path(const forwarder_t *f, uint64_t seq, char *out, size_t n)
{
    snprintf(out, n, "%s/%016" PRIx64 ".chunk", f->spool, seq);
}

/* Open a new chunk's file (under f->mu). 0 or -1. */
int spool_create(forwarder_t *f, chunk_t *c)
{
    char path[4400];
    c->seq = f->next_seq++;
    chunk_path(f, c->seq, path, sizeof path);
    c->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (c->fd < 0)
        return -1;
    if (fsync_dir(f->spool)) {
        close(c->fd);
        c->fd = -1;
        unlink(path);
        return -1;
    }
    return 0;
}

/* Append one record durably (under f->mu). 0 or -1 (the file is then cut
 * back to its previous length, so a failed push leaves nothing behind). */
int spool_append(forwarder_t *f, chunk_t *c, const uint8_t *p, size_t len, size_t nspans)
{
    (void)f;
    uint8_t h[8];
    uint32_t ns = (uint32_t)nspans, l = (uint32_t)len;
    for (int i = 0; i < 4; i++) {
        h[i] = (uint8_t)(ns >> (8 * i));
        h[4 + i] = (uint8_t)(l >> (8 * i));
    }
    off_t before = lseek(c->fd, 0, SEEK_END);
    const uint8_t *parts[2] = {h, p};
    size_t lens[2] = {8, len};
    for (int k = 0; k < 2; k++) {
        size_t off = 0;
        while (off < lens[k]) {
            ssize_t w = write(c->fd, parts[k] + off, lens[k] - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                goto fail;
            off += (size_t)w;
        }
    }
    if (fdatasync(c->fd))
        goto fail;
    return 0;
fail:
    if (before >= 0 && ftruncate(c->fd, before)) {
        /* nothing more to do: load ignores a cut record */
    }
    return -1;
}

/* The chunk leaves the queue for good (sent, or refused for good). */
void spool_remove(forwarder_t *f, chunk_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    char path[4400];
    chunk_path(f, c->seq, path, sizeof path);
    unlink(path);
}

void spool_seal(chunk_t *c)
{
    c->sealed = true;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}
