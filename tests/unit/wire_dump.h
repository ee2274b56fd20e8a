/* tests/unit/wire_dump.h — a decode result (return code, error report and
 * every field of every record) as canonical text, so two decoders can be
 * compared with strcmp and a difference shown as a readable diff. Used by
 * test_wire_proto_equiv and the fuzz_otlp_proto_equiv target.
 * Resources and scopes are printed as the index of their first appearance,
 * so records that share an array (one ResourceSpans) print alike, and the
 * sharing itself is compared. Header-only: static functions. */
#ifndef WIRE_DUMP_H
#define WIRE_DUMP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stitch/stitch.h"
#include "wire/decode.h"

static void wd_bytes(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    fputc('"', f);
}

static void wd_cstr(FILE *f, const char *s)
{
    if (!s)
        fputs("(null)", f);
    else
        wd_bytes(f, s, strlen(s));
}

static void wd_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static void wd_value(FILE *f, const stitch_value_t *v)
{
    fprintf(f, "t%d/%u:", (int)v->type, v->len);
    switch (v->type) {
    case STITCH_VALUE_STRING:
        wd_bytes(f, v->u.str, v->len);
        if (v->u.str[v->len] != 0)
            fputs("(no NUL)", f);
        break;
    case STITCH_VALUE_BOOL: fprintf(f, "%d", (int)v->u.b); break;
    case STITCH_VALUE_INT: fprintf(f, "%" PRId64, v->u.i); break;
    case STITCH_VALUE_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.d, 8);
        fprintf(f, "%016" PRIx64, bits);
        break;
    }
    case STITCH_VALUE_STRING_ARRAY:
        fputs(v->u.strs ? "[" : "NULL[", f);
        for (uint32_t i = 0; i < v->len; i++) {
            wd_bytes(f, v->u.strs[i].ptr, v->u.strs[i].len);
            if (v->u.strs[i].ptr[v->u.strs[i].len] != 0)
                fputs("(no NUL)", f);
            fputc(',', f);
        }
        fputc(']', f);
        break;
    case STITCH_VALUE_BOOL_ARRAY:
        fputc('[', f);
        for (uint32_t i = 0; i < v->len; i++)
            fprintf(f, "%d,", (int)v->u.bools[i]);
        fputc(']', f);
        break;
    case STITCH_VALUE_INT_ARRAY:
        fputc('[', f);
        for (uint32_t i = 0; i < v->len; i++)
            fprintf(f, "%" PRId64 ",", v->u.ints[i]);
        fputc(']', f);
        break;
    case STITCH_VALUE_DOUBLE_ARRAY:
        fputc('[', f);
        for (uint32_t i = 0; i < v->len; i++) {
            uint64_t bits;
            memcpy(&bits, &v->u.doubles[i], 8);
            fprintf(f, "%016" PRIx64 ",", bits);
        }
        fputc(']', f);
        break;
    default: break;
    }
}

static void wd_attrs(FILE *f, const char *what, const stitch_attr_t *a, uint32_t n)
{
    fprintf(f, "  %s%s(%u)\n", what, a ? "" : " NULL", n);
    for (uint32_t i = 0; i < n; i++) {
        fputs("    ", f);
        wd_cstr(f, a[i].key);
        fputs(" = ", f);
        wd_value(f, &a[i].value);
        fputc('\n', f);
    }
}

static void wd_ts(FILE *f, const stitch_tracestate_t *ts)
{
    size_t n;
    const char *s = stitch_tracestate_str(ts, &n);
    fprintf(f, "ts%s=", ts ? "" : "(none)");
    wd_bytes(f, s, n);
}

/* Index of p in seen[0..*n), appended when new. */
static size_t wd_id(const void **seen, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++)
        if (seen[i] == p)
            return i;
    seen[*n] = p;
    return (*n)++;
}

/* The decode result as text (malloc'd; the caller frees). With
 * `full_errors` false, the message of a negative result is left out (two
 * decoders may word a malformed document differently). */
