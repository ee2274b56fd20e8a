/* daemon/sampling_config.c — the `tail_sampling:` section of stitchd's YAML
 * config, in the OpenTelemetry Collector's schema, turned into a policy
 * tree (sampling.h). Pasting a Collector configuration must work, so the
 * key names, defaults and policy types are the Collector's; anything this
 * file does not know is an error that names the file and line, never
 * silently ignored (a typo in `status_code` must not turn "keep errors"
 * into "keep nothing").
 * Invariant: on error nothing leaks and *out is untouched. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "daemon/config.h"
#include "daemon/sampling.h"
#include "stitch/sampler.h"

static const char *const type_names[SP_TYPE_N] = {
    "always_sample",  "latency",           "numeric_attribute", "probabilistic",
    "status_code",    "string_attribute",  "boolean_attribute", "rate_limiting",
    "span_count",     "trace_state",       "and",               "drop",
    "composite"};

static const char *const decision_names[SP_DECISION_N] = {
    "not_sampled", "sampled", "invert_sampled", "invert_not_sampled", "dropped"};

const char *sp_type_name(sp_type_t t) { return t < SP_TYPE_N ? type_names[t] : "?"; }
const char *sp_decision_name(sp_decision_t d) { return d < SP_DECISION_N ? decision_names[d] : "?"; }

typedef struct pctx {
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t errlen;
    sampling_cfg_t *cfg;
} pctx_t;

static int perr(pctx_t *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(pctx_t *p, const yaml_node_t *n, const char *fmt, ...)
{
    int k = snprintf(p->err, p->errlen, "%s:%zu: ", p->file, n ? n->start_mark.line + 1 : 0);
    if (k < 0 || (size_t)k >= p->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static yaml_node_t *node(pctx_t *p, int i) { return yaml_document_get_node(p->doc, i); }

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The keys a mapping may hold; anything else is an error naming them. */
static int check_keys(pctx_t *p, yaml_node_t *map, const char *where, const char *const *allowed)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return perr(p, map, "%s: expected a mapping", where);
    for (yaml_node_pair_t *kv = map->data.mapping.pairs.start; kv < map->data.mapping.pairs.top;
         kv++) {
        yaml_node_t *k = node(p, kv->key);
        const char *ks = scalar(k);
        if (!ks)
            return perr(p, k, "%s: expected a plain key", where);
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, ks))
                ok = true;
        if (!ok) {
            char list[400] = "";
            size_t o = 0;
            for (const char *const *a = allowed; *a; a++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
                if (w < 0 || (size_t)w >= sizeof list - o)
                    break;
                o += (size_t)w;
            }
            return perr(p, k, "%s: unknown key \"%s\" (expected one of: %s)", where, ks, list);
        }
    }
    return 0;
}

static yaml_node_t *get(pctx_t *p, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *kv = map->data.mapping.pairs.start; kv < map->data.mapping.pairs.top;
         kv++) {
        const char *ks = scalar(node(p, kv->key));
        if (ks && !strcmp(ks, key))
            return node(p, kv->value);
    }
    return NULL;
}

static int get_str(pctx_t *p, yaml_node_t *map, const char *key, const char *where, bool required,
                   const char **out)
{
    yaml_node_t *v = get(p, map, key);
    if (!v) {
        if (required)
            return perr(p, map, "%s: missing \"%s\"", where, key);
        return 0;
    }
    const char *s = scalar(v);
    if (!s)
        return perr(p, v, "%s.%s: expected a plain value", where, key);
    *out = s;
    return 0;
}

