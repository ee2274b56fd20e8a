/* sdk/provider.c — the tracer provider: resource, limits, sampler,
 * processors, the tracers per instrumentation scope, and the process-wide
 * global provider.
 *
 * Invariant: the processor list and the resource are fixed while spans are
 * being started (processors are added before use), so the span hot path
 * reads them without a lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/span.h"

/* ---- limits ---- */

static void limit_env(uint32_t *v, const char *name)
{
    const char *s = stitch__getenv(name);
    if (!s)
        return;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno || *end || s[0] == '-' || n > UINT32_MAX) {
        stitch__log(STITCH_LOG_WARN, "%s=%s is not a count; keeping %u", name, s, *v);
        return;
    }
    *v = (uint32_t)n;
}

void stitch_limits_default(stitch_limits_t *out, bool use_env)
{
    *out = (stitch_limits_t){128, 0, 128, 128, 128, 128};
    if (!use_env)
        return;
    /* The general limits first; the span-specific ones win. */
    limit_env(&out->attribute_count, "OTEL_ATTRIBUTE_COUNT_LIMIT");
    limit_env(&out->attribute_value_length, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT");
    limit_env(&out->attribute_count, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT");
    limit_env(&out->attribute_value_length, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT");
    limit_env(&out->event_count, "OTEL_SPAN_EVENT_COUNT_LIMIT");
    limit_env(&out->link_count, "OTEL_SPAN_LINK_COUNT_LIMIT");
    limit_env(&out->event_attribute_count, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT");
    limit_env(&out->link_attribute_count, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT");
}

/* ---- resource ---- */

static void value_free(stitch_value_t *v)
{
    if (v->type == STITCH_VALUE_STRING) {
        free((char *)v->u.str);
    } else if (v->type == STITCH_VALUE_STRING_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            free((char *)v->u.strs[i].ptr);
        free((void *)v->u.strs);
    } else if (v->type >= STITCH_VALUE_BOOL_ARRAY) {
        free((void *)v->u.bools);
    }
}

static char *memdup0(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int value_dup(stitch_value_t *dst, const stitch_value_t *src)
{
    size_t esz = 0;
    *dst = *src;
    switch (src->type) {
    case STITCH_VALUE_STRING:
        return (dst->u.str = memdup0(src->u.str ? src->u.str : "", src->u.str ? src->len : 0))
                   ? STITCH_OK : STITCH_ENOMEM;
    case STITCH_VALUE_BOOL:
    case STITCH_VALUE_INT:
    case STITCH_VALUE_DOUBLE:
        return STITCH_OK;
    case STITCH_VALUE_STRING_ARRAY: {
        stitch_str_t *a = calloc(src->len + 1, sizeof *a);
        if (!a)
            return STITCH_ENOMEM;
        dst->u.strs = a;
        for (uint32_t i = 0; i < src->len; i++) {
            const stitch_str_t *e = &src->u.strs[i];
            if (!(a[i].ptr = memdup0(e->ptr ? e->ptr : "", e->ptr ? e->len : 0))) {
                dst->len = i;
                value_free(dst);
                return STITCH_ENOMEM;
            }
            a[i].len = e->ptr ? e->len : 0;
        }
        return STITCH_OK;
    }
    case STITCH_VALUE_BOOL_ARRAY: esz = sizeof(bool); break;
    case STITCH_VALUE_INT_ARRAY: esz = sizeof(int64_t); break;
    case STITCH_VALUE_DOUBLE_ARRAY: esz = sizeof(double); break;
    default: return STITCH_EINVAL;
    }
    void *a = malloc(src->len * esz + 1);
    if (!a)
        return STITCH_ENOMEM;
    if (src->len)
        memcpy(a, src->u.bools, src->len * esz);
    dst->u.bools = a;
    return STITCH_OK;
}

/* Set key in the provider's resource, replacing an earlier value. */
static int resource_set(stitch_provider_t *p, const char *key, size_t klen, const stitch_value_t *v)
{
    for (uint32_t i = 0; i < p->nresource; i++) {
        stitch_attr_t *a = &p->resource[i];
        if (strlen(a->key) == klen && memcmp(a->key, key, klen) == 0) {
            stitch_value_t nv;
            int rc = value_dup(&nv, v);
            if (rc)
                return rc;
            value_free(&a->value);
            a->value = nv;
            return STITCH_OK;
        }
    }
    stitch_attr_t *na = realloc(p->resource, (p->nresource + 1) * sizeof *na);
    if (!na)
        return STITCH_ENOMEM;
    p->resource = na;
    stitch_attr_t *a = &na[p->nresource];
    if (!(a->key = memdup0(key, klen)))
        return STITCH_ENOMEM;
    if (value_dup(&a->value, v)) {
        free((char *)a->key);
        return STITCH_ENOMEM;
    }
    p->nresource++;
    return STITCH_OK;
}

static int resource_set_str(stitch_provider_t *p, const char *key, const char *val, size_t vlen)
{
    stitch_value_t v = {STITCH_VALUE_STRING, (uint32_t)vlen, {.str = val}};
    return resource_set(p, key, strlen(key), &v);
}

static int resource_member(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    stitch_value_t val = {STITCH_VALUE_STRING, (uint32_t)vl, {.str = v}};
    return resource_set(arg, k, kl, &val);
}

/* OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2" with percent-encoded values; a
 * malformed member discards the whole variable, as the specification asks. */
static int resource_from_env(stitch_provider_t *p, const char *env)
{
    char why[160];
    int rc = stitch__kv_list_parse(env, resource_member, p, why, sizeof why);
    if (rc == STITCH_EINVAL)
        stitch__log(STITCH_LOG_WARN, "OTEL_RESOURCE_ATTRIBUTES: %s; ignoring the variable", why);
    return rc;
}

int stitch__resource_build(stitch_provider_t *p, const stitch_provider_opts_t *opts)
{
    bool env = !(opts && opts->no_env);
    char svc[300];
    int n = snprintf(svc, sizeof svc, "unknown_service:%s", program_invocation_short_name);
    if (n < 0 || (size_t)n >= sizeof svc)
        n = (int)strlen(strcpy(svc, "unknown_service"));
    if (resource_set_str(p, "service.name", svc, (size_t)n) ||
        resource_set_str(p, "telemetry.sdk.name", "stitch", 6) ||
        resource_set_str(p, "telemetry.sdk.language", "c", 1) ||
        resource_set_str(p, "telemetry.sdk.version", STITCH_VERSION_STRING,
                         strlen(STITCH_VERSION_STRING)))
        return STITCH_ENOMEM;
    /* Detected: the process and the host it runs on. */
    stitch_value_t pid = {STITCH_VALUE_INT, 0, {.i = (int64_t)getpid()}};
    char host[256];
    if (resource_set(p, "process.pid", strlen("process.pid"), &pid))
        return STITCH_ENOMEM;
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        if (resource_set_str(p, "host.name", host, strlen(host)))
            return STITCH_ENOMEM;
    }
    if (opts)
        for (size_t i = 0; i < opts->nresource; i++) {
            const stitch_attr_t *a = &opts->resource[i];
            if (!a->key)
                return STITCH_EINVAL;
            int rc = resource_set(p, a->key, strlen(a->key), &a->value);
            if (rc)
                return rc;
        }
    if (env) {
        const char *ra = stitch__getenv("OTEL_RESOURCE_ATTRIBUTES");
        if (ra && resource_from_env(p, ra) == STITCH_ENOMEM)
            return STITCH_ENOMEM;
        const char *sn = stitch__getenv("OTEL_SERVICE_NAME");
        if (sn && resource_set_str(p, "service.name", sn, strlen(sn)))
            return STITCH_ENOMEM;
    }
    return STITCH_OK;
}

const stitch_attr_t *stitch_provider_resource(const stitch_provider_t *p, size_t *n)
{
    *n = p->nresource;
    return p->resource;
}

/* ---- provider ---- */

/* Live providers, so that a forked child can correct their process.pid. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static stitch_provider_t *live;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;

static void live_fork_prepare(void) { pthread_mutex_lock(&live_lock); }
static void live_fork_parent(void) { pthread_mutex_unlock(&live_lock); }

/* The child is another process: its spans must say so. The resource is
 * otherwise immutable, and this runs before any other thread exists. */
static void live_fork_child(void)
{
    int64_t pid = (int64_t)getpid();
    for (stitch_provider_t *p = live; p; p = p->next_live)
        for (uint32_t i = 0; i < p->nresource; i++)
            if (p->resource[i].value.type == STITCH_VALUE_INT &&
                strcmp(p->resource[i].key, "process.pid") == 0)
                p->resource[i].value.u.i = pid;
    pthread_mutex_unlock(&live_lock);
}

static void live_init(void)
{
    (void)pthread_atfork(live_fork_prepare, live_fork_parent, live_fork_child);
}

static void live_add(stitch_provider_t *p)
{
    pthread_once(&live_once, live_init);
    pthread_mutex_lock(&live_lock);
    p->next_live = live;
    live = p;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(stitch_provider_t *p)
{
    pthread_mutex_lock(&live_lock);
    for (stitch_provider_t **pp = &live; *pp; pp = &(*pp)->next_live)
        if (*pp == p) {
            *pp = p->next_live;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

int stitch_provider_new(stitch_provider_t **out, const stitch_provider_opts_t *opts)
{
    *out = NULL;
    stitch_provider_t *p = calloc(1, sizeof *p);
    if (!p) {
        stitch_sampler_free(opts ? opts->sampler : NULL);
        return STITCH_ENOMEM;
    }
    bool env = !(opts && opts->no_env);
    pthread_mutex_init(&p->lock, NULL);
    if (opts && opts->limits)
        p->limits = *opts->limits;
    else
        stitch_limits_default(&p->limits, env);
    if (opts && opts->sampler)
        p->sampler = opts->sampler;
    else if (env)
        p->sampler = stitch_sampler_from_env();
    else
        p->sampler = stitch_sampler_parent_based(stitch_sampler_always_on());
    int rc = p->sampler ? stitch__resource_build(p, opts) : STITCH_ENOMEM;
    if (rc) {
        stitch_provider_free(p);
        return rc;
    }
    if (env) {
        const char *off = stitch__getenv("OTEL_SDK_DISABLED");
        if (off && stitch__strieq(off, strlen(off), "true"))
            atomic_store(&p->shut_down, true);
    }
    live_add(p);
    *out = p;
    return STITCH_OK;
}

int stitch_provider_add_processor(stitch_provider_t *p, stitch_processor_t *proc)
{
    if (!p || !proc)
        return STITCH_EINVAL;
    pthread_mutex_lock(&p->lock);
    stitch_processor_t **np = realloc(p->procs, (p->nprocs + 1) * sizeof *np);
    if (!np) {
        pthread_mutex_unlock(&p->lock);
        stitch_processor_free(proc);
        return STITCH_ENOMEM;
    }
    np[p->nprocs] = proc;
    p->procs = np;
    p->nprocs++;
    pthread_mutex_unlock(&p->lock);
    return STITCH_OK;
}

int stitch_provider_force_flush(stitch_provider_t *p, uint32_t timeout_ms)
{
    if (!p)
        return STITCH_EINVAL;
    int rc = STITCH_OK;
    for (uint32_t i = 0; i < p->nprocs; i++)
        if (p->procs[i]->ops->force_flush) {
            int r = p->procs[i]->ops->force_flush(p->procs[i]->self, timeout_ms);
            if (r && !rc)
                rc = r;
        }
    return rc;
}

int stitch_provider_shutdown(stitch_provider_t *p, uint32_t timeout_ms)
{
    if (!p)
        return STITCH_EINVAL;
    atomic_store(&p->shut_down, true);
    pthread_mutex_lock(&p->lock);
    if (p->procs_shut) {
        pthread_mutex_unlock(&p->lock);
        return STITCH_OK;
    }
    p->procs_shut = true;
    int rc = STITCH_OK;
    for (uint32_t i = 0; i < p->nprocs; i++)
        if (p->procs[i]->ops->shutdown) {
            int r = p->procs[i]->ops->shutdown(p->procs[i]->self, timeout_ms);
            if (r && !rc)
                rc = r;
        }
    p->keep_data = rc == STITCH_ETIMEDOUT;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void stitch_provider_free(stitch_provider_t *p)
{
    if (!p)
        return;
    (void)stitch_provider_shutdown(p, 5000);
    live_remove(p);
    for (uint32_t i = 0; i < p->nprocs; i++)
        stitch_processor_free(p->procs[i]);
    free(p->procs);
    stitch_sampler_free(p->sampler);
    if (p->keep_data) { /* kept reachable on purpose, never freed */
        static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
        static stitch_provider_t *kept;
        pthread_mutex_lock(&kept_lock);
        p->procs = NULL;
        p->nprocs = 0;
        p->sampler = NULL;
        p->kept_next = kept;
        kept = p;
        pthread_mutex_unlock(&kept_lock);
        return;
    }
    for (uint32_t i = 0; i < p->nresource; i++) {
        free((char *)p->resource[i].key);
        value_free(&p->resource[i].value);
    }
    free(p->resource);
    for (stitch_tracer_t *t = p->tracers, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- tracers ---- */

static bool str_eq_null(const char *a, const char *b)
{
    return strcmp(a, b ? b : "") == 0;
}

stitch_tracer_t *stitch_tracer(stitch_provider_t *p, const char *name, const char *version)
{
    if (!p)
        return stitch_global_tracer(name, version);
    pthread_mutex_lock(&p->lock);
    stitch_tracer_t *t;
    for (t = p->tracers; t; t = t->next)
        if (str_eq_null(t->scope.name, name) && str_eq_null(t->scope.version, version))
            break;
    if (!t) {
        size_t nl = name ? strlen(name) : 0, vl = version ? strlen(version) : 0;
        t = malloc(sizeof *t + nl + vl + 2);
        if (t) {
            char *nm = (char *)(t + 1), *vr = nm + nl + 1;
            memcpy(nm, name ? name : "", nl + 1);
            memcpy(vr, version ? version : "", vl + 1);
            t->provider = p;
            t->scope.name = nm;
            t->scope.version = vr;
            t->next = p->tracers;
            p->tracers = t;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return t;
}

static _Atomic(stitch_provider_t *) global_provider;
static stitch_tracer_t noop_tracer = {NULL, {"", ""}, NULL};

void stitch_set_global_provider(stitch_provider_t *p)
{
    atomic_store(&global_provider, p);
}

stitch_provider_t *stitch_global_provider(void)
{
    return atomic_load(&global_provider);
}

stitch_tracer_t *stitch_global_tracer(const char *name, const char *version)
{
    stitch_provider_t *p = atomic_load(&global_provider);
    stitch_tracer_t *t = p ? stitch_tracer(p, name, version) : NULL;
    return t ? t : &noop_tracer;
}
