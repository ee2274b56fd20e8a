/* sdk/console.c — the console exporter: each ended span as one line of
 * text on a stdio stream (OpenTelemetry's "console" exporter), for
 * development and for seeing what an instrumented program records; and the
 * console processor, which is the simple processor feeding it.
 *
 * Invariant: one span is one line, written under the stream's lock
 * (flockfile), so lines from several threads never interleave. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sdk/span.h"

static const char *kind_name(stitch_span_kind_t k)
{
    static const char *names[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* A string with quotes, backslashes and control characters escaped. */
static void put_quoted(FILE *f, const char *s, size_t n)
{
    putc_unlocked('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            putc_unlocked('\\', f);
            putc_unlocked(c, f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\x%02x", c);
        } else {
            putc_unlocked(c, f);
        }
    }
    putc_unlocked('"', f);
}

static void put_value(FILE *f, const stitch_value_t *v)
{
    switch (v->type) {
    case STITCH_VALUE_STRING: put_quoted(f, v->u.str, v->len); break;
    case STITCH_VALUE_BOOL: fputs(v->u.b ? "true" : "false", f); break;
    case STITCH_VALUE_INT: fprintf(f, "%" PRId64, v->u.i); break;
    case STITCH_VALUE_DOUBLE: fprintf(f, "%.17g", v->u.d); break;
    default:
        putc_unlocked('[', f);
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                putc_unlocked(',', f);
            if (v->type == STITCH_VALUE_STRING_ARRAY)
                put_quoted(f, v->u.strs[i].ptr, v->u.strs[i].len);
            else if (v->type == STITCH_VALUE_BOOL_ARRAY)
                fputs(v->u.bools[i] ? "true" : "false", f);
            else if (v->type == STITCH_VALUE_INT_ARRAY)
                fprintf(f, "%" PRId64, v->u.ints[i]);
            else if (v->type == STITCH_VALUE_DOUBLE_ARRAY)
                fprintf(f, "%.17g", v->u.doubles[i]);
        }
        putc_unlocked(']', f);
    }
}

static void put_attrs(FILE *f, const stitch_attr_t *a, uint32_t n)
{
    putc_unlocked('{', f);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(f, "%s%s=", i ? ", " : "", a[i].key);
        put_value(f, &a[i].value);
    }
    putc_unlocked('}', f);
}

static void put_span(FILE *f, const stitch_span_data_t *d)
{
    char tid[33], sid[17], pid[17];
    stitch_trace_id_hex(d->ctx.trace_id, tid);
    stitch_span_id_hex(d->ctx.span_id, sid);
    stitch_span_id_hex(d->parent_span_id, pid);
    static const char *status[] = {"unset", "ok", "error"};
    flockfile(f);
    fprintf(f, "span trace_id=%s span_id=%s parent_id=%s name=", tid, sid, pid);
    put_quoted(f, d->name, strlen(d->name));
    fprintf(f, " kind=%s start_ns=%" PRIu64 " duration_us=%.3f status=%s", kind_name(d->kind),
            d->start_ns, (double)(d->end_ns - d->start_ns) / 1000.0, status[d->status % 3]);
    if (d->status == STITCH_STATUS_ERROR && d->status_message[0]) {
        fputs(" status_message=", f);
        put_quoted(f, d->status_message, strlen(d->status_message));
    }
    fputs(" attributes=", f);
    put_attrs(f, d->attrs, d->nattrs);
    for (uint32_t i = 0; i < d->nevents; i++) {
        fprintf(f, " event[%u]=", i);
        put_quoted(f, d->events[i].name, strlen(d->events[i].name));
        put_attrs(f, d->events[i].attrs, d->events[i].nattrs);
    }
    putc_unlocked('\n', f);
    funlockfile(f);
}

static int console_export(void *self, const stitch_span_data_t *const *spans, size_t n,
                          uint32_t timeout_ms)
{
    (void)timeout_ms;
    FILE *f = self;
    for (size_t i = 0; i < n; i++)
        put_span(f, spans[i]);
    return ferror(f) ? STITCH_EIO : STITCH_OK;
}

static int console_flush(void *self, uint32_t timeout_ms)
{
    (void)timeout_ms;
    return fflush((FILE *)self) == 0 ? STITCH_OK : STITCH_EIO;
}

static const stitch_exporter_ops_t console_ops = {
    .export_spans = console_export,
    .force_flush = console_flush,
    .shutdown = console_flush,
};

stitch_exporter_t *stitch_console_exporter_new(FILE *out)
{
    return stitch_exporter_new(&console_ops, out ? out : stderr);
}

stitch_processor_t *stitch_console_processor_new(FILE *out)
{
    return stitch_simple_processor_new(stitch_console_exporter_new(out ? out : stdout));
}
