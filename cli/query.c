/* cli/query.c — `stitch trace`, `stitch search` and `stitch services`: the
 * query commands, reading stitchd's Jaeger-compatible API (docs/cli.md).
 * Invariant: exit 0 when something was found and printed, 1 when the
 * server answered but found nothing, 2 on a usage error, 3 when the server
 * could not be asked (down, unreachable, answered an error), 4 when it
 * refused the request (401/403). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/api.h"
#include "cli/cli.h"
#include "cli/waterfall.h"

/* A Go-style duration ("1h30m", "100ms", "1.5s", "250us", "250µs", "90m"),
 * as the query API takes it; µs in *out. 0 or -1. */
static int parse_duration(const char *s, double *out)
{
    static const struct {
        const char *unit;
        double us;
    } units[] = {{"ns", 1e-3}, {"us", 1}, {"µs", 1}, {"μs", 1}, {"ms", 1e3},
                 {"s", 1e6},   {"m", 60e6}, {"h", 3600e6}, {"d", 86400e6}};
    double total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0 || *s == '-' || *s == '+')
            return -1;
        s = end;
        size_t best = 0, bi = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (!strncmp(s, units[i].unit, l) && l > best) {
                best = l;
                bi = i;
            }
        }
        if (!best)
            return -1;
        total += v * units[bi].us;
        s += best;
    }
    *out = total;
    return 0;
}

static void print_json(const json_t *v)
{
    char *txt = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (txt) {
        fputs(txt, stdout);
        fputc('\n', stdout);
        free(txt);
    }
}

/* Report a non-200 answer; returns the exit code. */
static int api_failed(const char *cmd, long status, const json_t *body)
{
    const char *msg = cli_api_error(body);
    fprintf(stderr, "stitch %s: stitchd answered HTTP %ld%s%s\n", cmd, status, msg ? ": " : "",
            msg ? msg : "");
    return status == 400 ? CLI_USAGE : CLI_ERROR;
}

static bool is_hex_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

/* ---- stitch trace ------------------------------------------------------------ */

void cli_trace_usage(FILE *out)
{
    fprintf(out,
            "usage: stitch trace [options] TRACE_ID\n"
            "\n"
            "Draw a trace as a waterfall: the span tree indented, one bar per span on a\n"
            "time axis scaled to the terminal, durations, errors marked.\n"
            "\n"
            "options:\n"
            "  --server URL     stitchd's query API (default $STITCH_SERVER or %s)\n"
            "  --json           print the trace as Jaeger JSON instead\n"
            "  --color WHEN     auto (default: when stdout is a terminal), always, never\n"
            "  --width N        columns to draw in (default: the terminal's)\n"
            CLI_AUTH_HELP,
            CLI_DEFAULT_SERVER);
}

int cli_trace(int argc, char **argv)
{
    cli_common_t c;
    cli_common_init(&c);
    const char *id = NULL;
    int width = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&c, "trace", argc, argv, &i);
        if (r < 0)
            return CLI_USAGE;
        if (r)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_trace_usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(argv[i], "--width") && i + 1 < argc) {
            width = atoi(argv[++i]);
            if (width <= 0) {
                fprintf(stderr, "stitch trace: --width wants a positive number\n");
                return CLI_USAGE;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "stitch trace: unknown option '%s'\n", argv[i]);
            cli_trace_usage(stderr);
            return CLI_USAGE;
        } else if (id) {
            fprintf(stderr, "stitch trace: one trace id, please ('%s' and '%s')\n", id, argv[i]);
            return CLI_USAGE;
        } else {
            id = argv[i];
        }
    }
    if (!id) {
        cli_trace_usage(stderr);
        return CLI_USAGE;
    }
    if (!is_hex_id(id)) {
        fprintf(stderr, "stitch trace: '%s' is not a trace id (1 to 32 hex digits)\n", id);
        return CLI_USAGE;
    }
    char path[64];
    snprintf(path, sizeof path, "/api/traces/%s", id);
    long status = 0;
    json_t *body = cli_api_get(&c, "trace", path, &status);
    if (!body)
        return cli_api_exit_code(status);
    int rc = CLI_OK;
    json_t *trace = json_array_get(json_object_get(body, "data"), 0);
    if (status == 404 || (status == 200 && !trace)) {
        fprintf(stderr, "stitch trace: trace %s not found\n", id);
        rc = CLI_NOTHING;
    } else if (status != 200) {
        rc = api_failed("trace", status, body);
    } else if (c.json) {
        print_json(trace);
    } else {
        char err[128];
        if (cli_waterfall_print(stdout, trace, width ? width : cli_terminal_width(),
                                cli_use_color(&c), err, sizeof err) < 0) {
            fprintf(stderr, "stitch trace: %s\n", err);
            rc = CLI_ERROR;
        }
    }
    json_decref(body);
    return rc;
}

