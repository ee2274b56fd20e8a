/* wire/otlp_response.c — read the partial-success part of an OTLP/HTTP
 * ExportTraceServiceResponse, in protobuf or JSON.
 *
 * By hand, not with protobuf-c or jansson: libstitch links neither (the
 * SDK's encoders do not need them), and the message has two fields in one
 * submessage. The readers only skip what they do not know, with every read
 * bounds-checked and JSON nesting capped, so any body a server sends is
 * either understood or STITCH_EPARSE — never a read past `n`.
 * Invariant: on STITCH_EPARSE *rejected is 0 and msg is "". */
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* ---- protobuf ---------------------------------------------------------------- */

static int rd_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pp >= end)
            return -1;
        uint8_t c = *(*pp)++;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Skip a field's value of wire type `wt`; -1 when malformed. */
static int pb_skip(const uint8_t **pp, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0: return rd_varint(pp, end, &v);
    case 1: if (end - *pp < 8) return -1; *pp += 8; return 0;
    case 5: if (end - *pp < 4) return -1; *pp += 4; return 0;
    case 2:
        if (rd_varint(pp, end, &v) || v > (uint64_t)(end - *pp))
            return -1;
        *pp += v;
        return 0;
    default: return -1; /* groups are not in proto3 */
    }
}

static void copy_msg(char *msg, size_t msglen, const char *s, size_t n)
{
    if (!msg || !msglen)
        return;
    if (n >= msglen)
        n = msglen - 1;
    memcpy(msg, s, n);
    msg[n] = 0;
}

static int pb_decode(const uint8_t *p, const uint8_t *end, int64_t *rejected, char *msg,
                     size_t msglen)
{
    while (p < end) {
        uint64_t key;
        if (rd_varint(&p, end, &key))
            return -1;
        unsigned wt = (unsigned)(key & 7);
        if ((key >> 3) != 1 || wt != 2) { /* not partial_success */
            if (pb_skip(&p, end, wt))
                return -1;
            continue;
        }
        uint64_t len;
        if (rd_varint(&p, end, &len) || len > (uint64_t)(end - p))
            return -1;
        const uint8_t *q = p, *qe = p + len;
        p = qe;
        while (q < qe) {
            uint64_t k2, v;
            if (rd_varint(&q, qe, &k2))
                return -1;
            if (k2 == ((1 << 3) | 0)) { /* rejected_spans, int64 */
                if (rd_varint(&q, qe, &v))
                    return -1;
                *rejected = (int64_t)v;
            } else if (k2 == ((2 << 3) | 2)) { /* error_message */
                if (rd_varint(&q, qe, &v) || v > (uint64_t)(qe - q))
                    return -1;
                copy_msg(msg, msglen, (const char *)q, (size_t)v);
                q += v;
            } else if (pb_skip(&q, qe, (unsigned)(k2 & 7))) {
                return -1;
            }
        }
    }
    return 0;
}

/* ---- JSON ----------------------------------------------------------------------- */

struct jr {
    const char *p, *end;
    int depth;
};

enum { MAX_DEPTH = 64 };

static void ws(struct jr *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int lit(struct jr *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
        return -1;
    j->p += n;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at j->p (on its opening quote). When `out` is given, its
 * unescaped UTF-8 is stored there, cut to outlen - 1 bytes, NUL-terminated;
 * *outn gets the stored length. */
static int jstring(struct jr *j, char *out, size_t outlen, size_t *outn)
{
    size_t o = 0;
    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        char tmp[4];
        size_t tn = 1;
        tmp[0] = (char)c;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (j->p >= j->end)
                return -1;
            char e = *j->p++;
            switch (e) {
            case '"': case '\\': case '/': tmp[0] = e; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                if (j->end - j->p < 4)
                    return -1;
                unsigned cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(j->p[i]);
                    if (h < 0)
                        return -1;
                    cp = cp << 4 | (unsigned)h;
                }
                j->p += 4;
                /* a surrogate pair is kept only when complete */
                if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                    unsigned lo = 0;
                    int ok = 1;
                    for (int i = 0; i < 4; i++) {
                        int h = hexval(j->p[2 + i]);
                        if (h < 0)
                            ok = 0;
                        lo = lo << 4 | (unsigned)(h < 0 ? 0 : h);
                    }
                    if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
                        j->p += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                }
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD;
                if (cp < 0x80) {
                    tmp[0] = (char)cp;
                } else if (cp < 0x800) {
                    tmp[0] = (char)(0xC0 | cp >> 6); tmp[1] = (char)(0x80 | (cp & 0x3F)); tn = 2;
                } else if (cp < 0x10000) {
                    tmp[0] = (char)(0xE0 | cp >> 12); tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    tmp[2] = (char)(0x80 | (cp & 0x3F)); tn = 3;
                } else {
                    tmp[0] = (char)(0xF0 | cp >> 18); tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[3] = (char)(0x80 | (cp & 0x3F)); tn = 4;
                }
                break;
            }
            default:
                return -1;
            }
        }
        if (out && o + tn < outlen) {
            memcpy(out + o, tmp, tn);
            o += tn;
        }
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    if (out && outlen)
        out[o] = 0;
    if (outn)
        *outn = o;
    return 0;
}

