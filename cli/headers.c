/* cli/headers.c — `stitch headers decode`: reads HTTP header lines
 * ("Name: value") from the arguments or standard input and prints one JSON
 * object per propagation format found (traceparent, b3, X-B3-*,
 * uber-trace-id, then baggage), using the library's own decoders so the
 * tool says exactly what a stitch service would make of the headers.
 *
 * Invariant: output keys come in a fixed order (the contract external
 * tools parse); exit 0 when some format gave a valid context, 1 when none
 * did, 2 on a usage error. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "stitch/propagation.h"

struct header {
    char *name;
    char *value;
    size_t value_len;
};

struct headers {
    struct header *h;
    size_t n, cap;
};

/* The carrier: names compared case-insensitively, as on the wire. */
static const char *hget(void *self, const char *name, size_t idx, size_t *len)
{
    struct headers *hs = self;
    for (size_t i = 0; i < hs->n; i++)
        if (!strcasecmp(hs->h[i].name, name) && idx-- == 0) {
            *len = hs->h[i].value_len;
            return hs->h[i].value;
        }
    return NULL;
}

static void hkeys(void *self, void (*fn)(void *, const char *, size_t), void *arg)
{
    struct headers *hs = self;
    for (size_t i = 0; i < hs->n; i++)
        fn(arg, hs->h[i].name, strlen(hs->h[i].name));
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Add one line; blank lines are skipped. CLI_OK or CLI_USAGE. */
static int add_line(struct headers *hs, const char *line)
{
    char *copy = strdup(line);
    if (!copy) {
        fprintf(stderr, "stitch headers: out of memory\n");
        return CLI_USAGE;
    }
    char *t = trim(copy);
    if (!*t) {
        free(copy);
        return CLI_OK;
    }
    char *colon = strchr(t, ':');
    if (!colon || colon == t) {
        fprintf(stderr, "stitch headers: not a header line (want 'Name: value'): %s\n", t);
        free(copy);
        return CLI_USAGE;
    }
    *colon = '\0';
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 16;
        struct header *h = realloc(hs->h, cap * sizeof *h);
        if (!h) {
            free(copy);
            fprintf(stderr, "stitch headers: out of memory\n");
            return CLI_USAGE;
        }
        hs->h = h;
        hs->cap = cap;
    }
    /* name and value share the copy; `name` owns it */
    char *name = trim(t), *value = trim(colon + 1);
    memmove(copy, name, strlen(name) + 1);
    hs->h[hs->n++] = (struct header){copy, value, strlen(value)};
    return CLI_OK;
}

static json_t *str_or_null(const char *s, size_t n)
{
    if (!s)
        return json_null();
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    /* not UTF-8 (a percent-decoded baggage value can be anything): show
     * the bytes that are ASCII and mark the others */
    char *c = malloc(n + 1);
    if (!c)
        return json_null();
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_stringn(c, n);
    free(c);
    return j ? j : json_null();
}

static json_t *hex_or_null(bool present, const uint8_t *id, size_t n)
{
    char buf[33];
    if (!present)
        return json_null();
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hx[id[i] >> 4];
        buf[2 * i + 1] = hx[id[i] & 15];
    }
    return json_stringn(buf, 2 * n);
}

static int print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

static json_t *context_json(const char *format, const stitch_decoded_t *d)
{
    json_t *o = json_object();
    bool ids = d->valid && d->has_ids;
    json_object_set_new(o, "format", json_string(format));
    json_object_set_new(o, "valid", json_boolean(d->valid));
    json_object_set_new(o, "trace_id", hex_or_null(ids, d->trace_id, 16));
    json_object_set_new(o, "span_id", hex_or_null(ids, d->span_id, 8));
    json_object_set_new(o, "parent_span_id", hex_or_null(ids && d->has_parent, d->parent_span_id, 8));
    json_object_set_new(o, "sampled",
                        (!d->valid || d->sampled < 0) ? json_null() : json_boolean(d->sampled));
    json_object_set_new(o, "debug", json_boolean(d->valid && d->debug));
    size_t tl;
    const char *ts = d->tracestate ? stitch_tracestate_str(d->tracestate, &tl) : NULL;
    json_object_set_new(o, "tracestate", str_or_null(ts, ts ? tl : 0));
    json_object_set_new(o, "error", d->valid ? json_null() : json_string(d->error ? d->error : "invalid"));
    return o;
}

