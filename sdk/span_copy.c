/* sdk/span_copy.c — self-contained copies of ended spans' data, for the
 * batch processor's queue: the span goes back to its pool at once (hot for
 * the next start) and the copy waits for the exporter.
 *
 * A copy is one block, 8-byte aligned, that starts with its
 * stitch_span_data_t; every pointer in it points inside the block, except
 * `resource` and `scope` (owned by the provider, which outlives the
 * processors, as for a span) and the string literals the SDK itself uses.
 * Layout:
 *
 *     stitch_span_data_t
 *     aligned objects (attribute lists, events, links, array values),
 *       each a multiple of 8 bytes, in the order the copy walks them
 *     characters (names, keys, string values, each NUL-terminated)
 *     padding to a multiple of 8
 *
 * Tracestates are not copied: the copy holds a reference to the span's and
 * to each link's, given back by stitch__span_copy_drop().
 *
 * Two passes over the data, one to size and one to copy; no allocation. */
#include <string.h>

#include "sdk/span.h"

static inline size_t al8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ---- sizing ---- */

struct need {
    size_t obj;   /* aligned bytes */
    size_t chars; /* string bytes, NULs included */
};

static inline void str_need(struct need *n, const char *s)
{
    if (s)
        n->chars += strlen(s) + 1;
}

static void value_need(struct need *n, const stitch_value_t *v)
{
    size_t len = v->len;
    switch (v->type) {
    case STITCH_VALUE_STRING:
        if (v->u.str)
            n->chars += len + 1;
        break;
    case STITCH_VALUE_STRING_ARRAY:
        if (!v->u.strs)
            break;
        n->obj += len * sizeof(stitch_str_t);
        for (size_t i = 0; i < len; i++)
            if (v->u.strs[i].ptr)
                n->chars += v->u.strs[i].len + 1;
        break;
    case STITCH_VALUE_BOOL_ARRAY:
        if (v->u.bools)
            n->obj += al8(len * sizeof(bool));
        break;
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY:
        if (v->u.ints)
            n->obj += len * sizeof(int64_t);
        break;
    default:
        break;
    }
}

static inline void attrs_need(struct need *n, const stitch_attr_t *a, uint32_t cnt)
{
    if (!a || !cnt)
        return;
    n->obj += cnt * sizeof *a;
    for (uint32_t i = 0; i < cnt; i++) {
        str_need(n, a[i].key);
        value_need(n, &a[i].value);
    }
}

size_t stitch__span_copy_size(const stitch_span_data_t *d, size_t *chars_at)
{
    struct need n = {sizeof *d, 0};
    str_need(&n, d->name);
    str_need(&n, d->status_message);
    attrs_need(&n, d->attrs, d->nattrs);
    if (d->events && d->nevents) {
        n.obj += d->nevents * sizeof *d->events;
        for (uint32_t i = 0; i < d->nevents; i++) {
            str_need(&n, d->events[i].name);
            attrs_need(&n, d->events[i].attrs, d->events[i].nattrs);
        }
    }
    if (d->links && d->nlinks) {
        n.obj += d->nlinks * sizeof *d->links;
        for (uint32_t i = 0; i < d->nlinks; i++)
            attrs_need(&n, d->links[i].attrs, d->links[i].nattrs);
    }
    *chars_at = n.obj;
    return al8(n.obj + n.chars);
}

/* ---- copying ---- */

struct cur {
    char *obj;   /* next aligned object */
    char *chars; /* next string */
};

static inline const char *str_copy(struct cur *c, const char *s)
{
    if (!s)
        return NULL;
    char *d = c->chars;
    c->chars = stpcpy(d, s) + 1;
    return d;
}

static inline const char *strn_copy(struct cur *c, const char *s, size_t len)
{
    char *d = c->chars;
    memcpy(d, s, len);
    d[len] = '\0';
    c->chars = d + len + 1;
    return d;
}

static inline void *obj_copy(struct cur *c, const void *src, size_t size)
{
    void *d = c->obj;
    memcpy(d, src, size);
    c->obj += al8(size);
    return d;
}

/* The copies write into memory that is likely cold (a ring slot the
 * exporter thread read last): they read only from the source, never back
 * from what they wrote, so that no load waits for a store's cache miss. */

