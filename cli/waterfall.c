/* cli/waterfall.c — the terminal waterfall of `stitch trace`.
 *
 * Layout: a header line, a time ruler, then one row per span in tree order
 * (children under their parent, by start time; spans whose parent is not in
 * the trace start their own tree):
 *     <indent><service> <operation>  |<bar>|  <duration>[  ERROR: message]
 * The label columns take what the longest label needs, up to half the
 * width; the bar takes the rest. Bars are placed in eighths of a cell
 * (left-partial block characters close the bar on the right).
 *
 * Invariant: every byte printed from the trace goes through put_text(),
 * which replaces C0/C1 control characters and invalid UTF-8, and widths
 * are counted in code points, so any span name keeps the columns aligned
 * and cannot send escape sequences to the terminal. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/waterfall.h"

#define MAX_INDENT_LEVELS 24

struct wspan {
    const char *id;
    const char *parent_id;
    const char *service, *op, *errmsg;
    double start, dur; /* µs */
    bool error;
    int parent;        /* index, -1 when none in the trace */
    int first_child, next_sibling;
    int depth;
};

void cli_format_duration(double us, char *buf, size_t len)
{
    if (us < 1000)
        snprintf(buf, len, "%.0f µs", us);
    else if (us < 1e6)
        snprintf(buf, len, "%.1f ms", us / 1e3);
    else if (us < 60e6)
        snprintf(buf, len, "%.2f s", us / 1e6);
    else
        snprintf(buf, len, "%.1f min", us / 60e6);
}

int cli_terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c && atoi(c) > 0)
        return atoi(c);
    return 120;
}

/* Length of the UTF-8 sequence at p (1..4) when valid, else 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && p[0] == 0xE0 && p[1] < 0xA0)
        return 0;
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F)))
        return 0;
    return len;
}

/* Print at most `cols` code points of s, safely; a cut string ends in '…'.
 * Returns the columns used. */
static int put_text(FILE *out, const char *s, int cols)
{
    if (cols <= 0 || !s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    /* count first, to know whether an ellipsis is needed */
    int total = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        i += l ? l : 1;
        total++;
    }
    int limit = total > cols ? cols - 1 : cols, used = 0;
    for (size_t i = 0; i < n && used < limit;) {
        size_t l = utf8_seq(p + i, n - i);
        if (!l || p[i] < 0x20 || p[i] == 0x7F || (l == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0))
            fputc('?', out); /* control character or broken UTF-8 */
        else
            fwrite(p + i, 1, l, out);
        i += l ? l : 1;
        used++;
    }
    if (total > cols) {
        fputs("…", out);
        used++;
    }
    return used;
}

static int text_width(const char *s)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    int w = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        i += l ? l : 1;
        w++;
    }
    return w;
}

static void pad(FILE *out, int n)
{
    for (; n > 0; n--)
        fputc(' ', out);
}

static const int palette[] = {33, 208, 70, 170, 37, 166, 99, 142, 204, 31, 178, 62};

static int service_color(const char *s)
{
    uint32_t h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return palette[h % (sizeof palette / sizeof palette[0])];
}

static bool tag_is_error(const json_t *tags, const char **msg)
{
    bool err = false;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        json_t *v = json_object_get(t, "value");
        if (!k)
            continue;
        if (!strcmp(k, "error") && (json_is_true(v) || (json_is_string(v) && !strcmp(json_string_value(v), "true"))))
            err = true;
        else if (!strcmp(k, "otel.status_code") && json_is_string(v) && !strcmp(json_string_value(v), "ERROR"))
            err = true;
        else if (!strcmp(k, "otel.status_description") && json_is_string(v))
            *msg = json_string_value(v);
    }
    return err;
}

static int cmp_start(const void *a, const void *b, void *arg)
{
    const struct wspan *s = arg;
    const struct wspan *x = &s[*(const int *)a], *y = &s[*(const int *)b];
    return x->start < y->start ? -1 : x->start > y->start ? 1 : (*(const int *)a - *(const int *)b);
}

static int cmp_id(const void *a, const void *b, void *arg)
{
    const struct wspan *s = arg;
    return strcmp(s[*(const int *)a].id, s[*(const int *)b].id);
}

