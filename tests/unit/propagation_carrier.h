/* tests/unit/propagation_carrier.h — a header-map carrier for the
 * propagation tests: fixed capacity, names compared without case (as on
 * the wire), set() replaces. Invariant: strings are copied in, so tests
 * can build headers from temporaries. */
#ifndef TEST_PROPAGATION_CARRIER_H
#define TEST_PROPAGATION_CARRIER_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stitch/propagation.h"

#define TC_MAX 64

typedef struct tcarrier {
    char name[TC_MAX][320];
    char value[TC_MAX][9000];
    size_t n;
    stitch_carrier_t c;
} tcarrier_t;

static inline const char *tc_get(void *self, const char *name, size_t idx, size_t *len)
{
    tcarrier_t *t = self;
    for (size_t i = 0; i < t->n; i++)
        if (!strcasecmp(t->name[i], name) && idx-- == 0) {
            *len = strlen(t->value[i]);
            return t->value[i];
        }
    return NULL;
}

static inline int tc_set(void *self, const char *name, const char *value)
{
    tcarrier_t *t = self;
    size_t i;
    for (i = 0; i < t->n; i++)
        if (!strcasecmp(t->name[i], name))
            break;
    if (i == TC_MAX)
        return STITCH_ELIMIT;
    if (i == t->n)
        t->n++;
    snprintf(t->name[i], sizeof t->name[i], "%s", name);
    snprintf(t->value[i], sizeof t->value[i], "%s", value);
    return 0;
}

static inline void tc_keys(void *self, void (*fn)(void *, const char *, size_t), void *arg)
{
    tcarrier_t *t = self;
    for (size_t i = 0; i < t->n; i++)
        fn(arg, t->name[i], strlen(t->name[i]));
}

static inline tcarrier_t *tc_new(void)
{
    static tcarrier_t t; /* large: keep it off the stack */
    memset(&t, 0, sizeof t);
    t.c = (stitch_carrier_t){&t, tc_get, tc_set, tc_keys};
    return &t;
}

/* Append (never replace): repeated headers. */
static inline void tc_add(tcarrier_t *t, const char *name, const char *value)
{
    snprintf(t->name[t->n], sizeof t->name[0], "%s", name);
    snprintf(t->value[t->n], sizeof t->value[0], "%s", value);
    t->n++;
}

static inline const char *tc_find(tcarrier_t *t, const char *name)
{
    size_t len;
    return tc_get(t, name, 0, &len);
}

static inline void hex16(const uint8_t id[16], char out[33])
{
    stitch_trace_id_hex(id, out);
}

#endif
