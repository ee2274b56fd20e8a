/* sdk/sampler_rules.c — the rule sampler and its text syntax.
 *
 * A rule sampler is an ordered list of rules (conditions → action sampler)
 * and a fallback; the first rule whose conditions all hold decides. The
 * grammar (documented for users in docs/sampling.md):
 *
 *   rules  = rule *( ";" rule ) [ ";" ]
 *   rule   = ( "*" / cond *( "&&" cond ) ) "->" action
 *   cond   = [ "!" ] key ( ( "==" / "!=" / "~" / "!~" ) value / "exists" )
 *   key    = word / string     ; bare name / kind = the span's; quoted = attribute
 *   value  = word / string
 *   action = always_on / always_off / traceidratio "(" num ")" /
 *            ratelimiting "(" num ")" / parentbased_always_on /
 *            parentbased_always_off / parentbased_traceidratio "(" num ")" /
 *            parentbased_ratelimiting "(" num ")"
 *   word   = 1*( ALPHA / DIGIT / "_" / "." / "-" / "/" / ":" / "@" / "+" )
 *            (a word ends before "->")
 *   string = DQUOTE *( any byte but DQUOTE and "\" / "\" DQUOTE / "\\" ) DQUOTE
 *   spaces, tabs, newlines and "#" comments (to the end of the line) between tokens
 *
 * Invariant: deciding never allocates or locks. Everything a condition
 * compares against (the literal as text, integer, double, bool, kind) is
 * worked out when the rule is added. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/internal.h"

/* Attribute strings are not NUL-terminated, but fnmatch needs that: they are
 * copied to the stack, and longer ones never match a glob. */
#define GLOB_MAX_VALUE 1024

enum op { OP_EQ, OP_GLOB, OP_EXISTS };

struct cond {
    uint8_t field;   /* stitch_rule_field_t */
    uint8_t op;      /* enum op */
    bool negate;     /* != !~ and NOT_EXISTS */
    char *key;       /* ATTR only */
    char *text;      /* the literal or pattern, NUL-terminated */
    size_t textlen;
    bool has_i, has_d, has_b;
    int64_t i;
    double d;
    bool b;
    int kind;
};

struct rule {
    struct cond *conds;
    size_t n;
    stitch_sampler_t *action;
};

struct rules {
    stitch_sampler_t base;
    struct rule *v;
    size_t n, cap;
    stitch_sampler_t *fallback;
    char *desc;
};

/* ---- deciding ------------------------------------------------------------- */

static const stitch_attr_t *find_attr(const stitch_sampling_params_t *p, const char *key)
{
    for (size_t i = 0; i < p->nattrs; i++)
        if (p->attrs[i].key && strcmp(p->attrs[i].key, key) == 0)
            return &p->attrs[i];
    return NULL;
}

static bool value_eq(const stitch_value_t *v, const struct cond *c)
{
    switch (v->type) {
    case STITCH_VALUE_STRING:
        return v->len == c->textlen && (v->len == 0 || memcmp(v->u.str, c->text, v->len) == 0);
    case STITCH_VALUE_INT:
        if (c->has_i)
            return v->u.i == c->i;
        return c->has_d && (double)v->u.i == c->d;
    case STITCH_VALUE_DOUBLE:
        return c->has_d && v->u.d == c->d;
    case STITCH_VALUE_BOOL:
        return c->has_b && v->u.b == c->b;
    default:
        return false;
    }
}

static bool glob_str(const char *pattern, const char *s, size_t len)
{
    char buf[GLOB_MAX_VALUE];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return fnmatch(pattern, buf, 0) == 0;
}

