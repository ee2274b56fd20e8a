/* wire/decode/otlp_proto.c — ExportTraceServiceRequest (protobuf) read in
 * one pass straight into span records, without generated message structs.
 *
 * Why by hand: protobuf-c's unpack + conversion was ~26 % of stitchd's CPU
 * per ingested span (bench/RESULTS.md, "Store"); this reader does the same
 * work in 3.4-3.6x less time, a third of the instructions and a quarter of
 * the arena (docs/wire.md, "Why the protobuf decoder is written by hand",
 * and bench/RESULTS.md, "The direct OTLP protobuf decoder").
 *
 * Exactly as strict as protobuf-c 1.4.1 + the reference conversion
 * (otlp_proto_pbc.c), input for input — tested by test_wire_proto_equiv and
 * the fuzz_otlp_proto_equiv target, which run both:
 *   - a tag is at most 5 bytes, and one whose first byte has no field bits
 *     (field 0) is refused; wire types 3, 4, 6, 7 are refused, known field
 *     or not; a varint is at most 10 bytes (bits past 64 dropped), a
 *     length prefix at most 5 and may not pass the end of its message;
 *     unknown fields are skipped by wire type;
 *   - a known field with the wrong wire type is refused, except bool,
 *     which protobuf-c reads from any wire type (true when any byte after
 *     the tag has a bit in 0x7f, length prefix included);
 *   - a singular scalar, string or bytes field given twice: the last wins;
 *     32-bit fields and enums keep the low 32 bits of the varint;
 *   - a singular message given twice is merged as protobuf-c merges it:
 *     repeated fields concatenate (Resource attributes), strings keep the
 *     last occurrence that has them (Status.message, scope name/version),
 *     numbers come from the last occurrence (Status.code: 0 if the last
 *     Status lacks it);
 *   - AnyValue's oneof: the last member wins, never merged. KeyValue.value
 *     given twice: a later non-empty AnyValue wins; a later empty one keeps
 *     an earlier bool, int, double, array, kvlist or non-empty bytes, but
 *     empties an earlier string or empty bytes (protobuf-c's merge looks
 *     for the string's default pointer), and two empty ones in a row make
 *     protobuf-c fail the whole request — so they do here;
 *   - strings are C strings in the records (cut at an embedded NUL), as
 *     protobuf-c's NUL-terminated copies were; UTF-8 is not checked.
 * Rejecting a span, the JSON rendering of values without a record type
 * (shared code: value_json.c) and STITCH_ENOMEM when jansson cannot render
 * a non-UTF-8 string follow the reference's order of checks, so the same
 * spans come out with the same first error message.
 *
 * Strings are copied into the batch's arena (decode.h: every pointer in a
 * record lives in the arena; callers reuse or free the input buffer right
 * after decoding). Repeated fields are counted with a quick scan of their
 * parent before the arrays are allocated, so nothing is copied twice.
 * Nesting: the fixed OTLP levels recurse (at most 7 deep); AnyValue trees,
 * which a request can nest without bound, are validated with an explicit
 * stack (up to 100,000 messages deep: protobuf-c's recursion crashes at a
 * tenth of that) and rendered, as the reference does, only 64 levels deep.
 * Invariant: a failed decode leaves no span appended (stitch_wire_end). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode/internal.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct dec {
    stitch_wire_batch_t *b;
    stitch_wire_error_t *err;
    const char *why;         /* the parse error, for the message */
    const uint8_t *at;       /* where it was found */
    int conv;                /* STITCH_ENOMEM: a value could not be rendered as JSON */
} dec_t;

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

__attribute__((cold, noinline)) static int bad(dec_t *d, const uint8_t *at, const char *why)
{
    if (!d->why) {
        d->why = why;
        d->at = at;
    }
    return STITCH_EPARSE;
}

static int oom(dec_t *d)
{
    return d->b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
}

/* ---- wire primitives (each returns 0 or -1 and advances *pp) ---------------- */

static inline int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    *out = 0;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    size_t max = (size_t)(end - p) < 10 ? (size_t)(end - p) : 10;
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            *pp = p + i + 1;
            return 0;
        }
    }
    return -1;
}

/* protobuf-c's parse_tag_and_wiretype: at most 5 bytes, field bits in the
 * first byte required. p < end. */
static inline int get_tag(const uint8_t **pp, const uint8_t *end, uint32_t *field, int *wt)
{
    const uint8_t *p = *pp;
    uint8_t c = p[0];
    *field = 0, *wt = 0;
    if ((c & 0xf8) == 0)
        return -1;
    *wt = c & 7;
    if (c < 0x80) {
        *field = c >> 3;
        *pp = p + 1;
        return 0;
    }
    uint32_t tag = (c & 0x7f) >> 3;
    size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
    for (size_t i = 1; i < max; i++) {
        tag |= (uint32_t)(p[i] & 0x7f) << (4 + 7 * (i - 1));
        if (!(p[i] & 0x80)) {
            *field = tag;
            *pp = p + i + 1;
            return 0;
        }
    }
    return -1;
}