static char *wire_dump(int rc, const stitch_wire_error_t *err, const stitch_wire_batch_t *b, int full_errors)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    if (!f)
        return NULL;
    fprintf(f, "rc=%d code=%d rejected=%u nspans=%zu\n", rc, err->code, err->rejected, b->nspans);
    if (rc >= 0 || full_errors) {
        fputs("msg=", f);
        wd_cstr(f, err->msg);
        fputc('\n', f);
    }
    const void **res = calloc(b->nspans + 1, sizeof *res), **sc = calloc(b->nspans + 1, sizeof *sc);
    size_t nres = 0, nsc = 0;
    for (size_t i = 0; i < b->nspans; i++) {
        const stitch_span_data_t *d = &b->spans[i];
        fprintf(f, "span %zu: trace=", i);
        wd_hex(f, d->ctx.trace_id, 16);
        fputs(" span=", f);
        wd_hex(f, d->ctx.span_id, 8);
        fprintf(f, " flags=%u remote=%d parent=", d->ctx.flags, (int)d->ctx.remote);
        wd_hex(f, d->parent_span_id, 8);
        fprintf(f, " parent_remote=%d ", (int)d->parent_remote);
        wd_ts(f, d->tracestate);
        fputs("\n  name=", f);
        wd_cstr(f, d->name);
        fprintf(f, " kind=%d start=%" PRIu64 " end=%" PRIu64 " dropped=%u/%u/%u status=%d msg=", (int)d->kind,
                d->start_ns, d->end_ns, d->dropped_attrs, d->dropped_events, d->dropped_links, (int)d->status);
        wd_cstr(f, d->status_message);
        fputc('\n', f);
        wd_attrs(f, "attrs", d->attrs, d->nattrs);
        fprintf(f, "  events%s(%u)\n", d->events ? "" : " NULL", d->nevents);
        for (uint32_t k = 0; k < d->nevents; k++) {
            const stitch_event_t *e = &d->events[k];
            fprintf(f, "   event %u: t=%" PRIu64 " dropped=%u name=", k, e->time_ns, e->dropped_attrs);
            wd_cstr(f, e->name);
            fputc('\n', f);
            wd_attrs(f, " attrs", e->attrs, e->nattrs);
        }
        fprintf(f, "  links%s(%u)\n", d->links ? "" : " NULL", d->nlinks);
        for (uint32_t k = 0; k < d->nlinks; k++) {
            const stitch_link_t *l = &d->links[k];
            fprintf(f, "   link %u: trace=", k);
            wd_hex(f, l->ctx.trace_id, 16);
            fputs(" span=", f);
            wd_hex(f, l->ctx.span_id, 8);
            fprintf(f, " flags=%u remote=%d dropped=%u ", l->ctx.flags, (int)l->ctx.remote, l->dropped_attrs);
            wd_ts(f, l->tracestate);
            fputc('\n', f);
            wd_attrs(f, " attrs", l->attrs, l->nattrs);
        }
        size_t r = wd_id(res, &nres, d->resource);
        fprintf(f, "  resource #%zu\n", r);
        if (r == nres - 1)
            wd_attrs(f, "resource", d->resource, d->nresource);
        size_t s = wd_id(sc, &nsc, d->scope);
        fprintf(f, "  scope #%zu", s);
        if (s == nsc - 1) {
            fputs(" name=", f);
            wd_cstr(f, d->scope ? d->scope->name : NULL);
            fputs(" version=", f);
            wd_cstr(f, d->scope ? d->scope->version : NULL);
        }
        fputc('\n', f);
    }
    free(res);
    free(sc);
    fclose(f);
    return out;
}

/* Decode p[0..n) with stitch_wire_otlp_proto_decode and the protobuf-c
 * reference, each into a fresh batch whose arena maximum is `max` (0 =
 * unbounded), and compare everything. With an unbounded arena they must
 * agree exactly (a malformed document's message aside) and the direct
 * decoder must use no more arena for what it accepts. With a maximum, only
 * the reference may run out of room where the other does not (the direct
 * decoder then answers what the reference would unbounded), and a document
 * that is both malformed and too big may be refused as too big by the
 * direct decoder and as malformed by the reference.
 * Returns 0 when they agree; else 1 and *why (malloc'd) shows both. */
static int wire_proto_equiv(const uint8_t *p, size_t n, size_t max, char **why)
{
    stitch_wire_batch_t a, r;
    stitch_wire_error_t ea, er;
    stitch_wire_batch_init(&a, max);
    stitch_wire_batch_init(&r, max);
    int rca = stitch_wire_otlp_proto_decode(&a, p, n, &ea);
    int rcr = stitch_wire_otlp_proto_decode_pbc(&r, p, n, &er);
    char *da = wire_dump(rca, &ea, &a, 0), *dr = wire_dump(rcr, &er, &r, 0);
    int differ;
    const char *what = "records";
    if (rca == STITCH_ELIMIT) {
        differ = max == 0 || (rcr != STITCH_ELIMIT && rcr != STITCH_EPARSE);
        what = "direct decoder ran out of arena";
    } else if (rcr == STITCH_ELIMIT) {
        /* anything: the unbounded comparison says what the reference would
         * have found with room (a later parse error, a value it cannot
         * render: STITCH_ENOMEM) */
        differ = max == 0;
    } else {
        differ = !da || !dr || strcmp(da, dr) != 0;
        if (!differ && max == 0 && rca >= 0 && a.used > r.used) {
            differ = 1;
            what = "direct decoder used more arena";
        }
    }
    /* an EPARSE from the direct decoder always names a position inside */
    if (!differ && rca == STITCH_EPARSE && (ea.offset > n || strstr(ea.msg, " at byte ") == NULL)) {
        differ = 1;
        what = "EPARSE without a position";
    }
    *why = NULL;
    if (differ) {
        size_t len = (da ? strlen(da) : 0) + (dr ? strlen(dr) : 0) + 256;
        *why = malloc(len);
        if (*why)
            snprintf(*why, len, "%s (arena max %zu, used %zu vs %zu)\n--- direct\n%s--- protobuf-c\n%s", what, max,
                     a.used, r.used, da ? da : "(null)\n", dr ? dr : "(null)\n");
    }
    free(da);
    free(dr);
    stitch_wire_batch_free(&a);
    stitch_wire_batch_free(&r);
    return differ;
}

#endif