static bool cond_holds(const struct cond *c, const stitch_sampling_params_t *p)
{
    bool r = false;
    if (c->field == STITCH_RULE_NAME) {
        const char *name = p->name ? p->name : "";
        r = c->op == OP_EQ ? strcmp(name, c->text) == 0 : fnmatch(c->text, name, 0) == 0;
    } else if (c->field == STITCH_RULE_KIND) {
        int kind = p->kind ? (int)p->kind : STITCH_SPAN_KIND_INTERNAL;
        r = kind == c->kind;
    } else {
        const stitch_attr_t *a = find_attr(p, c->key);
        if (a) {
            if (c->op == OP_EXISTS)
                r = true;
            else if (c->op == OP_EQ)
                r = value_eq(&a->value, c);
            else
                r = a->value.type == STITCH_VALUE_STRING &&
                    glob_str(c->text, a->value.u.str, a->value.len);
        }
    }
    return r != c->negate;
}

static stitch_decision_t rules_should(void *self, const stitch_sampling_params_t *p)
{
    const struct rules *rs = self;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->v[i];
        size_t k = 0;
        while (k < r->n && cond_holds(&r->conds[k], p))
            k++;
        if (k == r->n)
            return r->action->ops->should_sample(r->action->self, p);
    }
    return rs->fallback->ops->should_sample(rs->fallback->self, p);
}

static const char *rules_desc(void *self)
{
    const struct rules *rs = self;
    return rs->desc ? rs->desc : "RuleBased";
}

static void cond_free(struct cond *c)
{
    free(c->key);
    free(c->text);
}

static void rules_destroy(void *self)
{
    struct rules *rs = self;
    for (size_t i = 0; i < rs->n; i++) {
        for (size_t k = 0; k < rs->v[i].n; k++)
            cond_free(&rs->v[i].conds[k]);
        free(rs->v[i].conds);
        stitch_sampler_free(rs->v[i].action);
    }
    free(rs->v);
    stitch_sampler_free(rs->fallback);
    free(rs->desc);
}

static const stitch_sampler_ops_t rules_ops = {rules_should, rules_desc, rules_destroy};

/* ---- description: the rules rendered back in the text syntax ---------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '/' || c == ':' || c == '@' || c == '+';
}

static void sb_quoted(struct sbuf *b, const char *s, size_t n)
{
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            sb_add(b, "\\", 1);
        sb_add(b, s + i, 1);
    }
    sb_add(b, "\"", 1);
}

static void sb_key(struct sbuf *b, const char *key)
{
    size_t n = strlen(key);
    bool bare = n > 0 && strcmp(key, "name") != 0 && strcmp(key, "kind") != 0 && !strstr(key, "->") &&
                strcmp(key, "exists") != 0;
    for (size_t i = 0; bare && i < n; i++)
        bare = is_word_char(key[i]);
    if (bare)
        sb_add(b, key, n);
    else
        sb_quoted(b, key, n);
}

static const char *const kind_names[] = {NULL, "internal", "server", "client", "producer", "consumer"};

static void sb_cond(struct sbuf *b, const struct cond *c)
{
    if (c->op == OP_EXISTS) {
        if (c->negate)
            sb_add(b, "!", 1);
        sb_key(b, c->key);
        sb_str(b, " exists");
        return;
    }
    if (c->field == STITCH_RULE_NAME)
        sb_str(b, "name");
    else if (c->field == STITCH_RULE_KIND)
        sb_str(b, "kind");
    else
        sb_key(b, c->key);
    sb_str(b, c->op == OP_EQ ? (c->negate ? " != " : " == ") : (c->negate ? " !~ " : " ~ "));
    if (c->field == STITCH_RULE_KIND)
        sb_str(b, kind_names[c->kind]);
    else
        sb_quoted(b, c->text, c->textlen);
}

static int rebuild_desc(struct rules *rs)
{
    struct sbuf b = {0};
    sb_str(&b, "RuleBased{rules:[");
    for (size_t i = 0; i < rs->n; i++) {
        if (i)
            sb_str(&b, "; ");
        if (rs->v[i].n == 0)
            sb_str(&b, "*");
        for (size_t k = 0; k < rs->v[i].n; k++) {
            if (k)
                sb_str(&b, " && ");
            sb_cond(&b, &rs->v[i].conds[k]);
        }
        sb_str(&b, " -> ");
        sb_str(&b, stitch_sampler_description(rs->v[i].action));
    }
    sb_str(&b, "],fallback:");
    sb_str(&b, stitch_sampler_description(rs->fallback));
    sb_str(&b, "}");
    if (b.oom) {
        free(b.p);
        return STITCH_ENOMEM;
    }
    free(rs->desc);
    rs->desc = b.p;
    return STITCH_OK;
}

/* ---- building ------------------------------------------------------------------ */