static int find_span(const struct wspan *s, const int *by_id, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(s[by_id[mid]].id, id);
        if (!c)
            return by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* One bar of `cells` columns for [x0, x1) in cell units. */
static void put_bar(FILE *out, double x0, double x1, int cells, bool color, int fg)
{
    static const char *eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    int c0 = (int)floor(x0);
    if (c0 >= cells)
        c0 = cells - 1;
    if (c0 < 0)
        c0 = 0;
    long e8 = lround(x1 * 8);
    if (e8 <= (long)c0 * 8)
        e8 = (long)c0 * 8 + 1; /* even a zero-length span shows */
    if (e8 > (long)cells * 8)
        e8 = (long)cells * 8;
    int full_end = (int)(e8 / 8), part = (int)(e8 % 8);
    pad(out, c0);
    if (color)
        fprintf(out, "\x1b[38;5;%dm", fg);
    int col = c0;
    for (; col < full_end; col++)
        fputs("█", out);
    if (part && col < cells) {
        fputs(eighths[part], out);
        col++;
    }
    if (color)
        fputs("\x1b[0m", out);
    pad(out, cells - col);
}

int cli_waterfall_print(FILE *out, const json_t *trace, int width, bool color, char *err,
                        size_t errlen)
{
    const json_t *spans = json_object_get(trace, "spans");
    const json_t *procs = json_object_get(trace, "processes");
    if (!json_is_array(spans) || !json_array_size(spans)) {
        snprintf(err, errlen, "the trace has no spans");
        return -1;
    }
    if (width < 60)
        width = 60;
    if (width > 1000)
        width = 1000;
    int n = (int)json_array_size(spans);
    struct wspan *s = calloc((size_t)n, sizeof *s);
    int *order = malloc(sizeof(int) * (size_t)n * 3);
    if (!s || !order) {
        free(s);
        free(order);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int *by_id = order + n, *stack = order + 2 * n;

    double t0 = INFINITY, t1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        json_t *js = json_array_get(spans, (size_t)i);
        struct wspan *w = &s[i];
        w->id = json_string_value(json_object_get(js, "spanID"));
        if (!w->id)
            w->id = "";
        w->op = json_string_value(json_object_get(js, "operationName"));
        const char *pid = json_string_value(json_object_get(js, "processID"));
        w->service = pid ? json_string_value(json_object_get(json_object_get(procs, pid), "serviceName")) : NULL;
        if (!w->service)
            w->service = "?";
        if (!w->op)
            w->op = "";
        w->start = json_number_value(json_object_get(js, "startTime"));
        w->dur = json_number_value(json_object_get(js, "duration"));
        if (w->dur < 0)
            w->dur = 0;
        w->error = tag_is_error(json_object_get(js, "tags"), &w->errmsg);
        size_t k;
        json_t *ref;
        json_array_foreach(json_object_get(js, "references"), k, ref) {
            const char *rt = json_string_value(json_object_get(ref, "refType"));
            if (rt && !strcmp(rt, "CHILD_OF")) {
                w->parent_id = json_string_value(json_object_get(ref, "spanID"));
                break;
            }
        }
        if (!w->parent_id) /* FOLLOWS_FROM within the trace places the span too */
            w->parent_id = json_string_value(json_object_get(json_array_get(json_object_get(js, "references"), 0), "spanID"));
        w->first_child = w->next_sibling = -1;
        if (w->start < t0)
            t0 = w->start;
        if (w->start + w->dur > t1)
            t1 = w->start + w->dur;
        by_id[i] = i;
        order[i] = i;
    }
    qsort_r(by_id, (size_t)n, sizeof(int), cmp_id, s);
    /* children lists in start order: walk spans from the latest start and
     * push each onto its parent's list */
    qsort_r(order, (size_t)n, sizeof(int), cmp_start, s);
    for (int j = n - 1; j >= 0; j--) {
        struct wspan *w = &s[order[j]];
        w->parent = w->parent_id ? find_span(s, by_id, n, w->parent_id) : -1;
        if (w->parent == order[j])
            w->parent = -1;
        if (w->parent >= 0) {
            w->next_sibling = s[w->parent].first_child;
            s[w->parent].first_child = order[j];
        }
    }
    /* roots in start order; a parent cycle (malformed data) leaves spans
     * unvisited, and they are drawn as roots afterwards */
    int nrows = 0;
    int *rows = by_id; /* reused: by_id is not needed any more */
    char *seen = calloc((size_t)n, 1);
    if (!seen) {
        free(s);
        free(order);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < n; j++) {
            int r = order[j];
            if (seen[r] || (pass == 0 && s[r].parent >= 0))
                continue;
            int sp = 0;
            stack[sp++] = r;
            s[r].depth = 0;
            while (sp) {
                int v = stack[--sp];
                if (seen[v])
                    continue;
                seen[v] = 1;
                rows[nrows++] = v;
                /* push children in reverse start order so the earliest pops first */
                int cnt = 0;
                for (int c = s[v].first_child; c >= 0; c = s[c].next_sibling)
                    cnt++;
                sp += cnt;
                int idx = sp - 1;
                for (int c = s[v].first_child; c >= 0; c = s[c].next_sibling) {
                    s[c].depth = s[v].depth + 1;
                    stack[idx--] = c;
                }
            }
        }
    }
    free(seen);

    /* header */
    int nsvc = 0, nerr = 0;
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = !strcmp(s[j].service, s[i].service);
        nsvc += !dup;
        nerr += s[i].error;
        if (nsvc > 1000)
            break; /* the count is for the header only */
    }
    double total = t1 - t0 > 0 ? t1 - t0 : 1;
    char dbuf[32];
    cli_format_duration(t1 - t0, dbuf, sizeof dbuf);
    const char *tid = json_string_value(json_object_get(trace, "traceID"));
    fprintf(out, "trace ");
    put_text(out, tid ? tid : "?", 40);
    fprintf(out, "  %s  %d span%s  %d service%s", dbuf, n, n == 1 ? "" : "s", nsvc,
            nsvc == 1 ? "" : "s");
    if (nerr)
        fprintf(out, "  %s%d error%s%s", color ? "\x1b[1;31m" : "", nerr, nerr == 1 ? "" : "s",
                color ? "\x1b[0m" : "");
    fputc('\n', out);

    /* columns */
    int svc_w = 0, op_w = 0;
    for (int i = 0; i < n; i++) {
        int d = s[i].depth < MAX_INDENT_LEVELS ? s[i].depth : MAX_INDENT_LEVELS;
        int w = 2 * d + text_width(s[i].service);
        if (w > svc_w)
            svc_w = w;
        if (text_width(s[i].op) > op_w)
            op_w = text_width(s[i].op);
    }
    const int dur_w = 10;
    int label_max = width / 2;
    if (svc_w > label_max * 3 / 5)
        svc_w = label_max * 3 / 5;
    if (svc_w + 1 + op_w > label_max)
        op_w = label_max - svc_w - 1;
    int bar_w = width - (svc_w + 1 + op_w) - 3 - dur_w;
    if (bar_w < 10)
        bar_w = 10;

    /* ruler: 0 at the left, the total at the right, the middle between */
    char mid[32];
    cli_format_duration(total / 2, mid, sizeof mid);
    pad(out, svc_w + 1 + op_w + 1);
    fputc('|', out);
    char left[] = "0";
    int lw = 1, mw = text_width(mid), rw = text_width(dbuf);
    if (bar_w >= lw + mw + rw + 4) {
        int mpos = bar_w / 2 - mw / 2;
        fputs(left, out);
        pad(out, mpos - lw);
        fputs(mid, out);
        pad(out, bar_w - rw - mpos - mw);
        fputs(dbuf, out);
    } else {
        pad(out, bar_w);
    }
    fputs("|\n", out);

    for (int r = 0; r < nrows; r++) {
        const struct wspan *w = &s[rows[r]];
        int d = w->depth < MAX_INDENT_LEVELS ? w->depth : MAX_INDENT_LEVELS;
        int used = 0;
        pad(out, 2 * d);
        used += 2 * d;
        int fg = service_color(w->service);
        if (color)
            fprintf(out, "\x1b[38;5;%dm", fg);
        used += put_text(out, w->service, svc_w - used);
        if (color)
            fputs("\x1b[0m", out);
        pad(out, svc_w - used);
        fputc(' ', out);
        pad(out, op_w - put_text(out, w->op, op_w));
        fputs(" |", out);
        double x0 = (w->start - t0) / total * bar_w, x1 = (w->start + w->dur - t0) / total * bar_w;
        put_bar(out, x0, x1, bar_w, color, w->error ? 196 : fg);
        fputc('|', out);
        cli_format_duration(w->dur, dbuf, sizeof dbuf);
        pad(out, dur_w - text_width(dbuf));
        fputs(dbuf, out);
        if (w->error) {
            fputs(color ? "  \x1b[1;31mERROR\x1b[0m" : "  ERROR", out);
            if (w->errmsg && *w->errmsg) {
                fputs(": ", out);
                put_text(out, w->errmsg, 60);
            }
        }
        fputc('\n', out);
    }
    free(s);
    free(order);
    return 0;
}
