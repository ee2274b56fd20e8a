/* The tracer provider: resource merging (defaults, code, OTEL_RESOURCE_
 * ATTRIBUTES, OTEL_SERVICE_NAME), limits from the environment, tracers per
 * scope, processor calls on flush and shutdown, the global provider and
 * its no-op fallback, and spans shared by several processors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdk/internal.h"
#include "sdk/span.h"
#include "stitch/propagation.h"

static const char *const env_vars[] = {
    "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED",
    "OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT", "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_vars / sizeof *env_vars; i++)
        unsetenv(env_vars[i]);
    return 0;
}

/* Warnings the SDK logs, to check that bad input is reported. */
static int warnings;
static char last_warning[512];

static void count_log(void *arg, stitch_log_level_t level, const char *msg)
{
    (void)arg;
    if (level <= STITCH_LOG_WARN) {
        warnings++;
        snprintf(last_warning, sizeof last_warning, "%s", msg);
    }
}

static const stitch_value_t *res_get(stitch_provider_t *p, const char *key)
{
    size_t n;
    const stitch_attr_t *r = stitch_provider_resource(p, &n);
    const stitch_value_t *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].key, key) == 0) {
            assert_null(found); /* keys are unique */
            found = &r[i].value;
        }
    return found;
}

static void assert_res_str(stitch_provider_t *p, const char *key, const char *want)
{
    const stitch_value_t *v = res_get(p, key);
    assert_non_null(v);
    assert_int_equal(v->type, STITCH_VALUE_STRING);
    assert_int_equal(v->len, strlen(want));
    assert_string_equal(v->u.str, want);
}

static size_t res_count(stitch_provider_t *p)
{
    size_t n;
    (void)stitch_provider_resource(p, &n);
    return n;
}

static stitch_provider_t *new_provider(const stitch_provider_opts_t *o)
{
    stitch_provider_t *p = (stitch_provider_t *)1;
    assert_int_equal(stitch_provider_new(&p, o), STITCH_OK);
    assert_non_null(p);
    return p;
}

/* ---- resource ---- */

/* telemetry.sdk.{name,language,version}, service.name, process.pid, host.name */
#define NDEFAULT 6

static char default_service[300]; /* "unknown_service:" + this program's name */

static void test_provider_resource_defaults(void **state)
{
    (void)state;
    stitch_provider_t *p = new_provider(NULL);
    assert_int_equal(res_count(p), NDEFAULT);
    assert_res_str(p, "service.name", default_service);
    assert_string_equal(default_service, "unknown_service:test_provider");
    const stitch_value_t *pid = res_get(p, "process.pid");
    assert_non_null(pid);
    assert_int_equal(pid->type, STITCH_VALUE_INT);
    assert_int_equal(pid->u.i, getpid());
    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_res_str(p, "host.name", host);
    assert_res_str(p, "telemetry.sdk.name", "stitch");
    assert_res_str(p, "telemetry.sdk.language", "c");
    assert_res_str(p, "telemetry.sdk.version", STITCH_VERSION_STRING);
    /* spans carry the resource */
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_span_end(stitch_span_start(stitch_tracer(p, NULL, NULL), "s", NULL));
    const stitch_span_data_t *d = stitch_memory_processor_get(mem, 0);
    size_t n;
    assert_ptr_equal(d->resource, stitch_provider_resource(p, &n));
    assert_int_equal(d->nresource, NDEFAULT);
    stitch_provider_free(p);
}