stitch_sampler_t *stitch_sampler_rules_new(stitch_sampler_t *fallback)
{
    struct rules *rs = calloc(1, sizeof *rs);
    if (!rs) {
        stitch_sampler_free(fallback);
        return NULL;
    }
    rs->base.ops = &rules_ops;
    rs->base.self = rs;
    rs->fallback = fallback ? fallback : stitch_sampler_always_on();
    if (rebuild_desc(rs) != STITCH_OK) {
        stitch_sampler_free(&rs->base);
        return NULL;
    }
    return &rs->base;
}

static int parse_kind(const char *s, size_t n)
{
    for (int k = 1; k <= 5; k++)
        if (stitch__strieq(s, n, kind_names[k]))
            return k;
    if (n == 1 && s[0] >= '1' && s[0] <= '5')
        return s[0] - '0';
    return 0;
}

static bool parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Fill `c` from the API form; on failure `c` owns nothing. */
static int cond_init(struct cond *c, const stitch_rule_cond_t *in)
{
    memset(c, 0, sizeof *c);
    c->field = (uint8_t)in->field;
    switch (in->op) {
    case STITCH_RULE_EQ: c->op = OP_EQ; break;
    case STITCH_RULE_NE: c->op = OP_EQ, c->negate = true; break;
    case STITCH_RULE_GLOB: c->op = OP_GLOB; break;
    case STITCH_RULE_NOT_GLOB: c->op = OP_GLOB, c->negate = true; break;
    case STITCH_RULE_EXISTS: c->op = OP_EXISTS; break;
    case STITCH_RULE_NOT_EXISTS: c->op = OP_EXISTS, c->negate = true; break;
    default: return STITCH_EINVAL;
    }
    if (in->field != STITCH_RULE_ATTR && in->field != STITCH_RULE_NAME && in->field != STITCH_RULE_KIND)
        return STITCH_EINVAL;
    if (c->op == OP_EXISTS) {
        if (in->field != STITCH_RULE_ATTR)
            return STITCH_EINVAL;
    } else if (!in->value) {
        return STITCH_EINVAL;
    }
    if (in->field == STITCH_RULE_KIND) {
        if (c->op != OP_EQ || !(c->kind = parse_kind(in->value, strlen(in->value))))
            return STITCH_EINVAL;
    }
    if (in->field == STITCH_RULE_ATTR) {
        if (!in->key || !*in->key)
            return STITCH_EINVAL;
        if (!(c->key = strdup(in->key)))
            return STITCH_ENOMEM;
    }
    const char *v = in->value ? in->value : "";
    c->textlen = strlen(v);
    if (!(c->text = strdup(v))) {
        cond_free(c);
        return STITCH_ENOMEM;
    }
    c->has_i = parse_int(v, c->textlen, &c->i);
    c->has_d = stitch__parse_double(v, c->textlen, &c->d) == STITCH_OK;
    c->has_b = true;
    if (strcasecmp(v, "true") == 0)
        c->b = true;
    else if (strcasecmp(v, "false") == 0)
        c->b = false;
    else
        c->has_b = false;
    return STITCH_OK;
}

