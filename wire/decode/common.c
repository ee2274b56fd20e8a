/* wire/decode/common.c — error reporting and the validity checks shared by
 * the decoders. Invariant: err->msg always holds a NUL-terminated string;
 * the first rejected span's reason is never overwritten by later ones. */
#include <stdio.h>
#include <string.h>

#include "wire/decode/internal.h"

int stitch_wire_fail(stitch_wire_error_t *err, int code, size_t offset, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    /* a cut message is fine: it is documented as possibly cut */
    (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int stitch_wire_oom(stitch_wire_batch_t *b, stitch_wire_error_t *err)
{
    if (b->limit_hit)
        return stitch_wire_fail(err, STITCH_ELIMIT, SIZE_MAX,
                                "request needs more than %zu bytes of decode memory", b->max);
    return stitch_wire_fail(err, STITCH_ENOMEM, SIZE_MAX, "out of memory");
}

void stitch_wire_reject(stitch_wire_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    if (err->rejected++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
}

void stitch_wire_begin(stitch_wire_error_t *err)
{
    if (err) {
        err->code = 0;
        err->rejected = 0;
        err->offset = SIZE_MAX;
        err->msg[0] = 0;
    }
}

int stitch_wire_end(stitch_wire_batch_t *b, size_t nspans0, int rc, stitch_wire_error_t *err)
{
    if (rc < 0) {
        b->nspans = nspans0;
        if (err) {
            err->code = rc;
            err->rejected = 0;
        }
        return rc;
    }
    return err ? (int)(err->rejected > INT32_MAX ? INT32_MAX : err->rejected) : 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

const char *stitch_wire_check_span(const stitch_span_data_t *d)
{
    if (all_zero(d->ctx.trace_id, 16))
        return "traceId: all zero";
    if (all_zero(d->ctx.span_id, 8))
        return "spanId: all zero";
    if ((unsigned)d->kind < STITCH_SPAN_KIND_INTERNAL || (unsigned)d->kind > STITCH_SPAN_KIND_CONSUMER)
        return "kind: out of range";
    if ((unsigned)d->status > STITCH_STATUS_ERROR)
        return "status.code: out of range";
    if (d->end_ns < d->start_ns)
        return "endTimeUnixNano: before startTimeUnixNano";
    for (uint32_t i = 0; i < d->nlinks; i++)
        if (all_zero(d->links[i].ctx.trace_id, 16) || all_zero(d->links[i].ctx.span_id, 8))
            return "links: all-zero id";
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int stitch_wire_unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}