static int get_i64(pctx_t *p, yaml_node_t *map, const char *key, const char *where, bool required,
                   int64_t lo, int64_t hi, int64_t *out, bool *present)
{
    const char *s = NULL;
    if (get_str(p, map, key, where, required, &s))
        return -1;
    if (present)
        *present = s != NULL;
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return perr(p, get(p, map, key), "%s.%s: bad value \"%s\": expected a whole number from %lld to %lld",
                    where, key, s, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int get_double(pctx_t *p, yaml_node_t *map, const char *key, const char *where,
                      bool required, double lo, double hi, double *out)
{
    const char *s = NULL;
    if (get_str(p, map, key, where, required, &s))
        return -1;
    if (!s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi))
        return perr(p, get(p, map, key), "%s.%s: bad value \"%s\": expected a number from %g to %g",
                    where, key, s, lo, hi);
    *out = v;
    return 0;
}

static int get_bool(pctx_t *p, yaml_node_t *map, const char *key, const char *where, bool required,
                    bool *out)
{
    const char *s = NULL;
    if (get_str(p, map, key, where, required, &s))
        return -1;
    if (!s)
        return 0;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = false;
    else
        return perr(p, get(p, map, key), "%s.%s: bad value \"%s\": expected true or false", where,
                    key, s);
    return 0;
}

/* A list of plain values (a YAML sequence; a lone scalar counts as one). */
static int get_list(pctx_t *p, yaml_node_t *map, const char *key, const char *where, bool required,
                    char ***out, size_t *n)
{
    yaml_node_t *v = get(p, map, key);
    *out = NULL;
    *n = 0;
    if (!v) {
        if (required)
            return perr(p, map, "%s: missing \"%s\"", where, key);
        return 0;
    }
    size_t cnt = v->type == YAML_SEQUENCE_NODE
                     ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                     : 1;
    if (v->type == YAML_MAPPING_NODE)
        return perr(p, v, "%s.%s: expected a list of values", where, key);
    char **arr = calloc(cnt ? cnt : 1, sizeof *arr);
    if (!arr)
        return perr(p, v, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = v->type == YAML_SEQUENCE_NODE ? node(p, v->data.sequence.items.start[i]) : v;
        const char *s = scalar(it);
        if (!s || !(arr[i] = strdup(s))) {
            for (size_t j = 0; j < i; j++)
                free(arr[j]);
            free(arr);
            return s ? perr(p, it, "out of memory")
                     : perr(p, it, "%s.%s[%zu]: expected a plain value", where, key, i);
        }
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static void policy_clear(sp_policy_t *pol)
{
    free(pol->name);
    free(pol->key);
    for (size_t i = 0; i < pol->nvalues; i++) {
        free(pol->values[i]);
        if (pol->re)
            regfree(&pol->re[i]);
    }
    free(pol->values);
    free(pol->re);
    free(pol->salt);
    for (size_t i = 0; i < pol->nsubs; i++)
        policy_clear(&pol->subs[i]);
    free(pol->subs);
    memset(pol, 0, sizeof *pol);
}

static int parse_policy(pctx_t *p, yaml_node_t *n, const char *where, sp_policy_t *pol,
                        int depth);

/* `and_sub_policy`, `drop_sub_policy`, `composite_sub_policy`: a list of policies. */
static int parse_subs(pctx_t *p, yaml_node_t *body, const char *key, const char *where,
                      sp_policy_t *pol, int depth)
{
    yaml_node_t *v = get(p, body, key);
    if (!v)
        return perr(p, body, "%s: missing \"%s\"", where, key);
    if (v->type != YAML_SEQUENCE_NODE)
        return perr(p, v, "%s.%s: expected a list of policies", where, key);
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (!cnt)
        return perr(p, v, "%s.%s: expected at least one policy", where, key);
    pol->subs = calloc(cnt, sizeof *pol->subs);
    if (!pol->subs)
        return perr(p, v, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        char w[300];
        snprintf(w, sizeof w, "%s.%s[%zu]", where, key, i);
        pol->nsubs = i + 1;
        if (parse_policy(p, node(p, v->data.sequence.items.start[i]), w, &pol->subs[i], depth + 1))
            return -1;
    }
    return 0;
}

static int take_bit(pctx_t *p, yaml_node_t *n, const char *where, sp_policy_t *pol)
{
    if (p->cfg->npredicates >= SP_MAX_PREDICATES)
        return perr(p, n, "%s: more than %d attribute/status/trace_state policies", where,
                    SP_MAX_PREDICATES);
    pol->bit = p->cfg->npredicates++;
    return 0;
}

static int parse_policy(pctx_t *p, yaml_node_t *n, const char *where, sp_policy_t *pol, int depth)
{
    static const char *const top_keys[] = {
        "name", "type", "latency", "numeric_attribute", "probabilistic", "status_code",
        "string_attribute", "boolean_attribute", "rate_limiting", "span_count", "trace_state",
        "and", "drop", "composite", NULL};
    pol->bit = -1;
    if (check_keys(p, n, where, top_keys))
        return -1;
    const char *name = NULL, *type = NULL;
    if (get_str(p, n, "name", where, true, &name) || get_str(p, n, "type", where, true, &type))
        return -1;
    if (!(pol->name = strdup(name)))
        return perr(p, n, "out of memory");
    int t = -1;
    for (int i = 0; i < SP_TYPE_N; i++)
        if (!strcmp(type, type_names[i]))
            t = i;
    if (t < 0)
        return perr(p, get(p, n, "type"),
                    "%s (\"%s\"): unknown policy type \"%s\" (stitchd knows always_sample, latency, "
                    "numeric_attribute, probabilistic, status_code, string_attribute, "
                    "boolean_attribute, rate_limiting, span_count, trace_state, and, drop, composite)",
                    where, name, type);
    pol->type = (sp_type_t)t;
    if ((t == SP_AND || t == SP_DROP || t == SP_COMPOSITE) && depth > 1)
        return perr(p, n, "%s: policies of type %s cannot be nested this deep", where, type);
    /* the body: a mapping under the type's name (none for always_sample) */
    for (int i = 0; i < SP_TYPE_N; i++)
        if (i != t && get(p, n, type_names[i]))
            return perr(p, get(p, n, type_names[i]),
                        "%s (\"%s\"): \"%s\" settings given to a policy of type %s", where, name,
                        type_names[i], type);
    yaml_node_t *b = get(p, n, type);
    char w[300];
    snprintf(w, sizeof w, "%s.%s", where, type);
    if (t != SP_ALWAYS_SAMPLE && !b)
        return perr(p, n, "%s (\"%s\"): missing \"%s:\" settings", where, name, type);
    switch (pol->type) {
    case SP_ALWAYS_SAMPLE:
        return 0;
    case SP_LATENCY: {
        static const char *const k[] = {"threshold_ms", "upper_threshold_ms", NULL};
        int64_t lo = 0, hi = 0;
        if (check_keys(p, b, w, k) ||
            get_i64(p, b, "threshold_ms", w, false, 0, INT64_MAX / 1000000, &lo, NULL) ||
            get_i64(p, b, "upper_threshold_ms", w, false, 0, INT64_MAX / 1000000, &hi, NULL))
            return -1;
        if (!lo && !hi)
            return perr(p, b, "%s: set threshold_ms and/or upper_threshold_ms", w);
        if (hi && hi < lo)
            return perr(p, b, "%s: upper_threshold_ms is below threshold_ms", w);
        pol->lat_lo_ns = (uint64_t)lo * 1000000u;
        pol->lat_hi_ns = (uint64_t)hi * 1000000u;
        return 0;
    }
    case SP_NUMERIC_ATTRIBUTE: {
        static const char *const k[] = {"key", "min_value", "max_value", "invert_match", NULL};
        const char *key = NULL;
        bool has_min = false, has_max = false;
        pol->min_value = INT64_MIN;
        pol->max_value = INT64_MAX;
        if (check_keys(p, b, w, k) || get_str(p, b, "key", w, true, &key) ||
            get_i64(p, b, "min_value", w, false, INT64_MIN, INT64_MAX, &pol->min_value, &has_min) ||
            get_i64(p, b, "max_value", w, false, INT64_MIN, INT64_MAX, &pol->max_value, &has_max) ||
            get_bool(p, b, "invert_match", w, false, &pol->invert))
            return -1;
        if (!has_min && !has_max)
            return perr(p, b, "%s: set min_value and/or max_value", w);
        if (pol->max_value < pol->min_value)
            return perr(p, b, "%s: max_value is below min_value", w);
        if (!(pol->key = strdup(key)))
            return perr(p, b, "out of memory");
        return take_bit(p, b, w, pol);
    }
    case SP_PROBABILISTIC: {
        static const char *const k[] = {"sampling_percentage", "hash_salt", NULL};
        const char *salt = NULL;
        if (check_keys(p, b, w, k) ||
            get_double(p, b, "sampling_percentage", w, true, 0, 100, &pol->percentage) ||
            get_str(p, b, "hash_salt", w, false, &salt))
            return -1;
        pol->prob_threshold = stitch_ratio_threshold(pol->percentage / 100.0);
        if (salt && *salt && !(pol->salt = strdup(salt)))
            return perr(p, b, "out of memory");
        return 0;
    }
    case SP_STATUS_CODE: {
        static const char *const k[] = {"status_codes", NULL};
        char **codes;
        size_t nc;
        if (check_keys(p, b, w, k) || get_list(p, b, "status_codes", w, true, &codes, &nc))
            return -1;
        int rc = 0;
        for (size_t i = 0; i < nc; i++) {
            if (!rc && !strcmp(codes[i], "ERROR"))
                pol->status_mask |= 1u << STITCH_STATUS_ERROR;
            else if (!rc && !strcmp(codes[i], "OK"))
                pol->status_mask |= 1u << STITCH_STATUS_OK;
            else if (!rc && !strcmp(codes[i], "UNSET"))
                pol->status_mask |= 1u << STITCH_STATUS_UNSET;
            else if (!rc)
                rc = perr(p, get(p, b, "status_codes"),
                          "%s.status_codes: unknown status code \"%s\" (expected ERROR, OK or UNSET)",
                          w, codes[i]);
            free(codes[i]);
        }
        free(codes);
        if (!rc && !nc)
            rc = perr(p, b, "%s.status_codes: expected at least one status code", w);
        return rc ? rc : take_bit(p, b, w, pol);
    }
    case SP_STRING_ATTRIBUTE:
    case SP_TRACE_STATE: {
        static const char *const ks[] = {"key", "values", "enabled_regex_matching", "cache_max_size",
                                         "invert_match", NULL};
        static const char *const kt[] = {"key", "values", NULL};
        const char *key = NULL;
        bool regex = false;
        int64_t cache = 0;
        bool st = pol->type == SP_STRING_ATTRIBUTE;
        if (check_keys(p, b, w, st ? ks : kt) || get_str(p, b, "key", w, true, &key) ||
            get_list(p, b, "values", w, true, &pol->values, &pol->nvalues))
            return -1;
        if (st && (get_bool(p, b, "enabled_regex_matching", w, false, &regex) ||
                   get_bool(p, b, "invert_match", w, false, &pol->invert) ||
                   get_i64(p, b, "cache_max_size", w, false, 0, INT64_MAX, &cache, NULL)))
            return -1;
        if (!pol->nvalues)
            return perr(p, b, "%s.values: expected at least one value", w);
        if (!(pol->key = strdup(key)))
            return perr(p, b, "out of memory");
        if (regex) {
            pol->re = calloc(pol->nvalues, sizeof *pol->re);
            if (!pol->re)
                return perr(p, b, "out of memory");
            for (size_t i = 0; i < pol->nvalues; i++) {
                /* The Collector's Go regexp matches anywhere in the value
                 * unless anchored; POSIX ERE with REG_NOSUB does the same. */
                int rc = regcomp(&pol->re[i], pol->values[i], REG_EXTENDED | REG_NOSUB);
                if (rc) {
                    char m[120];
                    regerror(rc, &pol->re[i], m, sizeof m);
                    for (size_t j = 0; j < i; j++)
                        regfree(&pol->re[j]);
                    free(pol->re);
                    pol->re = NULL;
                    return perr(p, get(p, b, "values"), "%s.values[%zu]: bad regular expression \"%s\": %s",
                                w, i, pol->values[i], m);
                }
            }
        }
        return take_bit(p, b, w, pol);
    }
    case SP_BOOLEAN_ATTRIBUTE: {
        static const char *const k[] = {"key", "value", "invert_match", NULL};
        const char *key = NULL;
        if (check_keys(p, b, w, k) || get_str(p, b, "key", w, true, &key) ||
            get_bool(p, b, "value", w, true, &pol->bool_value) ||
            get_bool(p, b, "invert_match", w, false, &pol->invert))
            return -1;
        if (!(pol->key = strdup(key)))
            return perr(p, b, "out of memory");
        return take_bit(p, b, w, pol);
    }
    case SP_RATE_LIMITING: {
        static const char *const k[] = {"spans_per_second", NULL};
        int64_t v = 0;
        if (check_keys(p, b, w, k) ||
            get_i64(p, b, "spans_per_second", w, true, 1, INT64_MAX, &v, NULL))
            return -1;
        pol->spans_per_second = (uint64_t)v;
        return 0;
    }
    case SP_SPAN_COUNT: {
        static const char *const k[] = {"min_spans", "max_spans", NULL};
        int64_t lo = 0, hi = 0;
        if (check_keys(p, b, w, k) || get_i64(p, b, "min_spans", w, true, 0, INT32_MAX, &lo, NULL) ||
            get_i64(p, b, "max_spans", w, false, 0, INT32_MAX, &hi, NULL))
            return -1;
        if (hi && hi < lo)
            return perr(p, b, "%s: max_spans is below min_spans", w);
        pol->min_spans = (uint64_t)lo;
        pol->max_spans = (uint64_t)hi;
        return 0;
    }
    case SP_AND: {
        static const char *const k[] = {"and_sub_policy", NULL};
        return check_keys(p, b, w, k) || parse_subs(p, b, "and_sub_policy", w, pol, depth) ? -1 : 0;
    }
    case SP_DROP: {
        static const char *const k[] = {"drop_sub_policy", NULL};
        return check_keys(p, b, w, k) || parse_subs(p, b, "drop_sub_policy", w, pol, depth) ? -1 : 0;
    }
    case SP_COMPOSITE: {
        static const char *const k[] = {"max_total_spans_per_second", "policy_order",
                                        "composite_sub_policy", "rate_allocation", NULL};
        int64_t total = 0;
        if (check_keys(p, b, w, k) ||
            get_i64(p, b, "max_total_spans_per_second", w, true, 1, INT64_MAX, &total, NULL) ||
            parse_subs(p, b, "composite_sub_policy", w, pol, depth))
            return -1;
        pol->max_total_sps = (uint64_t)total;
        /* policy_order: the subs re-ordered by name (all of them must be named) */
        char **order;
        size_t no;
        if (get_list(p, b, "policy_order", w, false, &order, &no))
            return -1;
        int rc = 0;
        if (order) {
            if (no != pol->nsubs)
                rc = perr(p, get(p, b, "policy_order"),
                          "%s.policy_order: names %zu policies, composite_sub_policy has %zu", w, no,
                          pol->nsubs);
            for (size_t i = 0; !rc && i < no; i++) {
                size_t j = i;
                while (j < pol->nsubs && strcmp(pol->subs[j].name, order[i]))
                    j++;
                if (j == pol->nsubs)
                    rc = perr(p, get(p, b, "policy_order"),
                              "%s.policy_order: \"%s\" is not a composite_sub_policy (or is listed twice)",
                              w, order[i]);
                else if (j != i) {
                    sp_policy_t tmp = pol->subs[i];
                    pol->subs[i] = pol->subs[j];
                    pol->subs[j] = tmp;
                }
            }
            for (size_t i = 0; i < no; i++)
                free(order[i]);
            free(order);
            if (rc)
                return rc;
        }
        /* rate_allocation: [{policy, percent}], the rest get the whole budget */
        for (size_t i = 0; i < pol->nsubs; i++)
            pol->subs[i].spans_per_second = pol->max_total_sps;
        yaml_node_t *ra = get(p, b, "rate_allocation");
        if (ra) {
            if (ra->type != YAML_SEQUENCE_NODE)
                return perr(p, ra, "%s.rate_allocation: expected a list of {policy, percent}", w);
            for (yaml_node_item_t *it = ra->data.sequence.items.start; it < ra->data.sequence.items.top;
                 it++) {
                static const char *const kr[] = {"policy", "percent", NULL};
                yaml_node_t *e = node(p, *it);
                char wr[320];
                snprintf(wr, sizeof wr, "%s.rate_allocation[%zu]", w,
                         (size_t)(it - ra->data.sequence.items.start));
                const char *pn = NULL;
                double pct = 0;
                if (check_keys(p, e, wr, kr) || get_str(p, e, "policy", wr, true, &pn) ||
                    get_double(p, e, "percent", wr, true, 0, 100, &pct))
                    return -1;
                size_t j = 0;
                while (j < pol->nsubs && strcmp(pol->subs[j].name, pn))
                    j++;
                if (j == pol->nsubs)
                    return perr(p, e, "%s.policy: \"%s\" is not a composite_sub_policy", wr, pn);
                pol->subs[j].spans_per_second = (uint64_t)((double)pol->max_total_sps * pct / 100.0);
            }
        }
        return 0;
    }
    default:
        return perr(p, n, "%s: unsupported policy type", where);
    }
}

void sampling_cfg_free(sampling_cfg_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npolicies; i++)
        policy_clear(&c->policies[i]);
    free(c->policies);
    free(c);
}

int sampling_cfg_from_node(sampling_cfg_t **out, yaml_document_t *doc, yaml_node_t *n,
                           const char *file, char *err, size_t errlen)
{
    static const char *const keys[] = {"decision_wait", "num_traces", "expected_new_traces_per_sec",
                                       "decision_cache", "policies", "sample_on_first_match", NULL};
    sampling_cfg_t *c = calloc(1, sizeof *c);
    pctx_t p = {doc, file, err, errlen, c};
    if (!c)
        return perr(&p, n, "out of memory");
    const char *wait = NULL;
    int64_t num = 50000, ent = 0, sc = -1, nsc = -1;
    bool first = false;
    if (check_keys(&p, n, "tail_sampling", keys) ||
        get_str(&p, n, "decision_wait", "tail_sampling", false, &wait) ||
        get_i64(&p, n, "num_traces", "tail_sampling", false, 1, 100000000, &num, NULL) ||
        get_i64(&p, n, "expected_new_traces_per_sec", "tail_sampling", false, 0, INT64_MAX, &ent, NULL) ||
        get_bool(&p, n, "sample_on_first_match", "tail_sampling", false, &first))
        goto fail;
    c->decision_wait_ns = 30ull * 1000000000ull;
    if (wait && (stitchd_parse_duration(wait, &c->decision_wait_ns) || !c->decision_wait_ns)) {
        perr(&p, get(&p, n, "decision_wait"),
             "tail_sampling.decision_wait: bad value \"%s\": expected a duration such as 10s or 500ms",
             wait);
        goto fail;
    }
    c->num_traces = (uint64_t)num;
    yaml_node_t *dc = get(&p, n, "decision_cache");
    if (dc) {
        static const char *const k[] = {"sampled_cache_size", "non_sampled_cache_size", NULL};
        if (check_keys(&p, dc, "tail_sampling.decision_cache", k) ||
            get_i64(&p, dc, "sampled_cache_size", "tail_sampling.decision_cache", false, 0,
                    100000000, &sc, NULL) ||
            get_i64(&p, dc, "non_sampled_cache_size", "tail_sampling.decision_cache", false, 0,
                    100000000, &nsc, NULL))
            goto fail;
    }
    c->sampled_cache = sc >= 0 ? (uint64_t)sc : c->num_traces;
    c->non_sampled_cache = nsc >= 0 ? (uint64_t)nsc : c->num_traces;
    yaml_node_t *pl = get(&p, n, "policies");
    if (!pl) {
        perr(&p, n, "tail_sampling: missing \"policies\" (with none, every trace would be dropped)");
        goto fail;
    }
    if (pl->type != YAML_SEQUENCE_NODE || pl->data.sequence.items.top == pl->data.sequence.items.start) {
        perr(&p, pl, "tail_sampling.policies: expected a list of at least one policy");
        goto fail;
    }
    size_t cnt = (size_t)(pl->data.sequence.items.top - pl->data.sequence.items.start);
    c->policies = calloc(cnt, sizeof *c->policies);
    if (!c->policies) {
        perr(&p, pl, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cnt; i++) {
        char w[64];
        snprintf(w, sizeof w, "tail_sampling.policies[%zu]", i);
        c->npolicies = i + 1;
        if (parse_policy(&p, node(&p, pl->data.sequence.items.start[i]), w, &c->policies[i], 1))
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->policies[j].name, c->policies[i].name)) {
                perr(&p, node(&p, pl->data.sequence.items.start[i]),
                     "%s: a policy named \"%s\" already exists", w, c->policies[i].name);
                goto fail;
            }
    }
    c->first_match = first;
    *out = c;
    return 0;
fail:
    sampling_cfg_free(c);
    return -1;
}

int sampling_cfg_from_text(sampling_cfg_t **out, const char *text, size_t len, const char *file,
                           char *err, size_t errlen)
{
    yaml_parser_t ps;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&ps)) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    if (!yaml_parser_load(&ps, &doc)) {
        snprintf(err, errlen, "%s:%zu: %s", file, ps.problem_mark.line + 1,
                 ps.problem ? ps.problem : "YAML syntax error");
        yaml_parser_delete(&ps);
        return -1;
    }
    int rc = -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    pctx_t p = {&doc, file, err, errlen, NULL};
    static const char *const keys[] = {"tail_sampling", NULL};
    if (!root)
        snprintf(err, errlen, "%s: empty document", file);
    else if (!check_keys(&p, root, "top level", keys)) {
        yaml_node_t *ts = get(&p, root, "tail_sampling");
        if (!ts)
            perr(&p, root, "missing tail_sampling:");
        else
            rc = sampling_cfg_from_node(out, &doc, ts, file, err, errlen);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    return rc;
}