int stitch_sampler_rules_add(stitch_sampler_t *s, const stitch_rule_cond_t *conds, size_t nconds,
                             stitch_sampler_t *action)
{
    if (!s || s->ops != &rules_ops || !action || (nconds && !conds)) {
        stitch_sampler_free(action);
        return STITCH_EINVAL;
    }
    struct rules *rs = s->self;
    struct rule r = {NULL, 0, action};
    int err = STITCH_OK;
    if (nconds && !(r.conds = calloc(nconds, sizeof *r.conds)))
        err = STITCH_ENOMEM;
    for (size_t k = 0; err == STITCH_OK && k < nconds; k++)
        if ((err = cond_init(&r.conds[k], &conds[k])) == STITCH_OK)
            r.n++; /* r.n counts the conditions that own memory */
    if (err == STITCH_OK && rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 8;
        struct rule *v = realloc(rs->v, cap * sizeof *v);
        if (v) {
            rs->v = v;
            rs->cap = cap;
        } else {
            err = STITCH_ENOMEM;
        }
    }
    if (err == STITCH_OK) {
        rs->v[rs->n++] = r;
        if ((err = rebuild_desc(rs)) == STITCH_OK)
            return STITCH_OK;
        rs->n--;
    }
    for (size_t k = 0; k < r.n; k++)
        cond_free(&r.conds[k]);
    free(r.conds);
    stitch_sampler_free(action);
    return err;
}

/* ---- the text syntax ------------------------------------------------------------- */

struct parser {
    const char *s;
    size_t pos;
    stitch_sampler_parse_error_t *err;
    char *tmp; /* the last token's unescaped text */
    size_t tmplen;
};

static int fail(struct parser *p, size_t at, int code, const char *msg)
{
    if (p->err) {
        p->err->code = code;
        p->err->offset = at;
        p->err->msg = msg;
    }
    return code;
}

static void skip_space(struct parser *p)
{
    for (;;) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            p->pos++;
        else if (c == '#')
            while (p->s[p->pos] && p->s[p->pos] != '\n')
                p->pos++;
        else
            return;
    }
}

static bool at_arrow(const struct parser *p, size_t i)
{
    return p->s[i] == '-' && p->s[i + 1] == '>';
}

/* Length of the bare word at p->pos (0 when there is none). */
static size_t word_len(const struct parser *p)
{
    size_t i = p->pos;
    while (is_word_char(p->s[i]) && !at_arrow(p, i))
        i++;
    return i - p->pos;
}

static bool take(struct parser *p, const char *tok)
{
    size_t n = strlen(tok);
    if (strncmp(p->s + p->pos, tok, n) != 0)
        return false;
    p->pos += n;
    return true;
}

/* A word or a quoted string into p->tmp. *quoted says which. */
static int read_text(struct parser *p, bool *quoted, const char *what)
{
    size_t start = p->pos;
    free(p->tmp);
    p->tmp = NULL;
    if (p->s[p->pos] == '"') {
        size_t i = p->pos + 1, n = 0;
        char *out = malloc(strlen(p->s + i) + 1);
        if (!out)
            return fail(p, start, STITCH_ENOMEM, "out of memory");
        for (;;) {
            char c = p->s[i];
            if (c == '\0') {
                free(out);
                return fail(p, start, STITCH_EPARSE, "unterminated string");
            }
            if (c == '"')
                break;
            if (c == '\\') {
                char e = p->s[i + 1];
                if (e != '"' && e != '\\') {
                    free(out);
                    return fail(p, i, STITCH_EPARSE, "unknown escape (only \\\" and \\\\ are allowed)");
                }
                c = e;
                i++;
            }
            out[n++] = c;
            i++;
        }
        out[n] = '\0';
        p->tmp = out;
        p->tmplen = n;
        p->pos = i + 1;
        *quoted = true;
        return STITCH_OK;
    }
    size_t n = word_len(p);
    if (n == 0)
        return fail(p, start, STITCH_EPARSE, what);
    if (!(p->tmp = strndup(p->s + p->pos, n)))
        return fail(p, start, STITCH_ENOMEM, "out of memory");
    p->tmplen = n;
    p->pos += n;
    *quoted = false;
    return STITCH_OK;
}

/* "(" number ")" after an action name. */
static int read_arg(struct parser *p, double *out, double lo, double hi, const char *range_msg)
{
    skip_space(p);
    if (!take(p, "("))
        return fail(p, p->pos, STITCH_EPARSE, "expected '(' and a number after the sampler name");
    skip_space(p);
    size_t start = p->pos, n = word_len(p);
    if (n == 0 || stitch__parse_double(p->s + start, n, out) != STITCH_OK)
        return fail(p, start, STITCH_EPARSE, "expected a number");
    if (!(*out >= lo && *out <= hi))
        return fail(p, start, STITCH_EPARSE, range_msg);
    p->pos += n;
    skip_space(p);
    if (!take(p, ")"))
        return fail(p, p->pos, STITCH_EPARSE, "expected ')'");
    return STITCH_OK;
}