static void test_provider_resource_from_code(void **state)
{
    (void)state;
    int64_t ports[] = {80, 443};
    char name[] = "checkout";
    stitch_attr_t res[] = {
        stitch_attr_str("service.name", name),
        stitch_attr_str("service.version", "2.1"),
        stitch_attr_str("telemetry.sdk.language", "c11"),
        stitch_attr_int("host.cpus", 8),
        {"ports", {STITCH_VALUE_INT_ARRAY, 2, {.ints = ports}}},
        stitch_attr_str("service.version", "2.2"), /* a repeat replaces */
    };
    stitch_provider_opts_t o = {.resource = res, .nresource = 6};
    stitch_provider_t *p = new_provider(&o);
    strcpy(name, "XXXXXXXX"); /* copied */
    ports[0] = 0;
    assert_int_equal(res_count(p), NDEFAULT + 3);
    assert_res_str(p, "service.name", "checkout");
    assert_res_str(p, "service.version", "2.2");
    assert_res_str(p, "telemetry.sdk.language", "c11");
    assert_res_str(p, "telemetry.sdk.name", "stitch");
    assert_int_equal(res_get(p, "host.cpus")->u.i, 8);
    const stitch_value_t *v = res_get(p, "ports");
    assert_int_equal(v->type, STITCH_VALUE_INT_ARRAY);
    assert_int_equal(v->len, 2);
    assert_int_equal(v->u.ints[0], 80);
    assert_int_equal(v->u.ints[1], 443);
    stitch_provider_free(p);
}

static void test_provider_resource_env(void **state)
{
    (void)state;
    stitch_attr_t res[] = {stitch_attr_str("deployment.environment", "code"),
                           stitch_attr_str("service.name", "from-code")};
    stitch_provider_opts_t o = {.resource = res, .nresource = 2};
    setenv("OTEL_RESOURCE_ATTRIBUTES",
           " deployment.environment = prod%20eu ,team=a%2Cb%3Dc,, empty=,"
           "utf8=caf%C3%A9 ,service.name=from-env", 1);
    stitch_provider_t *p = new_provider(&o);
    assert_res_str(p, "deployment.environment", "prod eu");
    assert_res_str(p, "team", "a,b=c");
    assert_res_str(p, "empty", "");
    assert_res_str(p, "utf8", "caf\xc3\xa9");
    assert_res_str(p, "service.name", "from-env"); /* env beats code */
    assert_int_equal(res_count(p), NDEFAULT + 4);
    stitch_provider_free(p);

    /* OTEL_SERVICE_NAME beats both */
    setenv("OTEL_SERVICE_NAME", "svc-var", 1);
    p = new_provider(&o);
    assert_res_str(p, "service.name", "svc-var");
    assert_res_str(p, "deployment.environment", "prod eu");
    stitch_provider_free(p);

    /* no_env ignores all of it */
    o.no_env = true;
    p = new_provider(&o);
    assert_res_str(p, "service.name", "from-code");
    assert_res_str(p, "deployment.environment", "code");
    assert_null(res_get(p, "team"));
    assert_int_equal(res_count(p), NDEFAULT + 1);
    stitch_provider_free(p);
}

static void test_provider_resource_env_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "a=1,novalue,c=2",   /* a member without '=' */
        "a=1,=v,c=2",        /* an empty key */
        "a=1,c=%zz",         /* bad percent-encoding */
        "a=1,c=50%",         /* truncated percent-encoding */
        "a=1,c=%4",          /* truncated percent-encoding */
    };
    stitch_set_logger(count_log, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("OTEL_RESOURCE_ATTRIBUTES", bad[i], 1);
        warnings = 0;
        stitch_provider_t *p = new_provider(NULL); /* the variable is ignored, not fatal */
        assert_int_equal(warnings, 1);
        assert_non_null(strstr(last_warning, "OTEL_RESOURCE_ATTRIBUTES"));
        /* the whole variable is discarded, including valid members */
        assert_null(res_get(p, "a"));
        assert_null(res_get(p, "c"));
        assert_int_equal(res_count(p), NDEFAULT);
        assert_res_str(p, "service.name", default_service);
        stitch_provider_free(p);
    }
    stitch_set_logger(NULL, NULL);
}

/* ---- limits ---- */

