/* fuzz_kv_list: stitch__kv_list_parse, the OpenTelemetry key=value list of
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS. Invariants: an
 * error reaches fn with nothing and leaves a reason; keys are non-empty,
 * trimmed and free of ',' and '='; the members, written back with every
 * value byte percent-encoded, parse to the same members; a callback's
 * non-zero result stops the walk and is returned. */
#include "fuzz_util.h"
#include "sdk/internal.h"

struct kv {
    char *key, *val;
    size_t klen, vlen;
};

struct kvs {
    struct kv *m;
    size_t n;
    size_t stop_at; /* return 42 from the call with this index; SIZE_MAX: never */
};

static int collect(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
    struct kvs *l = arg;
    FUZZ_CHECK(klen > 0 && !memchr(key, ',', klen) && !memchr(key, '=', klen));
    FUZZ_CHECK(key[0] != ' ' && key[0] != '\t' && key[klen - 1] != ' ' && key[klen - 1] != '\t');
    if (l->n == l->stop_at)
        return 42;
    struct kv *m = realloc(l->m, (l->n + 1) * sizeof *m);
    FUZZ_CHECK(m != NULL);
    l->m = m;
    m[l->n] = (struct kv){fz_dup(key, klen, 0), fz_dup(val, vlen, 0), klen, vlen};
    l->n++;
    return 0;
}

static void kvs_free(struct kvs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->m[i].key);
        free(l->m[i].val);
    }
    free(l->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_cstr(data, size);
    char why[128] = "";
    struct kvs a = {NULL, 0, SIZE_MAX};
    int rc = stitch__kv_list_parse(s, collect, &a, why, sizeof why);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EINVAL || rc == STITCH_ENOMEM);
    if (rc == STITCH_EINVAL)
        FUZZ_CHECK(a.n == 0 && why[0] != '\0');
    if (rc == 0 && a.n > 0) {
        /* write the list back: key=%XX%XX...,key2=... */
        size_t cap = 1;
        for (size_t i = 0; i < a.n; i++)
            cap += a.m[i].klen + 1 + 3 * a.m[i].vlen + 1;
        char *w = malloc(cap), *o = w;
        FUZZ_CHECK(w != NULL);
        for (size_t i = 0; i < a.n; i++) {
            memcpy(o, a.m[i].key, a.m[i].klen);
            o += a.m[i].klen;
            *o++ = '=';
            for (size_t j = 0; j < a.m[i].vlen; j++)
                o += sprintf(o, "%%%02X", (unsigned char)a.m[i].val[j]);
            *o++ = i + 1 < a.n ? ',' : '\0';
        }
        struct kvs b = {NULL, 0, SIZE_MAX};
        FUZZ_CHECK(stitch__kv_list_parse(w, collect, &b, why, sizeof why) == 0);
        FUZZ_CHECK(b.n == a.n);
        for (size_t i = 0; i < a.n; i++) {
            FUZZ_CHECK(a.m[i].klen == b.m[i].klen && !memcmp(a.m[i].key, b.m[i].key, a.m[i].klen));
            FUZZ_CHECK(a.m[i].vlen == b.m[i].vlen && !memcmp(a.m[i].val, b.m[i].val, a.m[i].vlen));
        }
        kvs_free(&b);
        /* stop after the first member: fn's result comes back */
        struct kvs c = {NULL, 0, 1};
        FUZZ_CHECK(stitch__kv_list_parse(s, collect, &c, why, sizeof why) == (a.n > 1 ? 42 : 0));
        kvs_free(&c);
        free(w);
    }
    kvs_free(&a);
    free(s);
    return 0;
}