static int read_action(struct parser *p, stitch_sampler_t **out)
{
    size_t start = p->pos, n = word_len(p);
    const char *w = p->s + start;
    static const char ratio_range[] = "the ratio must be between 0 and 1";
    static const char rate_range[] = "the rate must be a number >= 0 (traces per second)";
    bool pb = false;
    *out = NULL;
    if (n > 12 && strncmp(w, "parentbased_", 12) == 0) {
        pb = true;
        w += 12;
        n -= 12;
    }
    p->pos = (size_t)(w - p->s) + n;
    stitch_sampler_t *s;
    double x;
    int err;
    if (n == 9 && strncmp(w, "always_on", n) == 0) {
        s = stitch_sampler_always_on();
    } else if (n == 10 && strncmp(w, "always_off", n) == 0) {
        s = stitch_sampler_always_off();
    } else if (n == 12 && strncmp(w, "traceidratio", n) == 0) {
        if ((err = read_arg(p, &x, 0.0, 1.0, ratio_range)) != STITCH_OK)
            return err;
        s = stitch_sampler_trace_id_ratio(x);
    } else if (n == 12 && strncmp(w, "ratelimiting", n) == 0) {
        if ((err = read_arg(p, &x, 0.0, 1e9, rate_range)) != STITCH_OK)
            return err;
        s = stitch_sampler_rate_limiting(x);
    } else {
        return fail(p, start, STITCH_EPARSE,
                    "expected a sampler: always_on, always_off, traceidratio(R), ratelimiting(N), "
                    "or parentbased_ one of those");
    }
    if (s && pb)
        s = stitch_sampler_parent_based(s);
    if (!s)
        return fail(p, start, STITCH_ENOMEM, "out of memory");
    *out = s;
    return STITCH_OK;
}

static void api_cond_free(stitch_rule_cond_t *c)
{
    free((char *)c->key);
    free((char *)c->value);
}

static int read_cond(struct parser *p, stitch_rule_cond_t *c)
{
    memset(c, 0, sizeof *c);
    bool negate = take(p, "!");
    if (negate)
        skip_space(p);
    bool quoted;
    size_t key_at = p->pos;
    int err = read_text(p, &quoted, "expected a key (name, kind, an attribute key, or a quoted key) or '*'");
    if (err)
        return err;
    if (!quoted && strcmp(p->tmp, "name") == 0) {
        c->field = STITCH_RULE_NAME;
    } else if (!quoted && strcmp(p->tmp, "kind") == 0) {
        c->field = STITCH_RULE_KIND;
    } else {
        if (p->tmplen == 0)
            return fail(p, key_at, STITCH_EPARSE, "empty attribute key");
        c->field = STITCH_RULE_ATTR;
        c->key = p->tmp;
        p->tmp = NULL;
    }
    skip_space(p);
    size_t op_at = p->pos;
    bool is_exists = false;
    if (take(p, "==")) {
        c->op = STITCH_RULE_EQ;
    } else if (take(p, "!=")) {
        c->op = STITCH_RULE_NE;
    } else if (take(p, "!~")) {
        c->op = STITCH_RULE_NOT_GLOB;
    } else if (take(p, "~")) {
        c->op = STITCH_RULE_GLOB;
    } else if (word_len(p) == 6 && take(p, "exists")) {
        c->op = STITCH_RULE_EXISTS;
        is_exists = true;
    } else if (p->s[p->pos] == '=') {
        return fail(p, op_at, STITCH_EPARSE, "expected '==' (a single '=' is not an operator)");
    } else {
        return fail(p, op_at, STITCH_EPARSE, "expected an operator: ==, !=, ~, !~ or exists");
    }
    if (is_exists && c->field != STITCH_RULE_ATTR)
        return fail(p, op_at, STITCH_EPARSE, "'exists' applies to attributes only (quote the key "
                                             "to mean an attribute called name or kind)");
    if (c->field == STITCH_RULE_KIND && c->op != STITCH_RULE_EQ && c->op != STITCH_RULE_NE)
        return fail(p, op_at, STITCH_EPARSE, "kind supports only == and !=");
    if (negate) {
        static const stitch_rule_op_t inv[] = {STITCH_RULE_NE, STITCH_RULE_EQ, STITCH_RULE_NOT_GLOB,
                                               STITCH_RULE_GLOB, STITCH_RULE_NOT_EXISTS,
                                               STITCH_RULE_EXISTS};
        c->op = inv[c->op];
    }
    if (is_exists)
        return STITCH_OK;
    skip_space(p);
    size_t val_at = p->pos;
    if ((err = read_text(p, &quoted, "expected a value (a word, a number or a quoted string)")))
        return err;
    if (c->field == STITCH_RULE_KIND && !parse_kind(p->tmp, p->tmplen))
        return fail(p, val_at, STITCH_EPARSE,
                    "unknown span kind (internal, server, client, producer, consumer)");
    c->value = p->tmp;
    p->tmp = NULL;
    return STITCH_OK;
}