/* ---- stitch search -------------------------------------------------------------- */

void cli_search_usage(FILE *out)
{
    fprintf(out,
            "usage: stitch search [options]\n"
            "\n"
            "Find traces with a span that matches every condition given; newest first.\n"
            "\n"
            "options:\n"
            "  --service S        the span's service\n"
            "  --operation O      the span's operation (name)\n"
            "  --tag KEY=VALUE    an attribute of the span or its resource (repeatable)\n"
            "  --min-duration D   e.g. 100ms, 1.5s, 250us\n"
            "  --max-duration D\n"
            "  --since D          how far back to look (default 1h; e.g. 15m, 2h, 7d)\n"
            "  --limit N          at most N traces (default 20)\n"
            "  --server URL       stitchd's query API (default $STITCH_SERVER or %s)\n"
            "  --json             print the traces as Jaeger JSON instead\n"
            "  --color WHEN       auto, always, never\n"
            CLI_AUTH_HELP,
            CLI_DEFAULT_SERVER);
}

struct strbuf {
    char *p;
    size_t n, cap;
};

static int sb_add(struct strbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + l + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
    return 0;
}

static int sb_param(struct strbuf *b, const char *key, const char *val)
{
    char *enc = cli_url_encode(val);
    int rc = !enc || sb_add(b, b->n ? "&" : "?") || sb_add(b, key) || sb_add(b, "=") ||
             sb_add(b, enc);
    free(enc);
    return rc ? -1 : 0;
}

