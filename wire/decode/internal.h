/* wire/decode/internal.h — what the three decoders share: arena helpers,
 * error messages, the span array, and the checks that make a span invalid.
 * Invariant: nothing here allocates outside the batch's arena, except the
 * tracestate objects, which are registered with the batch for release. */
#ifndef STITCH_WIRE_DECODE_INTERNAL_H
#define STITCH_WIRE_DECODE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "stitch/propagation.h"
#include "wire/decode.h"

/* Deepest JSON nesting accepted (OTLP needs ~12 plus nested AnyValues). */
#define STITCH_WIRE_JSON_MAX_DEPTH 64

/* The arena's chunks (arena.c); here so the hot path can bump inline. */
#define STITCH_WIRE_ALIGN 16
struct stitch_wire_chunk {
    struct stitch_wire_chunk *next;
    size_t size, pos;
    _Alignas(STITCH_WIRE_ALIGN) unsigned char data[];
};

/* stitch_wire_batch_alloc with the common case (room in the current chunk,
 * under the maximum) inline. */
static inline void *stitch_wire_alloc_inline(stitch_wire_batch_t *b, size_t n)
{
    size_t a = (n + STITCH_WIRE_ALIGN - 1) & ~(size_t)(STITCH_WIRE_ALIGN - 1);
    struct stitch_wire_chunk *c = b->cur;
    if (a && n <= SIZE_MAX / 2 && c && c->size - c->pos >= a && (!b->max || (a <= b->max && b->used <= b->max - a))) {
        void *p = c->data + c->pos;
        c->pos += a;
        b->used += a;
        return p;
    }
    return stitch_wire_batch_alloc(b, n);
}

/* A NUL-terminated copy of s[0..n) in the arena; NULL when out of room. */
char *stitch_wire_dup(stitch_wire_batch_t *b, const char *s, size_t n);
/* An arena array of n zeroed elements (a valid pointer even for n == 0). */
void *stitch_wire_calloc(stitch_wire_batch_t *b, size_t n, size_t size);

/* Fill `err` (code, offset, printf-style message; cut to fit). Returns code. */
int stitch_wire_fail(stitch_wire_error_t *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The code for an allocation that returned NULL: ELIMIT or ENOMEM (filled). */
int stitch_wire_oom(stitch_wire_batch_t *b, stitch_wire_error_t *err);

/* Parse a tracestate for a record: NULL when empty or invalid (W3C: drop an
 * invalid tracestate); the reference is released with the batch. 0 or
 * STITCH_ELIMIT / STITCH_ENOMEM. */
int stitch_wire_tracestate(stitch_wire_batch_t *b, const char *s, size_t n,
                           const stitch_tracestate_t **out);

/* Make room for n more spans in b->spans (copies into a larger arena array). */
int stitch_wire_reserve_spans(stitch_wire_batch_t *b, size_t n);

/* The value checks every decoder applies to a built span: NULL when the
 * span is valid, else a static reason ("traceId: all zero", ...). */
const char *stitch_wire_check_span(const stitch_span_data_t *d);

/* Count a rejected span; the first one's reason goes to err->msg. */
void stitch_wire_reject(stitch_wire_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Start / finish one decode call: errors reset, and on failure the spans
 * this call appended are dropped. */
void stitch_wire_begin(stitch_wire_error_t *err);
int stitch_wire_end(stitch_wire_batch_t *b, size_t nspans0, int rc, stitch_wire_error_t *err);

/* Hex of exactly 2*n characters (either case) into out[n]; 0 or -1. */
int stitch_wire_unhex(const char *s, size_t len, uint8_t *out, size_t n);

/* ---- AnyValues without a record type, as JSON text (value_json.c) ---- */

struct json_t;
/* Base64 of p[0..n) into o (room for 4 * ((n + 2) / 3) bytes); its length. */
size_t stitch_wire_b64(char *o, const uint8_t *p, size_t n);
/* A jansson string holding the base64 of p[0..n); NULL when out of memory. */
struct json_t *stitch_wire_b64_json(const uint8_t *p, size_t n);
/* A jansson string of p[0..n), invalid UTF-8 bytes replaced by U+FFFD;
 * NULL when out of memory. */
struct json_t *stitch_wire_text_json(const char *p, size_t n);
/* json_object_set_new_nocheck with the key's invalid UTF-8 bytes replaced
 * by U+FFFD; consumes v. */
int stitch_wire_json_set(struct json_t *o, const char *key, struct json_t *v);
/* Dump `j` (its reference is consumed; NULL is out of memory) as compact
 * JSON into the arena and make *out a STRING of it; `bytes`: without the
 * quotes of a JSON string. 0, STITCH_ELIMIT, or STITCH_ENOMEM. */
int stitch_wire_json_value(stitch_wire_batch_t *b, struct json_t *j, bool bytes, stitch_value_t *out);

#endif
