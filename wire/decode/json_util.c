/* wire/decode/json_util.c — see json_util.h. jansson does the parsing
 * (the project's rule: a library unless a benchmark shows it is the
 * bottleneck); what jansson cannot bound for us — nesting depth, which it
 * allows to 2048 — is checked here in one pass over the bytes first. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode/json_util.h"

static size_t depth_violation(const uint8_t *p, size_t n)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > STITCH_WIRE_JSON_MAX_DEPTH)
                return i;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return SIZE_MAX;
}

int stitch_wire_json_load(stitch_wire_batch_t *b, const uint8_t *p, size_t n, json_t **root,
                          stitch_wire_error_t *err)
{
    *root = NULL;
    /* jansson's DOM is transient but takes several times the input: bound
     * it by the same figure as the arena */
    if (b->max && n > b->max)
        return stitch_wire_fail(err, STITCH_ELIMIT, SIZE_MAX,
                                "JSON body of %zu bytes exceeds the decode limit of %zu", n, b->max);
    size_t at = depth_violation(p, n);
    if (at != SIZE_MAX)
        return stitch_wire_fail(err, STITCH_EPARSE, at, "JSON nested deeper than %d at byte %zu",
                                STITCH_WIRE_JSON_MAX_DEPTH, at);
    json_error_t je;
    /* JSON_ALLOW_NUL: our encoders write embedded NULs as \u0000, and
     * lengths are kept; JSON_DECODE_ANY stays off (a document is an object
     * or a list). jansson rejects invalid UTF-8 itself. */
    json_t *r = json_loadb((const char *)p, n, JSON_ALLOW_NUL, &je);
    if (!r)
        return stitch_wire_fail(err, STITCH_EPARSE, (size_t)je.position,
                                "invalid JSON at byte %d (line %d): %s", je.position, je.line, je.text);
    *root = r;
    return 0;
}

json_t *stitch_wire_json_get(const json_t *o, const char *camel, const char *snake)
{
    json_t *v = json_object_get(o, camel);
    if (!v && snake)
        v = json_object_get(o, snake);
    return v && !json_is_null(v) ? v : NULL;
}

static int digits(const char *s, size_t n, bool neg_ok, bool *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = false;
    if (neg_ok && n && s[0] == '-') {
        *neg = true;
        i = 1;
    }
    if (i == n || n - i > 20)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

int stitch_wire_json_u64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return -1;
        *out = (uint64_t)i;
        return 0;
    }
    bool neg;
    if (json_is_string(v) && !digits(json_string_value(v), json_string_length(v), false, &neg, out))
        return 0;
    return -1;
}

int stitch_wire_json_i64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    bool neg;
    uint64_t m;
    if (!json_is_string(v) || digits(json_string_value(v), json_string_length(v), true, &neg, &m))
        return -1;
    if (neg ? m > (uint64_t)INT64_MAX + 1 : m > INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 0;
}

int stitch_wire_json_double(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!strcmp(s, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(s, "Infinity")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(s, "-Infinity")) {
        *out = -INFINITY;
        return 0;
    }
    if (!n || strlen(s) != n)
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno == ERANGE || isnan(d) || isinf(d))
        return -1;
    *out = d;
    return 0;
}
