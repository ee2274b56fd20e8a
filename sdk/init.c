/* sdk/init.c — the one-call setup: stitch_init_from_env() builds a provider
 * from the OpenTelemetry environment, gives it one batch processor per
 * exporter OTEL_TRACES_EXPORTER names, makes it the global provider and
 * arranges for it to be shut down (its queue delivered, within
 * OTEL_BSP_EXPORT_TIMEOUT) when the program exits.
 *
 * Invariant: at most one such provider exists at a time; init and shutdown
 * are serialized by one mutex, so concurrent first calls build it once.
 * At exit the provider is shut down but not freed: other threads may still
 * hold its tracers, and the memory goes with the process anyway. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/internal.h"
#include "stitch/export.h"

enum { EXP_OTLP = 1, EXP_ZIPKIN = 2, EXP_CONSOLE = 4 };

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static stitch_provider_t *init_provider;
static uint32_t exit_timeout_ms = 30000;
static bool atexit_done;

/* The exporters OTEL_TRACES_EXPORTER asks for, as EXP_* bits. */
static unsigned exporters_from_env(void)
{
    const char *v = stitch__getenv("OTEL_TRACES_EXPORTER");
    if (!v)
        return EXP_OTLP;
    unsigned set = 0;
    bool none = false;
    const char *s = v, *end = v + strlen(v);
    while (s < end) {
        const char *m = memchr(s, ',', (size_t)(end - s));
        if (!m)
            m = end;
        const char *b = s, *e = m;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - b);
        if (n == 0)
            ;
        else if (stitch__strieq(b, n, "otlp"))
            set |= EXP_OTLP;
        else if (stitch__strieq(b, n, "zipkin"))
            set |= EXP_ZIPKIN;
        else if (stitch__strieq(b, n, "console") || stitch__strieq(b, n, "logging"))
            set |= EXP_CONSOLE;
        else if (stitch__strieq(b, n, "none"))
            none = true;
        else {
            stitch__log(STITCH_LOG_WARN, "OTEL_TRACES_EXPORTER: unknown exporter \"%.*s\"; "
                        "using otlp instead", (int)n, b);
            set |= EXP_OTLP;
        }
        s = m + 1;
    }
    if (none && set)
        stitch__log(STITCH_LOG_WARN, "OTEL_TRACES_EXPORTER=\"%s\": \"none\" together with other "
                    "exporters; ignoring \"none\"", v);
    if (!none && !set) /* only commas and spaces */
        set = EXP_OTLP;
    return set;
}

static void at_exit(void)
{
    pthread_mutex_lock(&init_lock);
    stitch_provider_t *p = init_provider;
    uint32_t t = exit_timeout_ms;
    pthread_mutex_unlock(&init_lock);
    if (p)
        (void)stitch_provider_shutdown(p, t); /* delivers or gives up; exit goes on either way */
}

/* Add a batch processor around `exp` (NULL: its creation failed, logged). */
static int add_batch(stitch_provider_t *p, stitch_exporter_t *exp, const stitch_batch_opts_t *bo)
{
    if (!exp)
        return STITCH_ENOMEM;
    stitch_processor_t *proc = stitch_batch_processor_new(exp, bo);
    if (!proc) {
        stitch__log(STITCH_LOG_ERROR, "stitch_init_from_env: cannot start a batch processor");
        return STITCH_ENOMEM;
    }
    return stitch_provider_add_processor(p, proc);
}

int stitch_init_from_env(stitch_provider_t **out)
{
    pthread_mutex_lock(&init_lock);
    int rc = STITCH_OK;
    stitch_provider_t *p = init_provider;
    if (p)
        goto done;
    rc = stitch_provider_new(&p, NULL);
    if (rc)
        goto done;
    const char *off = stitch__getenv("OTEL_SDK_DISABLED");
    bool disabled = off && stitch__strieq(off, strlen(off), "true");
    stitch_batch_opts_t bo;
    stitch_batch_opts_default(&bo, !disabled);
    unsigned want = disabled ? 0 : exporters_from_env();
    for (unsigned bit = EXP_OTLP; !rc && bit <= EXP_CONSOLE; bit <<= 1) {
        if (!(want & bit))
            continue;
        stitch_exporter_t *e = NULL;
        if (bit == EXP_OTLP)
            rc = stitch_otlp_exporter_new(&e, NULL);
        else if (bit == EXP_ZIPKIN)
            rc = stitch_zipkin_exporter_new(&e, NULL);
        else
            e = stitch_console_exporter_new(stderr);
        if (rc == STITCH_EIO) { /* libcurl or zlib unusable (logged): go on without it */
            rc = STITCH_OK;
            continue;
        }
        if (!rc)
            rc = add_batch(p, e, &bo);
    }
    if (rc) {
        stitch_provider_free(p);
        p = NULL;
        goto done;
    }
    init_provider = p;
    exit_timeout_ms = bo.export_timeout_ms;
    stitch_set_global_provider(p);
    if (!atexit_done && atexit(at_exit) == 0)
        atexit_done = true;
done:
    pthread_mutex_unlock(&init_lock);
    if (out)
        *out = p;
    return rc;
}

int stitch_shutdown(uint32_t timeout_ms)
{
    pthread_mutex_lock(&init_lock);
    stitch_provider_t *p = init_provider;
    init_provider = NULL;
    if (p && stitch_global_provider() == p)
        stitch_set_global_provider(NULL);
    pthread_mutex_unlock(&init_lock);
    if (!p)
        return STITCH_OK;
    int rc = stitch_provider_shutdown(p, timeout_ms);
    stitch_provider_free(p);
    return rc;
}
