/* sdk/sampler_env.c — the head sampler from the environment:
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG (OpenTelemetry's names and
 * values) and STITCH_TRACES_SAMPLER_RULES (stitch's rule syntax).
 *
 * Invariant: configuration never fails the program. A bad value is logged
 * once, naming the variable and the value, and replaced by OpenTelemetry's
 * default (parentbased_always_on for the sampler, the documented default for
 * the argument); only running out of memory gives NULL. */
#include <stdlib.h>
#include <string.h>

#include "sdk/internal.h"

#define DEFAULT_RATIO 1.0
#define DEFAULT_RATE 1.0 /* traces per second */

enum kind { K_ON, K_OFF, K_RATIO, K_RATE, K_RULES };

static const struct {
    const char *name;
    enum kind kind;
    bool parent_based;
} samplers[] = {
    {"always_on", K_ON, false},
    {"always_off", K_OFF, false},
    {"traceidratio", K_RATIO, false},
    {"parentbased_always_on", K_ON, true},
    {"parentbased_always_off", K_OFF, true},
    {"parentbased_traceidratio", K_RATIO, true},
    {"ratelimiting", K_RATE, false},
    {"parentbased_ratelimiting", K_RATE, true},
    {"rules", K_RULES, false},
    {"parentbased_rules", K_RULES, true},
};

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static stitch_sampler_t *default_sampler(void)
{
    return stitch_sampler_parent_based(stitch_sampler_always_on());
}

/* OTEL_TRACES_SAMPLER_ARG as a number in [lo, hi], or `def` with a warning. */
static double arg_number(const char *arg, double lo, double hi, double def, const char *what)
{
    if (!arg)
        return def;
    const char *s = arg;
    size_t n = strlen(arg);
    trim(&s, &n);
    double x;
    if (stitch__parse_double(s, n, &x) == STITCH_OK && x >= lo && x <= hi)
        return x;
    stitch__log(STITCH_LOG_WARN, "OTEL_TRACES_SAMPLER_ARG=\"%s\" is not %s; using %g", arg, what,
                def);
    return def;
}

stitch_sampler_t *stitch_sampler_from_env(void)
{
    const char *name = stitch__getenv("OTEL_TRACES_SAMPLER");
    const char *arg = stitch__getenv("OTEL_TRACES_SAMPLER_ARG");
    if (!name)
        return default_sampler();
    const char *s = name;
    size_t n = strlen(name);
    trim(&s, &n);
    size_t i = 0, count = sizeof samplers / sizeof samplers[0];
    while (i < count && !stitch__strieq(s, n, samplers[i].name))
        i++;
    if (i == count) {
        bool known = stitch__strieq(s, n, "jaeger_remote") ||
                     stitch__strieq(s, n, "parentbased_jaeger_remote") || stitch__strieq(s, n, "xray");
        stitch__log(STITCH_LOG_WARN,
                    "OTEL_TRACES_SAMPLER=\"%s\" is %s; using parentbased_always_on "
                    "(valid: always_on, always_off, traceidratio, parentbased_always_on, "
                    "parentbased_always_off, parentbased_traceidratio, ratelimiting, "
                    "parentbased_ratelimiting, rules, parentbased_rules)",
                    name, known ? "not supported by stitch" : "not a known sampler");
        return default_sampler();
    }

    stitch_sampler_t *root = NULL;
    switch (samplers[i].kind) {
    case K_ON:
        root = stitch_sampler_always_on();
        break;
    case K_OFF:
        root = stitch_sampler_always_off();
        break;
    case K_RATIO:
        root = stitch_sampler_trace_id_ratio(
            arg_number(arg, 0.0, 1.0, DEFAULT_RATIO, "a ratio between 0 and 1"));
        break;
    case K_RATE:
        root = stitch_sampler_rate_limiting(
            arg_number(arg, 0.0, 1e9, DEFAULT_RATE, "a rate >= 0 (traces per second)"));
        break;
    case K_RULES: {
        const char *text = stitch__getenv("STITCH_TRACES_SAMPLER_RULES");
        if (!text) {
            stitch__log(STITCH_LOG_WARN,
                        "OTEL_TRACES_SAMPLER=\"%s\" needs STITCH_TRACES_SAMPLER_RULES, which is "
                        "not set; using parentbased_always_on",
                        name);
            return default_sampler();
        }
        stitch_sampler_parse_error_t perr;
        int err = stitch_sampler_rules_parse(text, NULL, &root, &perr);
        if (err == STITCH_ENOMEM)
            return NULL;
        if (err != STITCH_OK) {
            stitch__log(STITCH_LOG_WARN,
                        "STITCH_TRACES_SAMPLER_RULES=\"%s\": at byte %zu (\"%.20s\"): %s; "
                        "using parentbased_always_on",
                        text, perr.offset, text + perr.offset, perr.msg);
            return default_sampler();
        }
        break;
    }
    }
    if (root && samplers[i].parent_based)
        return stitch_sampler_parent_based(root);
    return root;
}
