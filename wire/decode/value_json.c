/* wire/decode/value_json.c — AnyValues the record has no type for (kvlist,
 * bytes, mixed or nested arrays) rendered as a STRING value holding JSON
 * text, shared by both OTLP protobuf decoders so they render byte for byte
 * alike. The caller builds the jansson tree its own way; this file does the
 * base64 and the dump.
 * Invariant: jansson's memory is transient (malloc'd and freed here); only
 * the dumped text goes to the arena. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode/internal.h"
#include "wire/internal.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t stitch_wire_b64(char *o, const uint8_t *p, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        o[j++] = B64[v >> 18 & 63];
        o[j++] = B64[v >> 12 & 63];
        o[j++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        o[j++] = i + 2 < n ? B64[v & 63] : '=';
    }
    return j;
}

json_t *stitch_wire_b64_json(const uint8_t *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    if (!o)
        return NULL;
    json_t *s = json_stringn_nocheck(o, stitch_wire_b64(o, p, n));
    free(o);
    return s;
}

/* Strings in a value tree: protobuf does not check that string fields are
 * UTF-8, and jansson cannot dump one that is not, so invalid bytes become
 * U+FFFD here (as everywhere stitch writes JSON) rather than failing the
 * request. */
json_t *stitch_wire_text_json(const char *p, size_t n)
{
    if (stitch_wire_utf8_valid_len(p, n) == n)
        return json_stringn_nocheck(p, n);
    stitch_buf_t b = STITCH_BUF_INIT(0);
    json_t *s = stitch_wire_utf8_fix(&b, p, n) ? NULL : json_stringn_nocheck((const char *)b.data, b.len);
    stitch_buf_free(&b);
    return s;
}

int stitch_wire_json_set(json_t *o, const char *key, json_t *v)
{
    size_t n = strlen(key);
    if (stitch_wire_utf8_valid_len(key, n) == n)
        return json_object_set_new_nocheck(o, key, v);
    stitch_buf_t b = STITCH_BUF_INIT(0);
    int rc;
    if (stitch_wire_utf8_fix(&b, key, n) || stitch_buf_append(&b, "", 1)) {
        json_decref(v); /* jansson's set_new consumes v on every path: so do we */
        rc = -1;
    } else {
        rc = json_object_set_new_nocheck(o, (const char *)b.data, v);
    }
    stitch_buf_free(&b);
    return rc;
}

int stitch_wire_json_value(stitch_wire_batch_t *b, json_t *j, bool bytes, stitch_value_t *out)
{
    /* strings and keys went in as valid UTF-8 (stitch_wire_text_json,
     * stitch_wire_json_set), so a failed dump is out of memory */
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!s)
        return STITCH_ENOMEM;
    size_t n = strlen(s);
    /* bytes are their base64 text itself, not a quoted JSON string */
    const char *p = s;
    if (bytes && n >= 2) {
        p++;
        n -= 2;
    }
    char *d = stitch_wire_dup(b, p, n);
    free(s);
    if (!d)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    out->type = STITCH_VALUE_STRING;
    out->len = (uint32_t)n;
    out->u.str = d;
    return 0;
}
