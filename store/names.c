/* store/names.c — the in-memory set of names (services, operations with
 * their span kind, remote services) that mirrors the `name` table, so the
 * append path asks SQLite only about names it has never seen.
 * Invariant: a name is added here only after the transaction that inserted
 * it committed. Not thread-safe: the store guards it with names_mu. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static uint64_t name_hash(int type, const char *svc, size_t slen, const char *name, size_t nlen,
                          int kind)
{
    uint64_t h = st_hash(svc, slen, (uint64_t)type * 31 + (uint64_t)(kind + 7));
    return st_hash(name, nlen, h);
}

static bool eq(const st_name_t *e, int type, const char *svc, size_t slen, const char *name,
               size_t nlen, int kind)
{
    return e->type == type && e->kind == kind && strlen(e->service) == slen &&
           !memcmp(e->service, svc, slen) && strlen(e->name) == nlen && !memcmp(e->name, name, nlen);
}

bool st_names_has(const st_names_t *t, int type, const char *svc, size_t slen, const char *name,
                  size_t nlen, int kind, uint64_t *hout)
{
    uint64_t h = name_hash(type, svc, slen, name, nlen, kind);
    if (hout)
        *hout = h;
    if (!t->cap)
        return false;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        const st_name_t *e = &t->slots[i];
        if (!e->service)
            return false;
        if (e->h == h && eq(e, type, svc, slen, name, nlen, kind))
            return true;
    }
}

static void place(st_name_t *slots, size_t cap, st_name_t e)
{
    size_t i = e.h & (cap - 1);
    while (slots[i].service)
        i = (i + 1) & (cap - 1);
    slots[i] = e;
}

int st_names_add(st_names_t *t, int type, const char *svc, size_t slen, const char *name,
                 size_t nlen, int kind)
{
    uint64_t h;
    if (st_names_has(t, type, svc, slen, name, nlen, kind, &h))
        return 0;
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        st_name_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return STITCH_ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].service)
                place(ns, ncap, t->slots[i]);
        free(t->slots);
        t->slots = ns;
        t->cap = ncap;
    }
    char *mem = malloc(slen + nlen + 2);
    if (!mem)
        return STITCH_ENOMEM;
    memcpy(mem, svc, slen);
    mem[slen] = 0;
    memcpy(mem + slen + 1, name, nlen);
    mem[slen + 1 + nlen] = 0;
    st_name_t e = {type, kind, mem, mem + slen + 1, h};
    place(t->slots, t->cap, e);
    t->n++;
    return 0;
}

void st_names_free(st_names_t *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].service);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