/* One line per trace: id, start, duration, spans, errors, root span. */
static void print_trace_line(const json_t *t, bool color)
{
    json_t *spans = json_object_get(t, "spans"), *procs = json_object_get(t, "processes");
    size_t n = json_array_size(spans), i, errors = 0;
    double t0 = 0, t1 = 0;
    const json_t *root = NULL, *sp;
    json_array_foreach(spans, i, sp) {
        double st = json_number_value(json_object_get(sp, "startTime"));
        double en = st + json_number_value(json_object_get(sp, "duration"));
        if (i == 0 || st < t0)
            t0 = st;
        if (i == 0 || en > t1)
            t1 = en;
        json_t *refs = json_object_get(sp, "references");
        if (!json_array_size(refs) && (!root || st < json_number_value(json_object_get(root, "startTime"))))
            root = sp;
        size_t k;
        json_t *tag;
        json_array_foreach(json_object_get(sp, "tags"), k, tag) {
            const char *key = json_string_value(json_object_get(tag, "key"));
            json_t *v = json_object_get(tag, "value");
            if (key && !strcmp(key, "error") &&
                (json_is_true(v) || (json_is_string(v) && !strcmp(json_string_value(v), "true")))) {
                errors++;
                break;
            }
        }
    }
    if (!root)
        root = json_array_get(spans, 0);
    const char *pid = json_string_value(json_object_get(root, "processID"));
    const char *svc = json_string_value(json_object_get(json_object_get(procs, pid ? pid : ""), "serviceName"));
    const char *op = json_string_value(json_object_get(root, "operationName"));
    char when[32] = "?", dur[32];
    time_t secs = (time_t)(t0 / 1e6);
    struct tm tm;
    if (localtime_r(&secs, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    cli_format_duration(t1 - t0, dur, sizeof dur);
    const char *tid = json_string_value(json_object_get(t, "traceID"));
    printf("%-32s  %s  %10s  %5zu  ", tid ? tid : "?", when, dur, n);
    if (errors)
        printf(color ? "\x1b[1;31m%6zu\x1b[0m  " : "%6zu  ", errors);
    else
        printf("%6s  ", "-");
    /* names come from the network: strip control characters */
    for (const char *p = svc ? svc : "?"; *p; p++)
        putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
    fputs(": ", stdout);
    for (const char *p = op ? op : ""; *p; p++)
        putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
    putchar('\n');
}

int cli_search(int argc, char **argv)
{
    cli_common_t c;
    cli_common_init(&c);
    const char *service = NULL, *operation = NULL, *mind = NULL, *maxd = NULL, *since = "1h";
    long limit = 20;
    json_t *tags = json_object();
    struct strbuf q = {0};
    int rc = CLI_USAGE;
    if (!tags)
        return CLI_ERROR;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&c, "search", argc, argv, &i);
        if (r < 0)
            goto out;
        if (r)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_search_usage(stdout);
            rc = CLI_OK;
            goto out;
        }
        if (a[0] != '-' || i + 1 >= argc) {
            fprintf(stderr, "stitch search: %s '%s'\n",
                    a[0] == '-' ? "missing value for" : "unexpected argument", a);
            cli_search_usage(stderr);
            goto out;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--service"))
            service = v;
        else if (!strcmp(a, "--operation"))
            operation = v;
        else if (!strcmp(a, "--min-duration"))
            mind = v;
        else if (!strcmp(a, "--max-duration"))
            maxd = v;
        else if (!strcmp(a, "--since"))
            since = v;
        else if (!strcmp(a, "--limit")) {
            char *end;
            limit = strtol(v, &end, 10);
            if (*end || limit <= 0 || limit > 10000) {
                fprintf(stderr, "stitch search: --limit wants 1..10000, not '%s'\n", v);
                goto out;
            }
        } else if (!strcmp(a, "--tag")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                fprintf(stderr, "stitch search: --tag wants KEY=VALUE, not '%s'\n", v);
                goto out;
            }
            char *key = strndup(v, (size_t)(eq - v));
            if (!key || json_object_set_new(tags, key, json_string(eq + 1))) {
                free(key);
                fprintf(stderr, "stitch search: --tag '%s': not valid UTF-8 or out of memory\n", v);
                goto out;
            }
            free(key);
        } else {
            fprintf(stderr, "stitch search: unknown option '%s'\n", a);
            cli_search_usage(stderr);
            goto out;
        }
    }
    double us;
    if ((mind && parse_duration(mind, &us)) || (maxd && parse_duration(maxd, &us))) {
        fprintf(stderr, "stitch search: '%s' is not a duration (e.g. 100ms, 1.5s, 2m)\n",
                mind && parse_duration(mind, &us) ? mind : maxd);
        goto out;
    }
    double since_us;
    if (parse_duration(since, &since_us) || since_us <= 0) {
        fprintf(stderr, "stitch search: --since '%s' is not a duration (e.g. 15m, 2h, 7d)\n", since);
        goto out;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double end_us = (double)now.tv_sec * 1e6 + now.tv_nsec / 1e3;
    char num[32];
    int bad = 0;
    if (service)
        bad |= sb_param(&q, "service", service);
    if (operation)
        bad |= sb_param(&q, "operation", operation);
    if (json_object_size(tags)) {
        char *t = json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS);
        bad |= !t || sb_param(&q, "tags", t);
        free(t);
    }
    if (mind)
        bad |= sb_param(&q, "minDuration", mind);
    if (maxd)
        bad |= sb_param(&q, "maxDuration", maxd);
    snprintf(num, sizeof num, "%.0f", end_us - since_us > 0 ? end_us - since_us : 0);
    bad |= sb_param(&q, "start", num);
    snprintf(num, sizeof num, "%.0f", end_us);
    bad |= sb_param(&q, "end", num);
    snprintf(num, sizeof num, "%ld", limit);
    bad |= sb_param(&q, "limit", num);
    char *path = NULL;
    if (bad || asprintf(&path, "/api/traces%s", q.p) < 0) {
        fprintf(stderr, "stitch search: out of memory\n");
        rc = CLI_ERROR;
        goto out;
    }
    long status = 0;
    json_t *body = cli_api_get(&c, "search", path, &status);
    free(path);
    if (!body) {
        rc = cli_api_exit_code(status);
        goto out;
    }
    json_t *data = json_object_get(body, "data");
    if (status != 200) {
        rc = api_failed("search", status, body);
    } else if (!json_array_size(data)) {
        fprintf(stderr, "stitch search: no traces found\n");
        if (c.json)
            puts("[]");
        rc = CLI_NOTHING;
    } else if (c.json) {
        print_json(data);
        rc = CLI_OK;
    } else {
        printf("%-32s  %-19s  %10s  %5s  %6s  %s\n", "TRACE ID", "START", "DURATION", "SPANS",
               "ERRORS", "ROOT");
        size_t i;
        json_t *t;
        json_array_foreach(data, i, t)
            print_trace_line(t, cli_use_color(&c));
        rc = CLI_OK;
    }
    json_decref(body);
