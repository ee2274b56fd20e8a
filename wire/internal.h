/* wire/internal.h — helpers shared by the encoders in wire/ (not by their
 * callers): grouping a batch by resource and scope, and a small streaming
 * JSON writer over stitch_buf_t. Every writer returns 0 or the buffer's
 * error (STITCH_ENOMEM, STITCH_ELIMIT); after an error the buffer holds a
 * partial document the caller must discard. */
#ifndef STITCH_WIRE_INTERNAL_H
#define STITCH_WIRE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/wire.h"

/* ---- grouping -------------------------------------------------------------- */

/* Spans of one (resource, scope) pair, contiguous in the batch's `spans`. */
typedef struct stitch_wire_group {
    const stitch_span_data_t *first; /* its resource and scope stand for the group */
    uint32_t res;                    /* resource ordinal: equal for groups of one resource */
    size_t start, count;             /* a range of stitch_wire_grouped_t.spans */
} stitch_wire_group_t;

/* A batch reordered so that each resource's spans are together, and inside
 * them each scope's spans; resources and scopes keep the order in which
 * they first appear, spans keep their order inside a group. Identity is
 * pointer identity (spans of one provider share their resource array, of
 * one tracer their scope). */
typedef struct stitch_wire_grouped {
    const stitch_span_data_t **spans;
    stitch_wire_group_t *groups;
    size_t ngroups;
    void *mem_; /* one allocation behind all of the above */
} stitch_wire_grouped_t;

/* 0 or STITCH_ENOMEM (then `b` needs no free). An empty batch is fine. */
int stitch_wire_group_spans(stitch_wire_grouped_t *b, const stitch_span_data_t *const *spans,
                            size_t n);
void stitch_wire_grouped_free(stitch_wire_grouped_t *b);

/* ---- JSON writer --------------------------------------------------------------- */

/* stitch_buf_reserve / stitch_buf_append with the no-growth case inlined:
 * the JSON encoders append many short pieces. (cap never exceeds max, so
 * the fast path cannot pass the buffer's maximum.) */
static inline int stitch_wire_reserve(stitch_buf_t *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : stitch_buf_reserve(b, n);
}
static inline int stitch_wire_put(stitch_buf_t *b, const char *s, size_t n)
{
    if (b->cap - b->len >= n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return 0;
    }
    return stitch_buf_append(b, s, n);
}
#define STITCH_WIRE_LIT(b, lit) stitch_wire_put((b), (lit), sizeof(lit) - 1)

/* A JSON string literal: quotes, backslash and control characters escaped;
 * each byte that is not part of valid UTF-8 becomes U+FFFD, so the output
 * is always valid JSON whatever the input bytes. */
int stitch_wire_json_str(stitch_buf_t *b, const char *s, size_t len);
/* The length of the valid UTF-8 prefix of s[0..len) (len when all of it is). */
size_t stitch_wire_utf8_valid_len(const char *s, size_t len);
/* s[0..len) appended to b with each byte that is not part of valid UTF-8
 * replaced by U+FFFD, as stitch_wire_json_str does (no escaping). */
int stitch_wire_utf8_fix(stitch_buf_t *b, const char *s, size_t len);
/* Decimal integers, no quotes. */
int stitch_wire_u64(stitch_buf_t *b, uint64_t v);
int stitch_wire_i64(stitch_buf_t *b, int64_t v);
/* The shortest of %.15g/%.17g that reads back as the same double. Finite
 * values only: the caller decides how NaN and infinities are spelled. */
int stitch_wire_double(stitch_buf_t *b, double d);
/* Lower-case hex of n bytes, no quotes. */
int stitch_wire_hex(stitch_buf_t *b, const uint8_t *p, size_t n);
/* A value as plain JSON: strings quoted, numbers and booleans bare, arrays
 * as lists; NaN / Infinity / -Infinity as strings (JSON has no literal for
 * them). Used by Zipkin tags and annotations. */
int stitch_wire_json_plain_value(stitch_buf_t *b, const stitch_value_t *v);

#endif
