/* bench/bench_propagation.c — per-operation cost of the propagators,
 * single thread. Prints one line per figure:
 *   name  median_ns  (runs: r1 r2 ...)
 * Figures, not pass/fail; bench/RESULTS.md records them with the machine.
 *
 * The carrier is a realistic HTTP/1.1 request header table: the 8 headers a
 * typical JSON API request carries (Host, User-Agent, Accept,
 * Accept-Encoding, Accept-Language, Content-Type, Content-Length,
 * Connection; names in their usual mixed case) followed by the trace
 * headers under test, as an instrumented client appends them. get() is a
 * linear scan with an ASCII case-insensitive name match, as a server's
 * header list (libmicrohttpd, nginx's list) does it, so every lookup —
 * including the ones that find nothing, like the check for a repeated
 * traceparent — walks the whole table. set() copies the value, as writing
 * into an outgoing header buffer would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stitch/propagation.h"

#define RUNS 7
#define ITERS 1000000

struct hdr {
    const char *name, *value;
    size_t len;
};
struct arr {
    struct hdr h[16];
    size_t n;
    char out[4][256]; /* where set() copies, like a header buffer */
};

/* ASCII case-insensitive equality, as a header map would do it. */
static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if ((*a | 0x20) != (*b | 0x20))
            return 0;
    return *a == *b;
}

static const char *aget(void *self, const char *name, size_t idx, size_t *len)
{
    struct arr *a = self;
    for (size_t i = 0; i < a->n; i++)
        if (name_eq(a->h[i].name, name) && idx-- == 0) {
            *len = a->h[i].len;
            return a->h[i].value;
        }
    return NULL;
}

static int aset(void *self, const char *name, const char *value)
{
    struct arr *a = self;
    size_t slot = name[0] == 't' && name[5] == 's'; /* traceparent 0, tracestate 1 */
    size_t n = strlen(value);
    if (n >= sizeof a->out[0])
        return STITCH_ELIMIT;
    memcpy(a->out[slot], value, n + 1);
    return 0;
}

static void add(struct arr *a, const char *name, const char *value)
{
    a->h[a->n++] = (struct hdr){name, value, strlen(value)};
}

/* The headers of a typical request, before the trace headers. */
static void add_typical(struct arr *a)
{
    add(a, "Host", "api.example.com");
    add(a, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    add(a, "Accept", "application/json, text/plain, */*");
    add(a, "Accept-Encoding", "gzip, deflate, br");
    add(a, "Accept-Language", "en-US,en;q=0.9");
    add(a, "Content-Type", "application/json");
    add(a, "Content-Length", "348");
    add(a, "Connection", "keep-alive");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static volatile unsigned sink;

/* EXTRACT, INJECT: the propagator. LOOKUPS: only the carrier get() calls
 * a W3C extract has to make (traceparent #0, traceparent #1 to reject a
 * repeated header, tracestate #0, and tracestate #1 when #0 exists), the
 * floor under any extract on this carrier. */
enum op { EXTRACT, INJECT, LOOKUPS };

static double run_once(enum op op, const stitch_propagator_t *p, struct arr *a, stitch_ctx_t *src)
{
    stitch_carrier_t c = {a, aget, aset, NULL};
    double t0 = now();
    for (int i = 0; i < ITERS; i++) {
        if (op == EXTRACT) {
            stitch_ctx_t ctx = STITCH_CTX_INIT;
            int rc = stitch_extract(p, &c, &ctx);
            sink += (unsigned)rc + ctx.span.trace_id[0];
            stitch_tracestate_unref(ctx.tracestate);
            stitch_baggage_unref(ctx.baggage);
        } else if (op == INJECT) {
            sink += (unsigned)stitch_inject(p, src, &c) + (unsigned char)a->out[0][5];
        } else {
            size_t l = 0;
            const char *v = c.get(c.self, "traceparent", 0, &l);
            sink += (v != NULL) + (c.get(c.self, "traceparent", 1, &l) != NULL);
            if (c.get(c.self, "tracestate", 0, &l))
                sink += c.get(c.self, "tracestate", 1, &l) != NULL;
        }
    }
    return (now() - t0) / ITERS;
}

static void bench(const char *name, enum op op, const stitch_propagator_t *p, struct arr *a,
                  stitch_ctx_t *src)
{
    double r[RUNS], s[RUNS];
    (void)run_once(op, p, a, src); /* warm up */
    for (int i = 0; i < RUNS; i++)
        r[i] = s[i] = run_once(op, p, a, src);
    qsort(s, RUNS, sizeof s[0], cmpd);
    printf("%-28s %7.1f  (runs:", name, s[RUNS / 2]);
    for (int i = 0; i < RUNS; i++)
        printf(" %.1f", r[i]);
    printf(")\n");
}

int main(void)
{
    const stitch_propagator_t *tc = stitch_propagator_get(STITCH_PROP_TRACECONTEXT);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    struct arr a = {0};
    add_typical(&a);
    add(&a, "traceparent", tp);
    bench("traceparent_extract", EXTRACT, tc, &a, NULL);
    bench("  carrier lookups only", LOOKUPS, tc, &a, NULL);

    stitch_ctx_t ctx = STITCH_CTX_INIT;
    if (stitch_traceparent_parse(tp, strlen(tp), &ctx.span) != 0)
        return 1;
    struct arr out = {0};
    bench("traceparent_inject", INJECT, tc, &out, &ctx);

    struct arr b = {0};
    add_typical(&b);
    add(&b, "traceparent", tp);
    add(&b, "tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    bench("tracestate2_extract", EXTRACT, tc, &b, NULL);
    bench("  carrier lookups only", LOOKUPS, tc, &b, NULL);

    struct arr c = {0};
    add_typical(&c);
    add(&c, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");
    bench("b3_single_extract", EXTRACT, stitch_propagator_get(STITCH_PROP_B3), &c, NULL);

    struct arr d = {0};
    add_typical(&d);
    add(&d, "baggage", "userId=alice,serverNode=DF%2028,isProduction=false");
    bench("baggage_extract", EXTRACT, stitch_propagator_get(STITCH_PROP_BAGGAGE), &d, NULL);
    return 0;
}
