/* wire/json_write.c — the streaming JSON writer behind the OTLP/JSON and
 * Zipkin encoders. Written by hand rather than with a DOM library such as
 * jansson: a DOM would allocate a node per field of every span only to
 * serialise and free the tree again, while the encoders know the document's
 * shape and can append it straight into the output buffer.
 * Invariant: whatever bytes a caller passes, the text produced is valid
 * JSON (escaped, UTF-8 validated, no NaN or infinity literals). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/internal.h"

static const char hexd[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

int stitch_wire_json_str(stitch_buf_t *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    /* Room for the common case (nothing to escape); more is reserved only
     * when an escape appears, so a buffer near its maximum is not refused
     * for a worst case that does not happen. */
    int rc = stitch_wire_reserve(b, len + 2);
    if (rc)
        return rc;
    uint8_t *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (uint8_t)c;
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? utf8_seq(s + i, len - i) : 0;
        if (seq) {
            memcpy(o, s + i, seq);
            o += seq;
            i += seq;
            continue;
        }
        /* An escape: up to 6 bytes for this one, plus the rest and the quote. */
        b->len = (size_t)(o - b->data);
        if ((rc = stitch_buf_reserve(b, 6 + (len - i - 1) + 1)))
            return rc;
        o = b->data + b->len;
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        case '\b': *o++ = '\\'; *o++ = 'b'; break;
        case '\f': *o++ = '\\'; *o++ = 'f'; break;
        default:
            if (c < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = (uint8_t)hexd[c >> 4];
                o[5] = (uint8_t)hexd[c & 15];
                o += 6;
            } else { /* a byte that does not start valid UTF-8: U+FFFD */
                *o++ = 0xEF; *o++ = 0xBF; *o++ = 0xBD;
            }
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

size_t stitch_wire_utf8_valid_len(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t seq = utf8_seq(s + i, len - i);
        if (!seq)
            return i;
        i += seq;
    }
    return len;
}

int stitch_wire_utf8_fix(stitch_buf_t *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        size_t ok = stitch_wire_utf8_valid_len((const char *)s + i, len - i);
        int rc = stitch_buf_append(b, s + i, ok);
        if (rc)
            return rc;
        i += ok;
        if (i < len) { /* a byte that does not start valid UTF-8: U+FFFD */
            if ((rc = stitch_buf_append(b, "\xEF\xBF\xBD", 3)))
                return rc;
            i++;
        }
    }
    return 0;
}

int stitch_wire_u64(stitch_buf_t *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return stitch_wire_put(b, tmp + sizeof tmp - n, n);
}

int stitch_wire_i64(stitch_buf_t *b, int64_t v)
{
    if (v >= 0)
        return stitch_wire_u64(b, (uint64_t)v);
    int rc = STITCH_WIRE_LIT(b, "-");
    return rc ? rc : stitch_wire_u64(b, (uint64_t)0 - (uint64_t)v);
}

int stitch_wire_double(stitch_buf_t *b, double d)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.15g", d);
    if (n > 0 && (size_t)n < sizeof tmp && strtod(tmp, NULL) != d)
        n = snprintf(tmp, sizeof tmp, "%.17g", d);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return STITCH_EINVAL; /* cannot happen for a finite double */
    return stitch_buf_append(b, tmp, (size_t)n);
}

int stitch_wire_hex(stitch_buf_t *b, const uint8_t *p, size_t n)
{
    int rc = stitch_wire_reserve(b, 2 * n);
    if (rc)
        return rc;
    uint8_t *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        *o++ = (uint8_t)hexd[p[i] >> 4];
        *o++ = (uint8_t)hexd[p[i] & 15];
    }
    b->len += 2 * n;
    return 0;
}

static int plain_double(stitch_buf_t *b, double d)
{
    if (isnan(d))
        return STITCH_WIRE_LIT(b, "\"NaN\"");
    if (isinf(d))
        return d > 0 ? STITCH_WIRE_LIT(b, "\"Infinity\"") : STITCH_WIRE_LIT(b, "\"-Infinity\"");
    return stitch_wire_double(b, d);
}

int stitch_wire_json_plain_value(stitch_buf_t *b, const stitch_value_t *v)
{
    int rc = 0;
    switch (v->type) {
    case STITCH_VALUE_STRING:
        return stitch_wire_json_str(b, v->u.str, v->len);
    case STITCH_VALUE_BOOL:
        return v->u.b ? STITCH_WIRE_LIT(b, "true") : STITCH_WIRE_LIT(b, "false");
    case STITCH_VALUE_INT:
        return stitch_wire_i64(b, v->u.i);
    case STITCH_VALUE_DOUBLE:
        return plain_double(b, v->u.d);
    case STITCH_VALUE_STRING_ARRAY:
    case STITCH_VALUE_BOOL_ARRAY:
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY:
        if ((rc = STITCH_WIRE_LIT(b, "[")))
            return rc;
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            if (i && (rc = STITCH_WIRE_LIT(b, ",")))
                break;
            switch (v->type) {
            case STITCH_VALUE_STRING_ARRAY:
                rc = stitch_wire_json_str(b, v->u.strs[i].ptr, v->u.strs[i].len);
                break;
            case STITCH_VALUE_BOOL_ARRAY:
                rc = v->u.bools[i] ? STITCH_WIRE_LIT(b, "true") : STITCH_WIRE_LIT(b, "false");
                break;
            case STITCH_VALUE_INT_ARRAY:
                rc = stitch_wire_i64(b, v->u.ints[i]);
                break;
            default:
                rc = plain_double(b, v->u.doubles[i]);
            }
        }
        return rc ? rc : STITCH_WIRE_LIT(b, "]");
    default:
        return STITCH_WIRE_LIT(b, "null");
    }
}