static json_t *baggage_json(const stitch_decoded_t *d)
{
    json_t *o = json_object(), *e = json_object();
    json_object_set_new(o, "format", json_string("baggage"));
    json_object_set_new(o, "valid", json_boolean(d->valid));
    for (size_t i = 0; i < stitch_baggage_count(d->baggage); i++) {
        stitch_baggage_entry_t be;
        if (stitch_baggage_at(d->baggage, i, &be) == 0)
            json_object_set_new(e, be.key, str_or_null(be.value, be.value_len));
    }
    json_object_set_new(o, "entries", e);
    json_object_set_new(o, "error", d->valid ? json_null() : json_string(d->error ? d->error : "invalid"));
    return o;
}

static int decode(struct headers *hs)
{
    static const struct {
        stitch_format_t f;
        const char *name;
    } formats[] = {
        {STITCH_FORMAT_W3C, "w3c"},
        {STITCH_FORMAT_B3, "b3"},
        {STITCH_FORMAT_B3MULTI, "b3multi"},
        {STITCH_FORMAT_JAEGER, "jaeger"},
    };
    stitch_carrier_t c = {hs, hget, NULL, hkeys};
    bool found = false;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        stitch_decoded_t d;
        int rc = stitch_decode(formats[i].f, &c, &d);
        if (rc == STITCH_ENOTFOUND)
            continue;
        if (rc == STITCH_ENOMEM) {
            fprintf(stderr, "stitch headers: out of memory\n");
            return CLI_NOTHING;
        }
        found |= d.valid;
        json_t *o = context_json(formats[i].name, &d);
        stitch_decoded_release(&d);
        if (print_json(o) != 0) {
            fprintf(stderr, "stitch headers: cannot format JSON\n");
            return CLI_NOTHING;
        }
    }
    stitch_decoded_t d;
    int rc = stitch_decode(STITCH_FORMAT_BAGGAGE, &c, &d);
    if (rc == STITCH_OK || rc == STITCH_EINVAL) { /* baggage is not a context */
        json_t *o = baggage_json(&d);
        stitch_decoded_release(&d);
        if (print_json(o) != 0)
            fprintf(stderr, "stitch headers: cannot format JSON\n");
    }
    return found ? CLI_OK : CLI_NOTHING;
}

void cli_headers_usage(FILE *out)
{
    fprintf(out,
            "usage: stitch headers decode [HEADER-LINE...]\n"
            "\n"
            "Decode trace-context headers as a stitch service would read them.\n"
            "Each argument is one 'Name: value' line; with none, lines are read\n"
            "from standard input. One JSON object is printed per format present:\n"
            "traceparent/tracestate (w3c), b3, X-B3-* (b3multi), uber-trace-id\n"
            "(jaeger), then baggage.\n"
            "\n"
            "exit status: 0 a valid context was found, 1 none was, 2 usage error\n");
}

static void free_headers(struct headers *hs)
{
    for (size_t i = 0; i < hs->n; i++)
        free(hs->h[i].name);
    free(hs->h);
}

int cli_headers(int argc, char **argv)
{
    if (argc < 2) {
        cli_headers_usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        cli_headers_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "decode") != 0) {
        fprintf(stderr, "stitch headers: unknown %s '%s'\n",
                argv[1][0] == '-' ? "option" : "subcommand", argv[1]);
        cli_headers_usage(stderr);
        return CLI_USAGE;
    }
    struct headers hs = {0};
    int rc = CLI_OK;
    for (int i = 2; i < argc && rc == CLI_OK; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            free_headers(&hs);
            cli_headers_usage(stdout);
            return CLI_OK;
        }
        if (argv[i][0] == '-' && !strchr(argv[i], ':')) {
            fprintf(stderr, "stitch headers decode: unknown option '%s'\n", argv[i]);
            rc = CLI_USAGE;
            break;
        }
        rc = add_line(&hs, argv[i]);
    }
    if (argc == 2) {
        char *line = NULL;
        size_t cap = 0;
        while (rc == CLI_OK && getline(&line, &cap, stdin) >= 0)
            rc = add_line(&hs, line);
        free(line);
    }
    if (rc == CLI_OK)
        rc = decode(&hs);
    free_headers(&hs);
    return rc;
}