static void test_provider_limits_env(void **state)
{
    (void)state;
    stitch_limits_t l;
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, 128);
    assert_int_equal(l.attribute_value_length, 0);
    assert_int_equal(l.event_count, 128);
    assert_int_equal(l.link_count, 128);
    assert_int_equal(l.event_attribute_count, 128);
    assert_int_equal(l.link_attribute_count, 128);

    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "50", 1);
    setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100", 1);
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, 50);
    assert_int_equal(l.attribute_value_length, 100);
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3", 1); /* the specific one wins */
    setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4", 1);
    setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "5", 1);
    setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "6", 1);
    setenv("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "7", 1);
    setenv("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "0", 1);
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, 3);
    assert_int_equal(l.attribute_value_length, 4);
    assert_int_equal(l.event_count, 5);
    assert_int_equal(l.link_count, 6);
    assert_int_equal(l.event_attribute_count, 7);
    assert_int_equal(l.link_attribute_count, 0);
    stitch_limits_default(&l, false); /* use_env false: defaults */
    assert_int_equal(l.attribute_count, 128);
    assert_int_equal(l.event_count, 128);

    /* a provider applies them to its spans */
    stitch_provider_t *p = new_provider(NULL);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_span_t *s = stitch_span_start(stitch_tracer(p, NULL, NULL), "lim", NULL);
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(stitch_span_set_str(s, k, "abcdef"), i < 3 ? STITCH_OK : STITCH_ELIMIT);
    }
    stitch_span_end(s);
    const stitch_span_data_t *d = stitch_memory_processor_get(mem, 0);
    assert_int_equal(d->nattrs, 3);
    assert_int_equal(d->dropped_attrs, 2);
    assert_string_equal(stitch_span_data_attr(d, "k0")->u.str, "abcd");
    stitch_provider_free(p);

    /* explicit limits and no_env ignore the environment */
    stitch_provider_opts_t o = {.no_env = true};
    p = new_provider(&o);
    assert_int_equal(p->limits.attribute_count, 128);
    assert_int_equal(p->limits.attribute_value_length, 0);
    stitch_provider_free(p);
    stitch_limits_t mine = {1, 2, 3, 4, 5, 6};
    o.no_env = false;
    o.limits = &mine;
    p = new_provider(&o);
    assert_memory_equal(&p->limits, &mine, sizeof mine);
    stitch_provider_free(p);
}

static void test_provider_limits_env_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "-1", "12abc", "4294967296", "99999999999999999999", "1.5",
                         " 5x"};
    stitch_set_logger(count_log, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", bad[i], 1);
        setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", bad[i], 1);
        warnings = 0;
        stitch_limits_t l;
        stitch_limits_default(&l, true);
        assert_int_equal(l.attribute_count, 128);
        assert_int_equal(l.event_count, 128);
        assert_int_equal(warnings, 2);
    }
    /* an invalid specific value keeps the general one */
    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "9", 1);
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "nope", 1);
    stitch_limits_t l;
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, 9);
    /* empty counts as unset */
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "", 1);
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, 9);
    /* the largest count is accepted */
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4294967295", 1);
    stitch_limits_default(&l, true);
    assert_int_equal(l.attribute_count, UINT32_MAX);
    stitch_set_logger(NULL, NULL);
}

/* ---- tracers ---- */

static void test_provider_tracers(void **state)
{
    (void)state;
    stitch_provider_opts_t o = {.no_env = true};
    stitch_provider_t *p = new_provider(&o);
    stitch_tracer_t *a = stitch_tracer(p, "lib.http", "1.0");
    stitch_tracer_t *a2 = stitch_tracer(p, "lib.http", "1.0");
    stitch_tracer_t *b = stitch_tracer(p, "lib.http", "1.1");
    stitch_tracer_t *c = stitch_tracer(p, "lib.db", "1.0");
    stitch_tracer_t *n1 = stitch_tracer(p, NULL, NULL);
    stitch_tracer_t *n2 = stitch_tracer(p, NULL, NULL);
    stitch_tracer_t *nv = stitch_tracer(p, "lib.http", NULL);
    assert_non_null(a);
    assert_ptr_equal(a, a2);
    assert_ptr_not_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_ptr_not_equal(b, c);
    assert_ptr_equal(n1, n2);
    assert_ptr_not_equal(n1, a);
    assert_ptr_not_equal(nv, a);

    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_span_end(stitch_span_start(b, "x", NULL));
    stitch_span_end(stitch_span_start(n1, "y", NULL));
    const stitch_span_data_t *d = stitch_memory_processor_get(mem, 0);
    assert_string_equal(d->scope->name, "lib.http");
    assert_string_equal(d->scope->version, "1.1");
    d = stitch_memory_processor_get(mem, 1);
    assert_string_equal(d->scope->name, "");
    assert_string_equal(d->scope->version, "");
    stitch_provider_free(p);
}