/* A length prefix: at most 5 bytes; it must fit in what is left. */
static inline int get_len(const uint8_t **pp, const uint8_t *end, const uint8_t **sub_end)
{
    const uint8_t *p = *pp;
    *sub_end = end;
    if (p < end && *p < 0x80) {
        if (*p > end - p - 1)
            return -1;
        *sub_end = p + 1 + *p;
        *pp = p + 1;
        return 0;
    }
    size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            p += i + 1;
            if (v > (size_t)(end - p))
                return -1;
            *sub_end = p + v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Past one field's payload. */
static inline int skip(const uint8_t **pp, const uint8_t *end, int wt)
{
    uint64_t v;
    const uint8_t *e;
    switch (wt) {
    case WT_VARINT: return get_varint(pp, end, &v);
    case WT_I64:
        if (end - *pp < 8)
            return -1;
        *pp += 8;
        return 0;
    case WT_LEN:
        if (get_len(pp, end, &e))
            return -1;
        *pp = e;
        return 0;
    case WT_I32:
        if (end - *pp < 4)
            return -1;
        *pp += 4;
        return 0;
    default: return -1; /* groups (3, 4) and 6, 7 */
    }
}

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts only, as wire/otlp_proto.c */
}

static inline uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The field reader every message loop uses: tag, then a check of the wire
 * type a known field needs. */
static inline int next_tag(dec_t *d, const uint8_t **pp, const uint8_t *end, uint32_t *f, int *wt)
{
    if (get_tag(pp, end, f, wt))
        return bad(d, *pp, "bad field tag");
    return 0;
}

static inline int need(dec_t *d, const uint8_t *at, int wt, int want, const char *field)
{
    return wt == want ? 0 : bad(d, at, field);
}

static inline int sub(dec_t *d, const uint8_t **pp, const uint8_t *end, const uint8_t **sub_end)
{
    if (get_len(pp, end, sub_end))
        return bad(d, *pp, "length past the end of its message");
    return 0;
}

static inline int skip_field(dec_t *d, const uint8_t **pp, const uint8_t *end, int wt)
{
    const uint8_t *at = *pp;
    if (skip(pp, end, wt))
        return bad(d, at, wt == 3 || wt == 4 ? "group (wire type 3/4)" : wt > 5 ? "wire type 6/7" : "truncated field");
    return 0;
}

static inline int varint(dec_t *d, const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    if (get_varint(pp, end, v))
        return bad(d, *pp, "truncated varint");
    return 0;
}

static inline int fixed64(dec_t *d, const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    if (end - *pp < 8)
        return bad(d, *pp, "truncated fixed64");
    *v = le64(*pp);
    *pp += 8;
    return 0;
}

static inline int fixed32(dec_t *d, const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
    *v = 0;
    if (end - *pp < 4)
        return bad(d, *pp, "truncated fixed32");
    *v = le32(*pp);
    *pp += 4;
    return 0;
}

/* protobuf-c's bool: any wire type; true when a byte after the tag (the
 * length prefix included) has a bit in 0x7f. */
static int boolean(dec_t *d, const uint8_t **pp, const uint8_t *end, int wt, bool *out)
{
    const uint8_t *q = *pp;
    TRY(skip_field(d, pp, end, wt));
    bool v = false;
    for (; q < *pp && !v; q++)
        v = (*q & 0x7f) != 0;
    *out = v;
    return 0;
}

/* Counting occurrences of fields before allocating their arrays. A scan
 * that meets malformed input stops: the main pass fails at the same place
 * without needing more than was counted. */
static size_t count_field(const uint8_t *p, const uint8_t *end, uint32_t want)
{
    size_t n = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        if (get_tag(&p, end, &f, &wt))
            break;
        if (f == want && wt == WT_LEN)
            n++;
        if (skip(&p, end, wt))
            break;
    }
    return n;
}

/* n zeroed elements in the arena, a valid pointer also for n == 0. */
static inline void *zalloc(dec_t *d, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = stitch_wire_alloc_inline(d->b, n * size);
    if (p && n)
        memset(p, 0, n * size);
    return p;
}