static int jnumber(struct jr *j, int64_t *out, int *is_int)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    const char *digits = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    if (j->p == digits)
        return -1;
    *is_int = 1;
    if (j->p < j->end && *j->p == '.') {
        *is_int = 0;
        j->p++;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        *is_int = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    char tmp[32];
    size_t n = (size_t)(j->p - s);
    if (out) {
        if (n >= sizeof tmp)
            return -1;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        if (*is_int) {
            *out = strtoll(tmp, NULL, 10); /* saturates */
        } else {
            /* a double outside int64's range has no conversion (UB): malformed */
            double d = strtod(tmp, NULL);
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return -1;
            *out = (int64_t)d;
        }
    }
    return 0;
}

static int jskip(struct jr *j);

static int jskip_container(struct jr *j, char close, int is_obj)
{
    if (++j->depth > MAX_DEPTH)
        return -1;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        if (is_obj) {
            if (jstring(j, NULL, 0, NULL))
                return -1;
            ws(j);
            if (lit(j, ":"))
                return -1;
        }
        if (jskip(j))
            return -1;
        ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        if (*j->p != close)
            return -1;
        j->p++;
        j->depth--;
        return 0;
    }
}

static int jskip(struct jr *j)
{
    int is_int;
    ws(j);
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '{': return jskip_container(j, '}', 1);
    case '[': return jskip_container(j, ']', 0);
    case '"': return jstring(j, NULL, 0, NULL);
    case 't': return lit(j, "true");
    case 'f': return lit(j, "false");
    case 'n': return lit(j, "null");
    default: return jnumber(j, NULL, &is_int);
    }
}

/* Walk an object's members, calling `fn` for each key (value not yet read). */
typedef int (*member_fn)(struct jr *j, const char *key, void *arg);

static int jobject(struct jr *j, member_fn fn, void *arg)
{
    ws(j);
    if (j->p >= j->end || *j->p != '{')
        return -1;
    if (++j->depth > MAX_DEPTH)
        return -1;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        char key[32];
        ws(j);
        if (jstring(j, key, sizeof key, NULL))
            return -1;
        ws(j);
        if (lit(j, ":"))
            return -1;
        ws(j);
        if (fn(j, key, arg))
            return -1;
        ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != '}')
            return -1;
        j->p++;
        j->depth--;
        return 0;
    }
}

struct ps_out {
    int64_t *rejected;
    char *msg;
    size_t msglen;
};

static int ps_member(struct jr *j, const char *key, void *arg)
{
    struct ps_out *o = arg;
    if (!strcmp(key, "rejectedSpans") || !strcmp(key, "rejected_spans")) {
        int is_int;
        if (j->p < j->end && *j->p == '"') { /* int64 as a string (OTLP/JSON) */
            char tmp[24];
            size_t n;
            if (jstring(j, tmp, sizeof tmp, &n) || n == 0)
                return -1;
            char *e;
            *o->rejected = strtoll(tmp, &e, 10);
            return *e ? -1 : 0;
        }
        if (j->p < j->end && *j->p == 'n')
            return lit(j, "null");
        return jnumber(j, o->rejected, &is_int);
    }
    if (!strcmp(key, "errorMessage") || !strcmp(key, "error_message")) {
        if (j->p < j->end && *j->p == 'n')
            return lit(j, "null");
        return jstring(j, o->msg, o->msg ? o->msglen : 0, NULL);
    }
    return jskip(j);
}

static int top_member(struct jr *j, const char *key, void *arg)
{
    if (!strcmp(key, "partialSuccess") || !strcmp(key, "partial_success")) {
        if (j->p < j->end && *j->p == 'n')
            return lit(j, "null");
        return jobject(j, ps_member, arg);
    }
    return jskip(j);
}

int stitch_wire_otlp_response_decode(const uint8_t *p, size_t n, bool json, int64_t *rejected,
                                     char *msg, size_t msglen)
{
    int64_t rej = 0;
    if (msg && msglen)
        msg[0] = 0;
    int bad;
    if (json) {
        struct jr j = {(const char *)p, (const char *)p + n, 0};
        ws(&j);
        if (j.p == j.end) {
            bad = 0; /* an empty body is a full success */
        } else {
            struct ps_out o = {&rej, msg, msglen};
            bad = jobject(&j, top_member, &o);
            ws(&j);
            if (!bad && j.p != j.end)
                bad = -1;
        }
    } else {
        bad = pb_decode(p, p + n, &rej, msg, msglen);
    }
    if (bad) {
        rej = 0;
        if (msg && msglen)
            msg[0] = 0;
    }
    if (rejected)
        *rejected = rej;
    return bad ? STITCH_EPARSE : 0;
}