/* One rule into `rs`. */
static int read_rule(struct parser *p, stitch_sampler_t *rs)
{
    stitch_rule_cond_t conds[32];
    size_t n = 0;
    int err = STITCH_OK;
    size_t rule_at = p->pos;
    if (take(p, "*")) {
        skip_space(p);
    } else {
        for (;;) {
            if (n == sizeof conds / sizeof conds[0]) {
                err = fail(p, p->pos, STITCH_EPARSE, "too many conditions in one rule (at most 32)");
                goto out;
            }
            err = read_cond(p, &conds[n]);
            n++;
            if (err)
                goto out;
            skip_space(p);
            if (!take(p, "&&"))
                break;
            skip_space(p);
        }
    }
    if (!take(p, "->")) {
        err = fail(p, p->pos, STITCH_EPARSE,
                   n ? "expected '&&' or '->' after a condition" : "expected '->' after '*'");
        goto out;
    }
    skip_space(p);
    stitch_sampler_t *action;
    if ((err = read_action(p, &action)))
        goto out;
    if ((err = stitch_sampler_rules_add(rs, conds, n, action)))
        err = fail(p, rule_at, err, err == STITCH_ENOMEM ? "out of memory" : "invalid rule");
out:
    for (size_t i = 0; i < n; i++)
        api_cond_free(&conds[i]);
    return err;
}

int stitch_sampler_rules_parse(const char *text, stitch_sampler_t *fallback, stitch_sampler_t **out,
                               stitch_sampler_parse_error_t *err)
{
    struct parser p = {text ? text : "", 0, err, NULL, 0};
    if (err) {
        err->code = STITCH_OK;
        err->offset = 0;
        err->msg = NULL;
    }
    if (out)
        *out = NULL;
    stitch_sampler_t *rs = stitch_sampler_rules_new(fallback);
    if (!rs)
        return fail(&p, 0, STITCH_ENOMEM, "out of memory");
    int e = STITCH_OK;
    skip_space(&p);
    if (!p.s[p.pos])
        e = fail(&p, p.pos, STITCH_EPARSE, "no rules (expected a rule such as '* -> always_on')");
    while (e == STITCH_OK && p.s[p.pos]) {
        if ((e = read_rule(&p, rs)))
            break;
        skip_space(&p);
        if (take(&p, ";")) {
            skip_space(&p);
        } else if (p.s[p.pos]) {
            e = fail(&p, p.pos, STITCH_EPARSE, "expected ';' between rules");
        }
    }
    free(p.tmp);
    if (e != STITCH_OK || !out) {
        stitch_sampler_free(rs);
        return e != STITCH_OK ? e : STITCH_EINVAL;
    }
    *out = rs;
    return STITCH_OK;
}