/* A NUL-terminated copy of p[0..n) in the arena (NULL when out of room). */
static inline char *dup(dec_t *d, const uint8_t *p, size_t n)
{
    char *s = stitch_wire_alloc_inline(d->b, n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static inline size_t str_len(const uint8_t *p, const uint8_t *e)
{
    const uint8_t *z = memchr(p, 0, (size_t)(e - p));
    return (size_t)((z ? z : e) - p);
}

/* NUL-terminated copy of a string field, cut at an embedded NUL as the
 * reference's C strings were. */
static inline const char *cstr(dec_t *d, const uint8_t *p, const uint8_t *end)
{
    return p == end ? "" : dup(d, p, str_len(p, end));
}

/* ---- AnyValue trees: validation -------------------------------------------------
 * The message types below AnyValue nest without bound, so they are checked
 * with an explicit stack. Besides framing and wire types, the check follows
 * what protobuf-c's merge of KeyValue.value does, since two empty AnyValues
 * in a row make it fail (see the top of the file). */

enum { M_ANY, M_ARR, M_KVL, M_KV };
/* an AnyValue's class, for the merge: */
enum { VS_ABSENT, VS_EMPTY, VS_STRING, VS_BYTES0, VS_OTHER };

struct vframe {
    const uint8_t *end;
    uint8_t type;
    uint8_t st; /* M_ANY: class of its last oneof member; M_KV: merged class of its values */
};

/* The merged class of a KeyValue.value after another occurrence `n`;
 * VS_ABSENT when protobuf-c's merge fails. */
static inline int merge_class(int s, int n)
{
    if (s == VS_ABSENT || n != VS_EMPTY)
        return n;
    if (s == VS_EMPTY)
        return VS_ABSENT;
    return s == VS_STRING || s == VS_BYTES0 ? VS_EMPTY : s;
}

/* Messages an AnyValue tree may nest (ArrayValue, KeyValueList, KeyValue
 * and AnyValue each count). protobuf-c has no limit but its recursion
 * overflows an 8 MiB stack at ~10,000, so every tree it could decode fits;
 * the cap bounds the validator's stack (16 bytes a level) whatever the body. */
#define MAX_TREE_DEPTH 100000

static int validate_tree(dec_t *d, int type, const uint8_t *p, const uint8_t *end)
{
    struct vframe local[48], *st = local;
    size_t cap = sizeof local / sizeof local[0], sp = 0;
    int rc = 0;
    st[sp++] = (struct vframe){end, (uint8_t)type, type == M_ANY ? VS_EMPTY : VS_ABSENT};
    while (sp) {
        struct vframe *fr = &st[sp - 1];
        if (p == fr->end) {
            sp--;
            if (fr->type == M_ANY && sp && st[sp - 1].type == M_KV) {
                int m = merge_class(st[sp - 1].st, fr->st);
                if (m == VS_ABSENT) {
                    rc = bad(d, p, "KeyValue.value: two empty AnyValues (protobuf-c cannot merge them)");
                    break;
                }
                st[sp - 1].st = (uint8_t)m;
            }
            continue;
        }
        uint32_t f;
        int wt;
        const uint8_t *at = p;
        if ((rc = next_tag(d, &p, fr->end, &f, &wt)))
            break;
        int child = -1, want = -1, cls = -1;
        switch (fr->type) {
        case M_ANY:
            switch (f) {
            case 1: want = WT_LEN, cls = VS_STRING; break;
            case 2: cls = VS_OTHER; break; /* bool: any wire type */
            case 3: want = WT_VARINT, cls = VS_OTHER; break;
            case 4: want = WT_I64, cls = VS_OTHER; break;
            case 5: want = WT_LEN, cls = VS_OTHER, child = M_ARR; break;
            case 6: want = WT_LEN, cls = VS_OTHER, child = M_KVL; break;
            case 7: want = WT_LEN, cls = VS_BYTES0; break;
            default: break;
            }
            break;
        case M_ARR:
            if (f == 1)
                want = WT_LEN, child = M_ANY;
            break;
        case M_KVL:
            if (f == 1)
                want = WT_LEN, child = M_KV;
            break;
        default: /* M_KV */
            if (f == 1)
                want = WT_LEN;
            else if (f == 2)
                want = WT_LEN, child = M_ANY;
            break;
        }
        if (want >= 0 && wt != want) {
            rc = bad(d, at, "wrong wire type in an AnyValue tree");
            break;
        }
        if (wt != WT_LEN || (child < 0 && cls != VS_BYTES0)) {
            if ((rc = skip_field(d, &p, fr->end, wt)))
                break;
            if (cls >= 0)
                fr->st = (uint8_t)cls;
            continue;
        }
        const uint8_t *e;
        if ((rc = sub(d, &p, fr->end, &e)))
            break;
        if (cls == VS_BYTES0 && e != p)
            cls = VS_OTHER; /* bytes, not empty */
        if (cls >= 0)
            fr->st = (uint8_t)cls;
        if (child < 0) {
            p = e;
            continue;
        }
        if (sp == MAX_TREE_DEPTH) {
            rc = bad(d, at, "AnyValue nested deeper than 100000 messages");
            break;
        }
        if (sp == cap) {
            struct vframe *n = malloc(2 * cap * sizeof *n);
            if (!n) {
                rc = STITCH_ENOMEM;
                break;
            }
            memcpy(n, st, sp * sizeof *n);
            if (st != local)
                free(st);
            st = n;
            cap *= 2;
        }
        st[sp++] = (struct vframe){e, (uint8_t)child, child == M_ANY ? VS_EMPTY : VS_ABSENT};
    }
    if (st != local)
        free(st);
    return rc;
}

/* ---- AnyValue trees: reading (input already validated) ---------------------- */

typedef struct av {
    int kase;            /* 0 = empty, else the AnyValue field number 1..7 */
    const uint8_t *p, *e; /* string, bytes, array or kvlist payload */
    uint64_t u;          /* bool (0/1), int64, double bits */
} av_t;

/* The next field of a message validated before: number, wire type, the
 * bytes after the tag (raw, for bool) and the payload [*ps, *pe) (for
 * WT_LEN without its prefix). 0 at the end — and, defensively, on input
 * that does not parse. */
static inline int vnext(const uint8_t **pp, const uint8_t *end, uint32_t *f, int *wt, const uint8_t **raw,
                        const uint8_t **ps, const uint8_t **pe)
{
    if (*pp >= end || get_tag(pp, end, f, wt))
        return 0;
    *raw = *ps = *pp;
    if (*wt == WT_LEN) {
        if (get_len(pp, end, pe))
            return 0;
        *ps = *pp;
        *pp = *pe;
        return 1;
    }
    if (skip(pp, end, *wt))
        return 0;
    *pe = *pp;
    return 1;
}

/* One AnyValue message's final state: its last oneof member. */
static void any_state(const uint8_t *p, const uint8_t *end, av_t *o)
{
    uint32_t f;
    int wt;
    const uint8_t *raw, *ps, *pe;
    o->kase = 0;
    while (vnext(&p, end, &f, &wt, &raw, &ps, &pe)) {
        switch (f) {
        case 1: case 5: case 6: case 7: o->kase = (int)f, o->p = ps, o->e = pe; break;
        case 2: {
            bool v = false;
            for (; raw < pe && !v; raw++)
                v = (*raw & 0x7f) != 0;
            o->kase = 2, o->u = v;
            break;
        }
        case 3:
            if (get_varint(&ps, pe, &o->u) == 0)
                o->kase = 3;
            break;
        case 4: o->u = le64(ps), o->kase = 4; break;
        default: break;
        }
    }
}

static inline int av_class(const av_t *v)
{
    switch (v->kase) {
    case 0: return VS_EMPTY;
    case 1: return VS_STRING;
    case 7: return v->p == v->e ? VS_BYTES0 : VS_OTHER;
    default: return VS_OTHER;
    }
}

/* Merge another occurrence `n` of KeyValue.value into *s (has: *s set). 0,
 * or -1 where protobuf-c's merge fails. */
static inline int av_merge(av_t *s, bool *has, const av_t *n)
{
    if (!*has || n->kase) {
        *s = *n;
        *has = true;
        return 0;
    }
    int m = merge_class(av_class(s), VS_EMPTY);
    if (m == VS_ABSENT)
        return -1;
    if (m == VS_EMPTY)
        s->kase = 0;
    return 0;
}

/* A validated KeyValue: its key (last occurrence) and merged value. */
static void kv_state(const uint8_t *p, const uint8_t *end, const uint8_t **k, const uint8_t **ke, av_t *v,
                     bool *has)
{
    uint32_t f;
    int wt;
    const uint8_t *raw, *ps, *pe;
    *k = *ke = NULL;
    *has = false;
    while (vnext(&p, end, &f, &wt, &raw, &ps, &pe)) {
        if (wt != WT_LEN)
            continue;
        if (f == 1) {
            *k = ps, *ke = pe;
        } else if (f == 2) {
            av_t n;
            any_state(ps, pe, &n);
            (void)av_merge(v, has, &n); /* cannot fail: validated */
        }
    }
}

/* The reference's any_json, over the wire: same jansson calls in the same
 * order (a non-finite double is NULL, so dropped from its array/object). */
static json_t *av_json(const av_t *v, int depth)
{
    if (depth > STITCH_WIRE_JSON_MAX_DEPTH)
        return json_null();
    switch (v->kase) {
    case 1: return stitch_wire_text_json((const char *)v->p, str_len(v->p, v->e));
    case 2: return json_boolean(v->u);
    case 3: return json_integer((json_int_t)v->u);
    case 4: {
        double x;
        memcpy(&x, &v->u, 8);
        return json_real(x);
    }
    case 5: {
        json_t *a = json_array();
        uint32_t f;
        int wt;
        const uint8_t *p = v->p, *raw, *ps, *pe;
        while (a && vnext(&p, v->e, &f, &wt, &raw, &ps, &pe)) {
            if (f == 1 && wt == WT_LEN) {
                av_t el;
                any_state(ps, pe, &el);
                json_array_append_new(a, av_json(&el, depth + 1));
            }
        }
        return a;
    }
    case 6: {
        json_t *o = json_object();
        uint32_t f;
        int wt;
        const uint8_t *p = v->p, *raw, *ps, *pe;
        char small[128];
        while (o && vnext(&p, v->e, &f, &wt, &raw, &ps, &pe)) {
            if (f != 1 || wt != WT_LEN)
                continue;
            const uint8_t *k, *ke;
            av_t val;
            bool has;
            kv_state(ps, pe, &k, &ke, &val, &has);
            size_t kn = k ? str_len(k, ke) : 0;
            char *key = kn < sizeof small ? small : malloc(kn + 1);
            if (!key) {
                json_decref(o);
                return NULL;
            }
            if (kn)
                memcpy(key, k, kn);
            key[kn] = 0;
            stitch_wire_json_set(o, key, has ? av_json(&val, depth + 1) : json_null());
            if (key != small)
                free(key);
        }
        return o;
    }
    case 7: return stitch_wire_b64_json(v->p, (size_t)(v->e - v->p));
    default: return json_null();
    }
}

/* ---- attribute values -------------------------------------------------------- */

/* The record type of an array element; NONE for one without a record type. */
static stitch_value_type_t scalar_type(const av_t *v)
{
    switch (v->kase) {
    case 1: return STITCH_VALUE_STRING;
    case 2: return STITCH_VALUE_BOOL;
    case 3: return STITCH_VALUE_INT;
    case 4: return STITCH_VALUE_DOUBLE;
    default: return STITCH_VALUE_NONE;
    }
}

/* Walk the elements of a validated ArrayValue. */
static inline int next_elem(const uint8_t **pp, const uint8_t *end, av_t *el)
{
    uint32_t f;
    int wt;
    const uint8_t *raw, *ps, *pe;
    while (vnext(pp, end, &f, &wt, &raw, &ps, &pe)) {
        if (f == 1 && wt == WT_LEN) {
            any_state(ps, pe, el);
            return 1;
        }
    }
    return 0;
}

/* A STRING holding the value as JSON; rendering failures are counted in
 * *fail (the reference's STITCH_ENOMEM, raised later in its order). */
static int json_value(dec_t *d, const av_t *v, stitch_value_t *out, bool *fail)
{
    int rc = stitch_wire_json_value(d->b, av_json(v, 0), false, out);
    if (rc == STITCH_ENOMEM && !d->b->limit_hit) {
        *fail = true;
        memset(out, 0, sizeof *out);
        return 0;
    }
    return rc;
}

static int array_value(dec_t *d, const av_t *v, stitch_value_t *out, bool *fail)
{
    size_t n = 0;
    stitch_value_type_t et = STITCH_VALUE_STRING;
    av_t el;
    for (const uint8_t *p = v->p; next_elem(&p, v->e, &el);) {
        stitch_value_type_t t = scalar_type(&el);
        if (n++ == 0)
            et = t;
        else if (t != et)
            et = STITCH_VALUE_NONE;
    }
    if (et == STITCH_VALUE_NONE || n > UINT32_MAX)
        return json_value(d, v, out, fail);
    size_t size = et == STITCH_VALUE_STRING ? sizeof(stitch_str_t)
                  : et == STITCH_VALUE_BOOL ? sizeof(bool)
                                            : sizeof(int64_t);
    void *arr = zalloc(d, n, size);
    if (!arr)
        return oom(d);
    size_t i = 0;
    for (const uint8_t *p = v->p; next_elem(&p, v->e, &el); i++) {
        switch (et) {
        case STITCH_VALUE_STRING: {
            size_t len = str_len(el.p, el.e);
            const char *s = len ? dup(d, el.p, len) : "";
            if (!s)
                return oom(d);
            ((stitch_str_t *)arr)[i] = (stitch_str_t){s, len};
            break;
        }
        case STITCH_VALUE_BOOL: ((bool *)arr)[i] = el.u != 0; break;
        default: memcpy((int64_t *)arr + i, &el.u, 8); break; /* int64 or double bits */
        }
    }
    out->len = (uint32_t)n;
    switch (et) {
    case STITCH_VALUE_STRING: out->type = STITCH_VALUE_STRING_ARRAY, out->u.strs = arr; break;
    case STITCH_VALUE_BOOL: out->type = STITCH_VALUE_BOOL_ARRAY, out->u.bools = arr; break;
    case STITCH_VALUE_INT: out->type = STITCH_VALUE_INT_ARRAY, out->u.ints = arr; break;
    default: out->type = STITCH_VALUE_DOUBLE_ARRAY, out->u.doubles = arr; break;
    }
    return 0;
}

static int value(dec_t *d, const av_t *v, stitch_value_t *out, bool *fail)
{
    memset(out, 0, sizeof *out);
    switch (v->kase) {
    case 1: {
        size_t n = str_len(v->p, v->e);
        out->u.str = n ? dup(d, v->p, n) : "";
        if (!out->u.str)
            return oom(d);
        out->type = STITCH_VALUE_STRING;
        out->len = (uint32_t)n;
        return 0;
    }
    case 2: out->type = STITCH_VALUE_BOOL, out->u.b = v->u != 0; return 0;
    case 3: out->type = STITCH_VALUE_INT, out->u.i = (int64_t)v->u; return 0;
    case 4: out->type = STITCH_VALUE_DOUBLE, memcpy(&out->u.d, &v->u, 8); return 0;
    case 5: return array_value(d, v, out, fail);
    case 6: return json_value(d, v, out, fail);
    case 7: {
        size_t n = (size_t)(v->e - v->p);
        char *s = stitch_wire_batch_alloc(d->b, 4 * ((n + 2) / 3) + 1);
        if (!s)
            return oom(d);
        size_t len = stitch_wire_b64(s, v->p, n);
        s[len] = 0;
        out->type = STITCH_VALUE_STRING;
        out->len = (uint32_t)len;
        out->u.str = s;
        return 0;
    }
    default: return 0; /* empty: NONE */
    }
}

/* The top AnyValue of an attribute: its own level read here, the trees
 * under it validated. */
static int any_value(dec_t *d, const uint8_t *p, const uint8_t *end, av_t *o)
{
    o->kase = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p;
        TRY(next_tag(d, &p, end, &f, &wt));
        switch (f) {
        case 1: case 5: case 6: case 7: {
            const uint8_t *e;
            TRY(need(d, at, wt, WT_LEN, "AnyValue: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 5)
                TRY(validate_tree(d, M_ARR, p, e));
            else if (f == 6)
                TRY(validate_tree(d, M_KVL, p, e));
            o->kase = (int)f, o->p = p, o->e = e;
            p = e;
            break;
        }
        case 2: {
            bool v;
            TRY(boolean(d, &p, end, wt, &v));
            o->kase = 2, o->u = v;
            break;
        }
        case 3:
            TRY(need(d, at, wt, WT_VARINT, "AnyValue.intValue: wrong wire type"));
            TRY(varint(d, &p, end, &o->u));
            o->kase = 3;
            break;
        case 4:
            TRY(need(d, at, wt, WT_I64, "AnyValue.doubleValue: wrong wire type"));
            TRY(fixed64(d, &p, end, &o->u));
            o->kase = 4;
            break;
        default: TRY(skip_field(d, &p, end, wt)); break;
        }
    }
    return 0;
}

/* One KeyValue into an attribute. */
static int attr(dec_t *d, const uint8_t *p, const uint8_t *end, stitch_attr_t *a, bool *fail)
{
    const uint8_t *k = NULL, *ke = NULL;
    av_t v = {0};
    bool has = false;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f == 1 || f == 2) {
            TRY(need(d, at, wt, WT_LEN, "KeyValue: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 1) {
                k = p, ke = e;
            } else {
                av_t n;
                TRY(any_value(d, p, e, &n));
                if (av_merge(&v, &has, &n))
                    return bad(d, at, "KeyValue.value: two empty AnyValues (protobuf-c cannot merge them)");
            }
            p = e;
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    a->key = k ? cstr(d, k, ke) : "";
    if (!a->key)
        return oom(d);
    return value(d, &v, &a->value, fail);
}

/* A repeated KeyValue field's element, with the array's bounds checked
 * against the count scan (which met the same input). */
static int attr_at(dec_t *d, const uint8_t *p, const uint8_t *e, stitch_attr_t *arr, uint32_t *i, size_t n,
                   bool *fail)
{
    if (*i >= n)
        return bad(d, p, "internal: more attributes than counted");
    return attr(d, p, e, &arr[(*i)++], fail);
}

/* ---- spans ---------------------------------------------------------------------- */

typedef struct ids {
    const uint8_t *tid, *sid, *pid, *ts, *tse; /* raw fields (last occurrence) */
    size_t ntid, nsid, npid;
    uint32_t flags;
} ids_t;

/* What a link needs after its span is read (the reference checks links
 * in order after the span's own attributes and events). */
typedef struct lnk {
    ids_t id;
    bool fail; /* an attribute could not be rendered */
} lnk_t;

static int event(dec_t *d, const uint8_t *p, const uint8_t *end, stitch_event_t *ev, bool *fail)
{
    size_t na = count_field(p, end, 3);
    if (na > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_attr_t *a = zalloc(d, na, sizeof *a);
    if (!a)
        return oom(d);
    const uint8_t *name = NULL, *name_e = NULL;
    uint32_t ia = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        switch (f) {
        case 1:
            TRY(need(d, at, wt, WT_I64, "Event.timeUnixNano: wrong wire type"));
            TRY(fixed64(d, &p, end, &ev->time_ns));
            break;
        case 2:
        case 3:
            TRY(need(d, at, wt, WT_LEN, "Event: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 2)
                name = p, name_e = e;
            else
                TRY(attr_at(d, p, e, a, &ia, na, fail));
            p = e;
            break;
        case 4:
            TRY(need(d, at, wt, WT_VARINT, "Event.droppedAttributesCount: wrong wire type"));
            TRY(varint(d, &p, end, &v));
            ev->dropped_attrs = (uint32_t)v;
            break;
        default: TRY(skip_field(d, &p, end, wt)); break;
        }
    }
    ev->name = name ? cstr(d, name, name_e) : "";
    if (!ev->name)
        return oom(d);
    ev->attrs = a;
    ev->nattrs = ia;
    return 0;
}

static int link(dec_t *d, const uint8_t *p, const uint8_t *end, stitch_link_t *lk, lnk_t *x)
{
    size_t na = count_field(p, end, 4);
    if (na > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_attr_t *a = zalloc(d, na, sizeof *a);
    if (!a)
        return oom(d);
    uint32_t ia = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        switch (f) {
        case 1:
        case 2:
        case 3:
        case 4:
            TRY(need(d, at, wt, WT_LEN, "Link: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 1)
                x->id.tid = p, x->id.ntid = (size_t)(e - p);
            else if (f == 2)
                x->id.sid = p, x->id.nsid = (size_t)(e - p);
            else if (f == 3)
                x->id.ts = p, x->id.tse = e;
            else
                TRY(attr_at(d, p, e, a, &ia, na, &x->fail));
            p = e;
            break;
        case 5:
            TRY(need(d, at, wt, WT_VARINT, "Link.droppedAttributesCount: wrong wire type"));
            TRY(varint(d, &p, end, &v));
            lk->dropped_attrs = (uint32_t)v;
            break;
        case 6:
            TRY(need(d, at, wt, WT_I32, "Link.flags: wrong wire type"));
            TRY(fixed32(d, &p, end, &x->id.flags));
            break;
        default: TRY(skip_field(d, &p, end, wt)); break;
        }
    }
    lk->attrs = a;
    lk->nattrs = ia;
    return 0;
}

typedef struct status {
    bool set;
    int32_t code;
    const uint8_t *msg, *msg_e;
} status_t;

/* Status given twice is merged: the message of the last occurrence that
 * has one, the code of the last occurrence (0 when it has none). */
static int status(dec_t *d, const uint8_t *p, const uint8_t *end, status_t *s)
{
    s->set = true;
    s->code = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f == 2) {
            TRY(need(d, at, wt, WT_LEN, "Status.message: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            s->msg = p, s->msg_e = e;
            p = e;
        } else if (f == 3) {
            TRY(need(d, at, wt, WT_VARINT, "Status.code: wrong wire type"));
            TRY(varint(d, &p, end, &v));
            s->code = (int32_t)(uint32_t)v;
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    return 0;
}

static int tracestate(dec_t *d, const uint8_t *p, const uint8_t *e, const stitch_tracestate_t **out)
{
    *out = NULL;
    return p ? stitch_wire_tracestate(d->b, (const char *)p, str_len(p, e), out) : 0;
}

typedef struct where {
    size_t rs, ss, span;
} where_t;

/* One Span into b->spans[b->nspans] (reserved); appended unless invalid. */
static int span(dec_t *d, const uint8_t *p, const uint8_t *end, const where_t *w, const stitch_attr_t *res,
                uint32_t nres, const stitch_scope_info_t *sc)
{
    stitch_wire_batch_t *b = d->b;
    if (b->nspans == b->capspans)
        TRY(stitch_wire_reserve_spans(b, 1)); /* not reached: spans were counted */
    size_t na = 0, ne = 0, nl = 0;
    for (const uint8_t *q = p; q < end;) {
        uint32_t f;
        int wt;
        if (get_tag(&q, end, &f, &wt))
            break;
        if (wt == WT_LEN)
            na += f == 9, ne += f == 11, nl += f == 13;
        if (skip(&q, end, wt))
            break;
    }
    if (na > UINT32_MAX || ne > UINT32_MAX || nl > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_span_data_t *s = &b->spans[b->nspans];
    memset(s, 0, sizeof *s);
    stitch_attr_t *a = zalloc(d, na, sizeof *a);
    stitch_event_t *ev = zalloc(d, ne, sizeof *ev);
    stitch_link_t *lk = zalloc(d, nl, sizeof *lk);
    lnk_t *lx = zalloc(d, nl, sizeof *lx);
    if (!a || !ev || !lk || !lx)
        return oom(d);
    ids_t id = {0};
    const uint8_t *name = NULL, *name_e = NULL;
    status_t st = {0};
    int32_t kind = 0;
    uint32_t ia = 0, ie = 0, il = 0;
    bool attrs_fail = false, events_fail = false;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        switch (f) {
        case 1: case 2: case 3: case 4: case 5: case 9: case 11: case 13: case 15:
            TRY(need(d, at, wt, WT_LEN, "Span: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            switch (f) {
            case 1: id.tid = p, id.ntid = (size_t)(e - p); break;
            case 2: id.sid = p, id.nsid = (size_t)(e - p); break;
            case 3: id.ts = p, id.tse = e; break;
            case 4: id.pid = p, id.npid = (size_t)(e - p); break;
            case 5: name = p, name_e = e; break;
            case 9: TRY(attr_at(d, p, e, a, &ia, na, &attrs_fail)); break;
            case 11:
                if (ie >= ne)
                    return bad(d, p, "internal: more events than counted");
                TRY(event(d, p, e, &ev[ie++], &events_fail));
                break;
            case 13:
                if (il >= nl)
                    return bad(d, p, "internal: more links than counted");
                TRY(link(d, p, e, &lk[il], &lx[il]));
                il++;
                break;
            default: TRY(status(d, p, e, &st)); break;
            }
            p = e;
            break;
        case 6: case 10: case 12: case 14:
            TRY(need(d, at, wt, WT_VARINT, "Span: wrong wire type"));
            TRY(varint(d, &p, end, &v));
            if (f == 6)
                kind = (int32_t)(uint32_t)v;
            else if (f == 10)
                s->dropped_attrs = (uint32_t)v;
            else if (f == 12)
                s->dropped_events = (uint32_t)v;
            else
                s->dropped_links = (uint32_t)v;
            break;
        case 7:
        case 8:
            TRY(need(d, at, wt, WT_I64, "Span: wrong wire type"));
            TRY(fixed64(d, &p, end, f == 7 ? &s->start_ns : &s->end_ns));
            break;
        case 16:
            TRY(need(d, at, wt, WT_I32, "Span.flags: wrong wire type"));
            TRY(fixed32(d, &p, end, &id.flags));
            break;
        default: TRY(skip_field(d, &p, end, wt)); break;
        }
    }
    s->name = name ? cstr(d, name, name_e) : "";
    if (!s->name)
        return oom(d);
    s->attrs = a, s->nattrs = ia;
    s->events = ev, s->nevents = ie;
    s->links = lk, s->nlinks = il;

    /* the reference's checks, in its order */
    const char *why = NULL;
    if (id.ntid != 16)
        why = "traceId: not 16 bytes";
    else if (id.nsid != 8)
        why = "spanId: not 8 bytes";
    else if (id.npid != 0 && id.npid != 8)
        why = "parentSpanId: not 8 bytes";
    if (!why) {
        memcpy(s->ctx.trace_id, id.tid, 16);
        memcpy(s->ctx.span_id, id.sid, 8);
        if (id.npid)
            memcpy(s->parent_span_id, id.pid, 8);
        s->ctx.flags = (uint8_t)(id.flags & 0xff);
        s->parent_remote = (id.flags & 0x100) && (id.flags & 0x200);
        TRY(tracestate(d, id.ts, id.tse, &s->tracestate));
        if (attrs_fail || events_fail) {
            d->conv = STITCH_ENOMEM;
            return 0;
        }
        for (uint32_t i = 0; i < il && !why; i++) {
            const ids_t *x = &lx[i].id;
            if (x->ntid != 16 || x->nsid != 8) {
                why = "links: id of the wrong length";
                break;
            }
            memcpy(lk[i].ctx.trace_id, x->tid, 16);
            memcpy(lk[i].ctx.span_id, x->sid, 8);
            lk[i].ctx.flags = (uint8_t)(x->flags & 0xff);
            lk[i].ctx.remote = (x->flags & 0x100) && (x->flags & 0x200);
            TRY(tracestate(d, x->ts, x->tse, &lk[i].tracestate));
            if (lx[i].fail) {
                d->conv = STITCH_ENOMEM;
                return 0;
            }
        }
    }
    if (!why) {
        /* OTLP: receivers may take UNSPECIFIED as INTERNAL */
        s->kind = kind == 0 ? STITCH_SPAN_KIND_INTERNAL : (stitch_span_kind_t)kind;
        s->status = st.set ? (stitch_status_code_t)st.code : STITCH_STATUS_UNSET;
        s->status_message = st.msg ? cstr(d, st.msg, st.msg_e) : "";
        if (!s->status_message)
            return oom(d);
        s->resource = res;
        s->nresource = nres;
        s->scope = sc;
        why = stitch_wire_check_span(s);
    }
    if (why)
        stitch_wire_reject(d->err, "resourceSpans[%zu].scopeSpans[%zu].spans[%zu].%s", w->rs, w->ss, w->span, why);
    else
        b->nspans++;
    return 0;
}

/* ---- the outer levels -------------------------------------------------------------- */

static int scope(dec_t *d, const uint8_t *p, const uint8_t *end, stitch_scope_info_t *sc)
{
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f >= 1 && f <= 3) {
            TRY(need(d, at, wt, WT_LEN, "InstrumentationScope: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 1 && !(sc->name = cstr(d, p, e)))
                return oom(d);
            if (f == 2 && !(sc->version = cstr(d, p, e)))
                return oom(d);
            if (f == 3) /* scope attributes are not kept, but checked */
                TRY(validate_tree(d, M_KV, p, e));
            p = e;
        } else if (f == 4) {
            TRY(need(d, at, wt, WT_VARINT, "InstrumentationScope.droppedAttributesCount: wrong wire type"));
            TRY(varint(d, &p, end, &v));
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    return 0;
}

static int scope_spans(dec_t *d, const uint8_t *p, const uint8_t *end, where_t *w, const stitch_attr_t *res,
                       uint32_t nres)
{
    stitch_scope_info_t *sc = zalloc(d, 1, sizeof *sc);
    if (!sc)
        return oom(d);
    sc->name = sc->version = "";
    w->span = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f >= 1 && f <= 3) {
            TRY(need(d, at, wt, WT_LEN, "ScopeSpans: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 1)
                TRY(scope(d, p, e, sc));
            else if (f == 2) {
                TRY(span(d, p, e, w, res, nres, sc));
                w->span++;
            }
            p = e;
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    return 0;
}

/* Resource given twice is merged: its attributes concatenate. */
static int resource(dec_t *d, const uint8_t *p, const uint8_t *end, stitch_attr_t *res, uint32_t *ia, size_t n,
                    bool *fail)
{
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        uint64_t v;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f == 1) {
            TRY(need(d, at, wt, WT_LEN, "Resource.attributes: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            TRY(attr_at(d, p, e, res, ia, n, fail));
            p = e;
        } else if (f == 2) {
            TRY(need(d, at, wt, WT_VARINT, "Resource.droppedAttributesCount: wrong wire type"));
            TRY(varint(d, &p, end, &v));
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    return 0;
}

static int resource_spans(dec_t *d, const uint8_t *p, const uint8_t *end, where_t *w)
{
    /* the resource's attributes, over every occurrence of the field */
    size_t nres = 0;
    for (const uint8_t *q = p; q < end;) {
        uint32_t f;
        int wt;
        const uint8_t *e;
        if (get_tag(&q, end, &f, &wt))
            break;
        if (f == 1 && wt == WT_LEN) {
            if (get_len(&q, end, &e))
                break;
            nres += count_field(q, e, 1);
            q = e;
        } else if (skip(&q, end, wt)) {
            break;
        }
    }
    if (nres > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_attr_t *res = zalloc(d, nres, sizeof *res);
    if (!res)
        return oom(d);
    uint32_t ia = 0;
    bool fail = false;
    w->ss = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f >= 1 && f <= 3) {
            TRY(need(d, at, wt, WT_LEN, "ResourceSpans: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            if (f == 1)
                TRY(resource(d, p, e, res, &ia, nres, &fail));
            else if (f == 2) {
                TRY(scope_spans(d, p, e, w, res, (uint32_t)nres));
                w->ss++;
            }
            p = e;
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    if (ia != nres)
        return bad(d, p, "internal: fewer resource attributes than counted");
    if (fail)
        d->conv = STITCH_ENOMEM;
    return 0;
}

/* Spans in the whole request, so the span array is reserved once. */
static size_t count_spans(const uint8_t *p, const uint8_t *end)
{
    size_t n = 0;
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *rse, *sse;
        if (get_tag(&p, end, &f, &wt))
            break;
        if (f != 1 || wt != WT_LEN) {
            if (skip(&p, end, wt))
                break;
            continue;
        }
        if (get_len(&p, end, &rse))
            break;
        while (p < rse) {
            if (get_tag(&p, rse, &f, &wt))
                return n;
            if (f != 2 || wt != WT_LEN) {
                if (skip(&p, rse, wt))
                    return n;
                continue;
            }
            if (get_len(&p, rse, &sse))
                return n;
            n += count_field(p, sse, 2);
            p = sse;
        }
    }
    return n;
}

static int request(dec_t *d, const uint8_t *p, const uint8_t *end)
{
    TRY(stitch_wire_reserve_spans(d->b, count_spans(p, end)));
    where_t w = {0};
    while (p < end) {
        uint32_t f;
        int wt;
        const uint8_t *at = p, *e;
        TRY(next_tag(d, &p, end, &f, &wt));
        if (f == 1) {
            TRY(need(d, at, wt, WT_LEN, "ExportTraceServiceRequest.resourceSpans: wrong wire type"));
            TRY(sub(d, &p, end, &e));
            TRY(resource_spans(d, p, e, &w));
            w.rs++;
            p = e;
        } else {
            TRY(skip_field(d, &p, end, wt));
        }
    }
    return 0;
}

int stitch_wire_otlp_proto_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n, stitch_wire_error_t *err)
{
    stitch_wire_begin(err);
    size_t n0 = b->nspans;
    dec_t d = {.b = b, .err = err};
    int rc = request(&d, p, p + n);
    if (rc == 0 && d.conv)
        rc = d.conv;
    if (rc == STITCH_EPARSE)
        rc = stitch_wire_fail(err, STITCH_EPARSE, (size_t)(d.at - p),
                              "malformed ExportTraceServiceRequest protobuf (%zu bytes): %s at byte %zu", n, d.why,
                              (size_t)(d.at - p));
    else if (rc == STITCH_ELIMIT || rc == STITCH_ENOMEM)
        rc = stitch_wire_oom(b, err);
    return stitch_wire_end(b, n0, rc, err);
}
