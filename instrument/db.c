/* The CLIENT span of one database statement, shared by the SQLite and libpq
 * adapters (instrument/db.h). Invariant: the summary parser reads only the
 * first `len` bytes of the text and writes only into the caller's buffer —
 * query text is application input and may be anything. */
#include "db.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_SUMMARY 128

/* ---- summary ------------------------------------------------------------------ */

typedef struct {
    const char *p, *end;
} cursor_t;

/* Skip blanks, -- line comments and slash-star comments. */
static void skip_space(cursor_t *c)
{
    for (;;) {
        while (c->p < c->end && isspace((unsigned char)*c->p))
            c->p++;
        if (c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] == '-') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        } else if (c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == '*') {
            c->p += 2;
            while (c->end - c->p >= 2 && !(c->p[0] == '*' && c->p[1] == '/'))
                c->p++;
            c->p = c->end - c->p >= 2 ? c->p + 2 : c->end;
        } else {
            return;
        }
    }
}

static bool ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '$';
}

/* The next word (identifier, possibly schema-qualified, or quoted), as
 * [*s, *s + *n). Quotes are left out. false at the end or on punctuation. */
static bool next_word(cursor_t *c, const char **s, size_t *n)
{
    skip_space(c);
    if (c->p >= c->end)
        return false;
    char q = *c->p;
    if (q == '"' || q == '`' || q == '[') {
        char close = q == '[' ? ']' : q;
        const char *start = ++c->p;
        while (c->p < c->end && *c->p != close)
            c->p++;
        *s = start;
        *n = (size_t)(c->p - start);
        if (c->p < c->end)
            c->p++;
        return *n > 0;
    }
    if (!ident_char(q)) {
        c->p++; /* punctuation: consumed, not a word */
        *s = c->p - 1;
        *n = 0;
        return true;
    }
    const char *start = c->p;
    while (c->p < c->end && ident_char(*c->p))
        c->p++;
    *s = start;
    *n = (size_t)(c->p - start);
    return true;
}

static bool word_is(const char *s, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(s, kw, n) == 0;
}

size_t stitch__db_summary(const char *sql, size_t len, char *buf, size_t cap)
{
    if (!cap)
        return 0;
    buf[0] = '\0';
    if (!sql)
        return 0;
    cursor_t c = {sql, sql + len};
    const char *w;
    size_t wn;
    if (!next_word(&c, &w, &wn) || wn == 0)
        return 0;
    size_t out = 0;
    for (size_t i = 0; i < wn && out + 1 < cap; i++)
        buf[out++] = (char)toupper((unsigned char)w[i]);
    buf[out] = '\0';
    /* The first table: the word after FROM / INTO / UPDATE / TABLE / JOIN,
     * skipping parentheses (a sub-select's table is still its table). */
    bool want = word_is(w, wn, "UPDATE");
    while (next_word(&c, &w, &wn)) {
        if (wn == 0)
            continue;
        if (want && word_is(w, wn, "SELECT")) { /* FROM (SELECT ...): look inside */
            want = false;
            continue;
        }
        if (want) {
            if (word_is(w, wn, "ONLY") || word_is(w, wn, "OR") || word_is(w, wn, "IF") ||
                word_is(w, wn, "NOT") || word_is(w, wn, "EXISTS") || word_is(w, wn, "REPLACE") || word_is(w, wn, "IGNORE") || word_is(w, wn, "ABORT") ||
                word_is(w, wn, "ROLLBACK") || word_is(w, wn, "FAIL"))
                continue;
            if (out + 1 < cap)
                buf[out++] = ' ';
            for (size_t i = 0; i < wn && out + 1 < cap; i++)
                buf[out++] = w[i];
            buf[out] = '\0';
            return out;
        }
        want = word_is(w, wn, "FROM") || word_is(w, wn, "INTO") || word_is(w, wn, "TABLE") ||
               word_is(w, wn, "JOIN");
    }
    return out;
}

/* ---- spans ---------------------------------------------------------------------- */

stitch_span_t *stitch__db_span_start(const stitch__db_span_opts_t *o)
{
    /* db.query.text is the statement itself: without the blanks around it
     * and the terminating ';' that a multi-statement text leaves on each. */
    const char *q = o->query;
    size_t ql = q ? o->query_len : 0;
    while (ql && isspace((unsigned char)*q))
        q++, ql--;
    while (ql && (isspace((unsigned char)q[ql - 1]) || q[ql - 1] == ';'))
        ql--;
    char summary[MAX_SUMMARY];
    size_t sl = q ? stitch__db_summary(q, ql, summary, sizeof summary) : 0;
    stitch_attr_t a[8];
    size_t n = 0;
    a[n++] = stitch_attr_str("db.system.name", o->system);
    if (o->db_namespace && *o->db_namespace)
        a[n++] = stitch_attr_str("db.namespace", o->db_namespace);
    if (q)
        a[n++] = stitch_attr_strn("db.query.text", q, ql);
    if (sl)
        a[n++] = stitch_attr_strn("db.query.summary", summary, sl);
    if (o->server_address && *o->server_address)
        a[n++] = stitch_attr_str("server.address", o->server_address);
    if (o->server_port > 0)
        a[n++] = stitch_attr_int("server.port", o->server_port);
    /* Name: the summary; else the namespace; else the system (the
     * conventions' fall-back order). */
    const char *name = sl ? summary
                      : (o->db_namespace && *o->db_namespace) ? o->db_namespace : o->system;
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_CLIENT, .parent = o->parent,
                             .attrs = a, .nattrs = n};
    return stitch_span_start(o->tracer, name, &so);
}

void stitch__db_span_fail(stitch_span_t *s, const char *code, const char *type, const char *message)
{
    if (code && *code)
        (void)stitch_span_set_str(s, "db.response.status_code", code);
    (void)stitch_span_set_str(s, "error.type", type && *type ? type : "_OTHER");
    stitch_span_set_status(s, STITCH_STATUS_ERROR, message);
}