/* ---- processors ---- */

struct counting {
    int starts, ends, flushes, shutdowns, destroys;
    int flush_rc;
    bool set_on_start;
};

static void cp_on_start(void *self, stitch_span_t *s)
{
    struct counting *c = self;
    c->starts++;
    if (c->set_on_start) /* the span is writable here */
        (void)stitch_span_set_str(s, "from.on_start", "yes");
}
static void cp_on_end(void *self, stitch_span_t *s)
{
    ((struct counting *)self)->ends++;
    stitch_span_release(s);
}
static int cp_flush(void *self, uint32_t ms)
{
    (void)ms;
    struct counting *c = self;
    c->flushes++;
    return c->flush_rc;
}
static int cp_shutdown(void *self, uint32_t ms)
{
    (void)ms;
    ((struct counting *)self)->shutdowns++;
    return STITCH_OK;
}
static void cp_destroy(void *self) { ((struct counting *)self)->destroys++; }

static const stitch_processor_ops_t counting_ops = {cp_on_start, cp_on_end, cp_flush, cp_shutdown,
                                                    cp_destroy};

static void test_provider_flush_shutdown_counts(void **state)
{
    (void)state;
    struct counting c = {0};
    stitch_provider_opts_t o = {.no_env = true};
    stitch_provider_t *p = new_provider(&o);
    stitch_processor_t *proc = stitch_processor_new(&counting_ops, &c);
    assert_non_null(proc);
    assert_int_equal(stitch_provider_add_processor(p, proc), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);
    stitch_span_end(stitch_span_start(t, "one", NULL));
    assert_int_equal(c.starts, 1);
    assert_int_equal(c.ends, 1);

    assert_int_equal(stitch_provider_force_flush(p, 100), STITCH_OK);
    assert_int_equal(c.flushes, 1);
    c.flush_rc = STITCH_ETIMEDOUT;
    assert_int_equal(stitch_provider_force_flush(p, 100), STITCH_ETIMEDOUT);
    assert_int_equal(c.flushes, 2);
    assert_int_equal(c.shutdowns, 0);

    assert_int_equal(stitch_provider_shutdown(p, 100), STITCH_OK);
    assert_int_equal(c.shutdowns, 1);
    assert_int_equal(stitch_provider_shutdown(p, 100), STITCH_OK); /* idempotent */
    assert_int_equal(c.shutdowns, 1);

    /* after shutdown: not recorded, processors not called */
    stitch_span_t *s = stitch_span_start(t, "late", NULL);
    assert_false(stitch_span_is_recording(s));
    stitch_span_end(s);
    assert_int_equal(c.starts, 1);
    assert_int_equal(c.ends, 1);

    assert_int_equal(c.destroys, 0);
    stitch_provider_free(p); /* no second shutdown, one destroy */
    assert_int_equal(c.shutdowns, 1);
    assert_int_equal(c.destroys, 1);

    /* free without an explicit shutdown shuts down once */
    struct counting c2 = {0};
    p = new_provider(&o);
    assert_int_equal(stitch_provider_add_processor(p, stitch_processor_new(&counting_ops, &c2)),
                     STITCH_OK);
    stitch_provider_free(p);
    assert_int_equal(c2.shutdowns, 1);
    assert_int_equal(c2.destroys, 1);
    assert_int_equal(c2.flushes, 0);

    /* a processor never added is freed (and destroyed) by its owner */
    struct counting c3 = {0};
    stitch_processor_free(stitch_processor_new(&counting_ops, &c3));
    assert_int_equal(c3.destroys, 1);
    stitch_processor_free(NULL);
    /* on_end is required */
    static const stitch_processor_ops_t no_end = {0};
    assert_null(stitch_processor_new(&no_end, NULL));
    assert_null(stitch_processor_new(NULL, NULL));
    assert_int_equal(stitch_provider_add_processor(NULL, NULL), STITCH_EINVAL);
    assert_int_equal(stitch_provider_force_flush(NULL, 0), STITCH_EINVAL);
    assert_int_equal(stitch_provider_shutdown(NULL, 0), STITCH_EINVAL);
    stitch_provider_free(NULL);
}

