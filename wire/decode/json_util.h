/* wire/decode/json_util.h — jansson helpers shared by the two JSON decoders:
 * a nesting-depth guard run before parsing, the parse itself with a
 * 400-ready message, and lenient number readers.
 * Invariant: the readers never accept a value partially — a string is a
 * number only if every byte of it is part of the number. */
#ifndef STITCH_WIRE_DECODE_JSON_UTIL_H
#define STITCH_WIRE_DECODE_JSON_UTIL_H

#include <jansson.h>

#include "wire/decode/internal.h"

/* Guard (size, depth) and parse. 0 with *root set (decref it), or the error
 * code with `err` filled. */
int stitch_wire_json_load(stitch_wire_batch_t *b, const uint8_t *p, size_t n, json_t **root,
                          stitch_wire_error_t *err);
/* o[camel] or o[snake] (protobuf's JSON mapping accepts both); JSON null
 * counts as absent; `o` NULL or not an object: NULL. */
json_t *stitch_wire_json_get(const json_t *o, const char *camel, const char *snake);
/* Integers as JSON numbers or decimal strings; 0 or -1 (wrong type,
 * not a number, out of range). */
int stitch_wire_json_u64(const json_t *v, uint64_t *out);
int stitch_wire_json_i64(const json_t *v, int64_t *out);
/* A JSON number, or "NaN", "Infinity", "-Infinity", or a numeric string. */
int stitch_wire_json_double(const json_t *v, double *out);
/* The arena copy of a JSON string; NULL if out of room. */
static inline char *stitch_wire_json_dup(stitch_wire_batch_t *b, const json_t *s)
{
    return stitch_wire_dup(b, json_string_value(s), json_string_length(s));
}

#endif