/* *dst = src with its payload copied. */
static void value_copy(struct cur *c, stitch_value_t *dst, const stitch_value_t *src)
{
    size_t len = src->len;
    stitch_value_t v = *src;
    switch (src->type) {
    case STITCH_VALUE_STRING:
        if (src->u.str)
            v.u.str = strn_copy(c, src->u.str, len);
        break;
    case STITCH_VALUE_STRING_ARRAY: {
        if (!src->u.strs)
            break;
        stitch_str_t *a = (stitch_str_t *)(void *)c->obj;
        c->obj += len * sizeof *a;
        for (size_t i = 0; i < len; i++) {
            const stitch_str_t *e = &src->u.strs[i];
            a[i].ptr = e->ptr ? strn_copy(c, e->ptr, e->len) : NULL;
            a[i].len = e->len;
        }
        v.u.strs = a;
        break;
    }
    case STITCH_VALUE_BOOL_ARRAY:
        if (src->u.bools)
            v.u.bools = obj_copy(c, src->u.bools, len * sizeof(bool));
        break;
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY:
        if (src->u.ints)
            v.u.ints = obj_copy(c, src->u.ints, len * sizeof(int64_t));
        break;
    default:
        break;
    }
    *dst = v;
}

static inline const stitch_attr_t *attrs_copy(struct cur *c, const stitch_attr_t *src, uint32_t n)
{
    if (!src || !n)
        return NULL;
    stitch_attr_t *a = (stitch_attr_t *)(void *)c->obj;
    c->obj += n * sizeof *a;
    for (uint32_t i = 0; i < n; i++) {
        a[i].key = str_copy(c, src[i].key);
        value_copy(c, &a[i].value, &src[i].value);
    }
    return a;
}

stitch_span_data_t *stitch__span_copy(void *buf, size_t chars_at, const stitch_span_data_t *d)
{
    stitch_span_data_t *o = buf;
    *o = *d;
    struct cur c = {(char *)buf + sizeof *d, (char *)buf + chars_at};
    o->name = str_copy(&c, d->name);
    o->status_message = str_copy(&c, d->status_message);
    o->attrs = attrs_copy(&c, d->attrs, d->nattrs);
    if (d->events && d->nevents) {
        stitch_event_t *e = (stitch_event_t *)(void *)c.obj;
        c.obj += d->nevents * sizeof *e;
        for (uint32_t i = 0; i < d->nevents; i++) {
            const stitch_event_t *se = &d->events[i];
            e[i].time_ns = se->time_ns;
            e[i].nattrs = se->nattrs;
            e[i].dropped_attrs = se->dropped_attrs;
            e[i].name = str_copy(&c, se->name);
            e[i].attrs = attrs_copy(&c, se->attrs, se->nattrs);
        }
        o->events = e;
    } else {
        o->events = NULL;
    }
    if (d->links && d->nlinks) {
        stitch_link_t *l = (stitch_link_t *)(void *)c.obj;
        c.obj += d->nlinks * sizeof *l;
        for (uint32_t i = 0; i < d->nlinks; i++) {
            const stitch_link_t *sl = &d->links[i];
            l[i].ctx = sl->ctx;
            l[i].nattrs = sl->nattrs;
            l[i].dropped_attrs = sl->dropped_attrs;
            l[i].attrs = attrs_copy(&c, sl->attrs, sl->nattrs);
            l[i].tracestate = stitch_tracestate_ref(sl->tracestate);
        }
        o->links = l;
    } else {
        o->links = NULL;
    }
    o->tracestate = stitch_tracestate_ref(d->tracestate);
    return o;
}

void stitch__span_copy_drop(const stitch_span_data_t *c)
{
    stitch_tracestate_unref((stitch_tracestate_t *)c->tracestate);
    for (uint32_t i = 0; i < c->nlinks; i++)
        stitch_tracestate_unref((stitch_tracestate_t *)c->links[i].tracestate);
}

/* ---- ended spans: the fast path ----
 *
 * A span whose data all lies in its inline arena (the common case: no
 * chunk was needed) is copied as one block and its pointers rebased, with
 * no string scanned:
 *
 *     stitch_span_data_t
 *     the attribute list, when it is the span's inline one
 *     the used part of the inline arena, as is (names, keys, values,
 *       events, links, grown lists, and any garbage a replaced value left)
 *
 * Pointers outside the arena (string literals such as the "" status
 * message, the resource, the scope) are kept as they are. */

