/* sdk/util.c — error texts, the version, logging and environment helpers.
 * The library never prints unless the user installed a logger or set
 * STITCH_LOG=stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "propagation/internal.h"
#include "sdk/internal.h"

const char *stitch_strerror(int err)
{
    switch (err) {
    case STITCH_OK: return "success";
    case STITCH_EINVAL: return "invalid argument or input";
    case STITCH_ENOMEM: return "out of memory";
    case STITCH_ELIMIT: return "limit reached; the excess was dropped";
    case STITCH_ENOTFOUND: return "not found";
    case STITCH_ESTATE: return "object in the wrong state";
    case STITCH_ETIMEDOUT: return "timed out";
    case STITCH_EPARSE: return "parse error";
    case STITCH_EIO: return "input/output error";
    case STITCH_ERANGE: return "value out of range";
    default: return "unknown error";
    }
}

const char *stitch_version(void)
{
    return STITCH_VERSION_STRING;
}

static _Atomic(stitch_log_fn) log_fn;
static void *_Atomic log_arg;

void stitch_set_logger(stitch_log_fn fn, void *arg)
{
    atomic_store(&log_arg, arg);
    atomic_store(&log_fn, fn);
}

void stitch__log(stitch_log_level_t level, const char *fmt, ...)
{
    stitch_log_fn fn = atomic_load(&log_fn);
    const char *env = NULL;
    if (!fn) {
        env = getenv("STITCH_LOG");
        if (!env || strcmp(env, "stderr") != 0 || level > STITCH_LOG_WARN)
            return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof msg) /* say that the message was cut */
        memcpy(msg + sizeof msg - 4, "...", 4);
    if (fn) {
        fn(atomic_load(&log_arg), level, msg);
    } else {
        static const char *names[] = {"error", "warn", "info", "debug"};
        fprintf(stderr, "stitch %s: %s\n", names[level], msg);
    }
}

const char *stitch__getenv(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

bool stitch__strieq(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

int stitch__kv_list_parse(const char *list, stitch__kv_fn fn, void *arg, char *why, size_t whylen)
{
    size_t n = strlen(list);
    char *buf = malloc(n + 1); /* one decoded value at a time */
    if (!buf)
        return STITCH_ENOMEM;
    int rc = STITCH_OK;
    for (int pass = 0; pass < 2 && rc == STITCH_OK; pass++) {
        const char *s = list, *end = list + n;
        while (s < end && rc == STITCH_OK) {
            const char *m = memchr(s, ',', (size_t)(end - s));
            if (!m)
                m = end;
            const char *eq = memchr(s, '=', (size_t)(m - s));
            const char *kb = s, *ke = eq ? eq : m;
            trim(&kb, &ke);
            if (!eq && kb == ke) { /* an empty member */
                s = m + 1;
                continue;
            }
            if (!eq || kb == ke) {
                snprintf(why, whylen, "member \"%.*s\" is not key=value", (int)(m - s), s);
                rc = STITCH_EINVAL;
                break;
            }
            const char *vb = eq + 1, *ve = m;
            trim(&vb, &ve);
            long vlen = stitch__pct_decode(vb, (size_t)(ve - vb), buf);
            if (vlen < 0) {
                snprintf(why, whylen, "bad percent-encoding in \"%.*s\"", (int)(m - s), s);
                rc = STITCH_EINVAL;
                break;
            }
            if (pass == 1)
                rc = fn(arg, kb, (size_t)(ke - kb), buf, (size_t)vlen);
            s = m + 1;
        }
    }
    free(buf);
    return rc;
}
