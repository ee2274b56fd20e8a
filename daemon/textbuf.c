/* daemon/textbuf.c — see textbuf.h. The buffer doubles from 8 KB, so a
 * /metrics page is formatted with a handful of reallocations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/textbuf.h"

void st_text_printf(st_text_t *t, const char *fmt, ...)
{
    while (!t->oom) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->oom = true;
            return;
        }
        if (t->p && (size_t)k < t->cap - t->len) {
            t->len += (size_t)k;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap < t->len + (size_t)k + 1)
            cap *= 2;
        char *np = realloc(t->p, cap);
        if (!np) {
            t->oom = true;
            return;
        }
        t->p = np;
        t->cap = cap;
    }
}

void st_text_metric_head(st_text_t *t, const char *name, const char *type, const char *help)
{
    st_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