struct rebase {
    uintptr_t lo;  /* the span's arena */
    size_t n;      /* its used bytes */
    uintptr_t to;  /* where the copy of the arena starts */
};

static inline const void *rb(const struct rebase *r, const void *p)
{
    uintptr_t u = (uintptr_t)p;
    return u - r->lo < r->n ? (const void *)(u - r->lo + r->to) : p;
}

static void attrs_rebase(const struct rebase *r, stitch_attr_t *dst, const stitch_attr_t *src,
                         uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        stitch_value_t v = src[i].value;
        switch (v.type) {
        case STITCH_VALUE_BOOL:
        case STITCH_VALUE_INT:
        case STITCH_VALUE_DOUBLE:
            break;
        case STITCH_VALUE_STRING_ARRAY: {
            stitch_str_t *a = (stitch_str_t *)rb(r, v.u.strs);
            for (uint32_t j = 0; j < v.len; j++)
                a[j].ptr = rb(r, v.u.strs[j].ptr);
            v.u.strs = a;
            break;
        }
        default: /* a string or another array: one pointer */
            v.u.str = rb(r, v.u.str);
            break;
        }
        dst[i].key = rb(r, src[i].key);
        dst[i].value = v;
    }
}

size_t stitch__span_record_size(const stitch_span_t *s, size_t *chars_at)
{
    if (s->chunk_at || !s->recording) {
        return stitch__span_copy_size(&s->d, chars_at);
    }
    *chars_at = 0;
    size_t n = sizeof s->d + al8((size_t)(s->a_cur - s->a_inline));
    if (s->d.attrs == s->attr_inline)
        n += s->d.nattrs * sizeof(stitch_attr_t);
    return n;
}

stitch_span_data_t *stitch__span_record(void *buf, size_t chars_at, const stitch_span_t *s)
{
    const stitch_span_data_t *d = &s->d;
    if (chars_at)
        return stitch__span_copy(buf, chars_at, d);
    stitch_span_data_t *o = buf;
    char *p = (char *)buf + sizeof *d;
    stitch_attr_t *inl = NULL;
    if (d->attrs == s->attr_inline) {
        inl = (stitch_attr_t *)(void *)p;
        p += d->nattrs * sizeof *inl;
    }
    size_t used = (size_t)(s->a_cur - s->a_inline);
    memcpy(p, s->a_inline, used);
    struct rebase r = {(uintptr_t)s->a_inline, used, (uintptr_t)p};
    *o = *d;
    o->name = rb(&r, d->name);
    o->status_message = rb(&r, d->status_message);
    if (d->nattrs) {
        stitch_attr_t *a = inl ? inl : (stitch_attr_t *)rb(&r, d->attrs);
        attrs_rebase(&r, a, d->attrs, d->nattrs);
        o->attrs = a;
    } else {
        o->attrs = NULL;
    }
    if (d->nevents) {
        stitch_event_t *e = (stitch_event_t *)rb(&r, d->events);
        for (uint32_t i = 0; i < d->nevents; i++) {
            const stitch_event_t *se = &d->events[i];
            stitch_attr_t *a = (stitch_attr_t *)rb(&r, se->attrs);
            attrs_rebase(&r, a, se->attrs, se->nattrs);
            e[i].name = rb(&r, se->name);
            e[i].attrs = se->nattrs ? a : NULL;
        }
        o->events = e;
    } else {
        o->events = NULL;
    }
    if (d->nlinks) {
        stitch_link_t *l = (stitch_link_t *)rb(&r, d->links);
        for (uint32_t i = 0; i < d->nlinks; i++) {
            const stitch_link_t *sl = &d->links[i];
            stitch_attr_t *a = (stitch_attr_t *)rb(&r, sl->attrs);
            attrs_rebase(&r, a, sl->attrs, sl->nattrs);
            l[i].attrs = sl->nattrs ? a : NULL;
            l[i].tracestate = stitch_tracestate_ref(sl->tracestate);
        }
        o->links = l;
    } else {
        o->links = NULL;
    }
    o->tracestate = stitch_tracestate_ref(d->tracestate);
    return o;
}