static void test_provider_on_start_writes(void **state)
{
    (void)state;
    struct counting c = {.set_on_start = true};
    stitch_provider_opts_t o = {.no_env = true};
    stitch_provider_t *p = new_provider(&o);
    assert_int_equal(stitch_provider_add_processor(p, stitch_processor_new(&counting_ops, &c)),
                     STITCH_OK);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_span_end(stitch_span_start(stitch_tracer(p, NULL, NULL), "w", NULL));
    const stitch_span_data_t *d = stitch_memory_processor_get(mem, 0);
    assert_string_equal(stitch_span_data_attr(d, "from.on_start")->u.str, "yes");
    stitch_provider_free(p);
}

/* ---- global provider ---- */

static void test_provider_global(void **state)
{
    (void)state;
    assert_null(stitch_global_provider());
    stitch_tracer_t *noop = stitch_global_tracer("x", "1");
    assert_non_null(noop);
    assert_ptr_equal(stitch_tracer(NULL, "x", "1"), noop);

    /* no provider: the span passes its parent's context through */
    stitch_ctx_t parent = STITCH_CTX_INIT;
    for (int i = 0; i < 16; i++)
        parent.span.trace_id[i] = (uint8_t)(i + 1);
    for (int i = 0; i < 8; i++)
        parent.span.span_id[i] = (uint8_t)(0x80 + i);
    parent.span.flags = STITCH_FLAG_SAMPLED;
    stitch_span_opts_t o = {.parent = &parent};
    stitch_span_t *s = stitch_span_start(noop, "noop", &o);
    assert_false(stitch_span_is_recording(s));
    stitch_span_ctx_t c = stitch_span_context(s);
    assert_memory_equal(c.trace_id, parent.span.trace_id, 16);
    assert_memory_equal(c.span_id, parent.span.span_id, 8);
    assert_int_equal(c.flags, STITCH_FLAG_SAMPLED);
    assert_int_equal(stitch_span_set_str(s, "a", "b"), STITCH_OK);
    stitch_span_set_status(s, STITCH_STATUS_ERROR, "x");
    stitch_span_end(s);
    /* the parent's tracestate travels too (a pass-through service keeps it) */
    assert_int_equal(stitch_tracestate_parse("vendor=x", 8, &parent.tracestate), STITCH_OK);
    s = stitch_span_start(noop, "noop-ts", &o);
    stitch_ctx_t out;
    stitch_ctx_from_span(&out, s, NULL);
    size_t tslen;
    assert_string_equal(stitch_tracestate_str(out.tracestate, &tslen), "vendor=x");
    assert_memory_equal(out.span.span_id, parent.span.span_id, 8);
    stitch_ctx_release(&out);
    stitch_span_end(s);
    stitch_tracestate_unref(parent.tracestate);
    parent.tracestate = NULL;
    /* through the current scope as well */
    stitch_scope_t tok = stitch_scope_push_ctx(&parent);
    s = stitch_span_start(noop, "noop2", NULL);
    c = stitch_span_context(s);
    assert_memory_equal(c.span_id, parent.span.span_id, 8);
    stitch_span_end(s);
    stitch_scope_pop(tok);
    /* and without a parent: an invalid context */
    s = stitch_span_start(noop, "noop3", NULL);
    c = stitch_span_context(s);
    assert_false(stitch_span_ctx_valid(&c));
    stitch_span_end(s);

    stitch_provider_opts_t po = {.no_env = true};
    stitch_provider_t *p = new_provider(&po);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_set_global_provider(p);
    assert_ptr_equal(stitch_global_provider(), p);
    stitch_tracer_t *t = stitch_global_tracer("adapter", "0.1");
    assert_ptr_equal(t, stitch_tracer(p, "adapter", "0.1"));
    assert_ptr_equal(stitch_tracer(NULL, "adapter", "0.1"), t);
    s = stitch_span_start(t, "global", NULL);
    assert_true(stitch_span_is_recording(s));
    stitch_span_end(s);
    assert_int_equal(stitch_memory_processor_count(mem), 1);
    assert_string_equal(stitch_memory_processor_get(mem, 0)->scope->name, "adapter");
    stitch_set_global_provider(NULL);
    assert_ptr_equal(stitch_global_tracer("adapter", "0.1"), noop);
    stitch_provider_free(p);
}