out:
    json_decref(tags);
    free(q.p);
    return rc;
}

/* ---- stitch services ------------------------------------------------------------ */

void cli_services_usage(FILE *out)
{
    fprintf(out,
            "usage: stitch services [options] [SERVICE]\n"
            "\n"
            "List the services stitchd has spans of, one per line; with SERVICE, list\n"
            "that service's operations instead.\n"
            "\n"
            "options:\n"
            "  --server URL     stitchd's query API (default $STITCH_SERVER or %s)\n"
            "  --json           print the API's JSON list instead\n"
            CLI_AUTH_HELP,
            CLI_DEFAULT_SERVER);
}

int cli_services(int argc, char **argv)
{
    cli_common_t c;
    cli_common_init(&c);
    const char *service = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&c, "services", argc, argv, &i);
        if (r < 0)
            return CLI_USAGE;
        if (r)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_services_usage(stdout);
            return CLI_OK;
        }
        if (argv[i][0] == '-' || service) {
            fprintf(stderr, "stitch services: unexpected argument '%s'\n", argv[i]);
            cli_services_usage(stderr);
            return CLI_USAGE;
        }
        service = argv[i];
    }
    char *path = NULL;
    if (service) {
        char *enc = cli_url_encode(service);
        if (!enc || asprintf(&path, "/api/services/%s/operations", enc) < 0)
            path = NULL;
        free(enc);
    } else {
        path = strdup("/api/services");
    }
    if (!path) {
        fprintf(stderr, "stitch services: out of memory\n");
        return CLI_ERROR;
    }
    long status = 0;
    json_t *body = cli_api_get(&c, "services", path, &status);
    free(path);
    if (!body)
        return cli_api_exit_code(status);
    int rc = CLI_OK;
    json_t *data = json_object_get(body, "data");
    if (status != 200) {
        rc = api_failed("services", status, body);
    } else if (c.json) {
        if (json_is_array(data))
            print_json(data);
        else
            puts("[]");
        rc = json_array_size(data) ? CLI_OK : CLI_NOTHING;
    } else if (!json_array_size(data)) {
        fprintf(stderr, service ? "stitch services: no operations for this service\n"
                                : "stitch services: no services yet\n");
        rc = CLI_NOTHING;
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(data, i, v) {
            const char *s = json_string_value(v);
            if (!s)
                continue;
            for (const char *p = s; *p; p++)
                putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
            putchar('\n');
        }
    }
    json_decref(body);
    return rc;
}