/* ---- several processors share a span ---- */

static void test_provider_multiple_processors(void **state)
{
    (void)state;
    stitch_provider_opts_t o = {.no_env = true};
    stitch_provider_t *p = new_provider(&o);
    stitch_processor_t *m1 = stitch_memory_processor_new(0);
    stitch_processor_t *m2 = stitch_memory_processor_new(0);
    struct counting c = {0};
    assert_int_equal(stitch_provider_add_processor(p, m1), STITCH_OK);
    assert_int_equal(stitch_provider_add_processor(p, stitch_processor_new(&counting_ops, &c)),
                     STITCH_OK);
    assert_int_equal(stitch_provider_add_processor(p, m2), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);

    stitch_span_t *s = stitch_span_start(t, "shared", NULL);
    assert_int_equal(stitch_span_set_str(s, "k", "v"), STITCH_OK);
    stitch_span_end(s);
    assert_int_equal(c.ends, 1);
    const stitch_span_data_t *d1 = stitch_memory_processor_get(m1, 0);
    const stitch_span_data_t *d2 = stitch_memory_processor_get(m2, 0);
    assert_ptr_equal(d1, d2);
    assert_ptr_equal(d1, stitch_span_data(s));

    /* m1 lets go: the span stays with m2 and is not reused */
    stitch_memory_processor_clear(m1);
    stitch_span_t *other = stitch_span_start(t, "other", NULL);
    assert_ptr_not_equal(other, s);
    stitch_span_end(other);
    stitch_memory_processor_clear(m1);
    stitch_memory_processor_clear(m2); /* "other" was in m2 too */
    assert_int_equal(stitch_memory_processor_count(m2), 0);

    /* now both let go of "shared": both spans are back in the pool, and
     * two new spans reuse exactly them */
    stitch_span_t *n1 = stitch_span_start(t, "n1", NULL);
    stitch_span_t *n2 = stitch_span_start(t, "n2", NULL);
    assert_true((n1 == s && n2 == other) || (n1 == other && n2 == s));
    stitch_span_end(n1);
    stitch_span_end(n2);
    assert_string_equal(stitch_memory_processor_get(m1, 0)->name, "n1");
    assert_string_equal(stitch_memory_processor_get(m2, 1)->name, "n2");
    assert_null(stitch_span_data_attr(stitch_memory_processor_get(m2, 0), "k"));
    stitch_provider_free(p); /* destroys m1 and m2, releasing their spans */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, clean_env)
    const struct CMUnitTest tests[] = {
        T(test_provider_resource_defaults),
        T(test_provider_resource_from_code),
        T(test_provider_resource_env),
        T(test_provider_resource_env_malformed),
        T(test_provider_limits_env),
        T(test_provider_limits_env_invalid),
        T(test_provider_tracers),
        T(test_provider_flush_shutdown_counts),
        T(test_provider_on_start_writes),
        T(test_provider_global),
        T(test_provider_multiple_processors),
    };
    clean_env(NULL);
    snprintf(default_service, sizeof default_service, "unknown_service:%s",
             program_invocation_short_name);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
