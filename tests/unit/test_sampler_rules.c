/* The rule sampler: matching (name, kind, typed attributes, globs,
 * presence, negation), first match wins, the API's ownership rules, and the
 * text syntax with its error positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stitch/sampler.h"

static uint8_t tid_drop_at_half[16]; /* randomness 0: dropped by any ratio < 1 */

static stitch_decision_t run(stitch_sampler_t *s, const char *name, stitch_span_kind_t kind,
                             const stitch_attr_t *attrs, size_t n)
{
    stitch_sampling_params_t p;
    memset(&p, 0, sizeof p);
    p.trace_id = tid_drop_at_half;
    p.name = name;
    p.kind = kind;
    p.attrs = attrs;
    p.nattrs = n;
    return stitch_sampler_should_sample(s, &p);
}

#define ON STITCH_RECORD_AND_SAMPLE
#define OFF STITCH_DROP
#define SERVER STITCH_SPAN_KIND_SERVER
#define CLIENT STITCH_SPAN_KIND_CLIENT

static void test_sampler_rules_api_typed_equality(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_rules_new(stitch_sampler_always_off());
    assert_non_null(s);
    stitch_rule_cond_t c = {STITCH_RULE_ATTR, "user.id", STITCH_RULE_EQ, "42"};
    assert_int_equal(stitch_sampler_rules_add(s, &c, 1, stitch_sampler_always_on()), 0);
    assert_string_equal(stitch_sampler_description(s),
                        "RuleBased{rules:[user.id == \"42\" -> AlwaysOnSampler],"
                        "fallback:AlwaysOffSampler}");

    stitch_attr_t a[] = {stitch_attr_str("user.id", "42")};
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_str("user.id", "43");
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    a[0] = stitch_attr_str("user.id", "420");
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    a[0] = stitch_attr_strn("user.id", "42xyz", 2); /* not NUL-terminated at len */
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_int("user.id", 42); /* compared as an int */
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_int("user.id", -42);
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    a[0] = stitch_attr_double("user.id", 42.0);
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_bool("user.id", true);
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    assert_int_equal(run(s, "x", SERVER, NULL, 0), OFF);
    stitch_attr_t other[] = {stitch_attr_str("user.name", "42"), stitch_attr_str("user.id", "42")};
    assert_int_equal(run(s, "x", SERVER, other, 2), ON);
    stitch_sampler_free(s);

    /* bool and double literals */
    s = stitch_sampler_rules_new(stitch_sampler_always_off());
    stitch_rule_cond_t cb = {STITCH_RULE_ATTR, "debug", STITCH_RULE_EQ, "true"};
    stitch_rule_cond_t cd = {STITCH_RULE_ATTR, "weight", STITCH_RULE_EQ, "0.5"};
    assert_int_equal(stitch_sampler_rules_add(s, &cb, 1, stitch_sampler_always_on()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, &cd, 1, stitch_sampler_always_on()), 0);
    a[0] = stitch_attr_bool("debug", true);
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_bool("debug", false);
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    a[0] = stitch_attr_str("debug", "true");
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_double("weight", 0.5);
    assert_int_equal(run(s, "x", SERVER, a, 1), ON);
    a[0] = stitch_attr_double("weight", 0.25);
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    a[0] = stitch_attr_int("weight", 0); /* "0.5" is not an integer */
    assert_int_equal(run(s, "x", SERVER, a, 1), OFF);
    stitch_sampler_free(s);
}

static void test_sampler_rules_api_name_kind_glob_exists(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_rules_new(stitch_sampler_always_on());
    stitch_rule_cond_t health[] = {
        {STITCH_RULE_KIND, NULL, STITCH_RULE_EQ, "server"},
        {STITCH_RULE_NAME, NULL, STITCH_RULE_GLOB, "GET /health*"},
    };
    stitch_rule_cond_t internal_only[] = {{STITCH_RULE_ATTR, "internal", STITCH_RULE_EXISTS, NULL}};
    stitch_rule_cond_t no_tenant[] = {{STITCH_RULE_ATTR, "tenant", STITCH_RULE_NOT_EXISTS, NULL},
                                      {STITCH_RULE_NAME, NULL, STITCH_RULE_EQ, "job"}};
    stitch_rule_cond_t not_api[] = {{STITCH_RULE_ATTR, "http.route", STITCH_RULE_NOT_GLOB, "/api/*"},
                                    {STITCH_RULE_KIND, NULL, STITCH_RULE_NE, "client"}};
    assert_int_equal(stitch_sampler_rules_add(s, health, 2, stitch_sampler_always_off()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, internal_only, 1, stitch_sampler_always_off()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, no_tenant, 2, stitch_sampler_always_off()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, not_api, 2, stitch_sampler_always_off()), 0);

    stitch_attr_t route_api[] = {stitch_attr_str("http.route", "/api/cart")};
    /* all conditions of a rule must hold */
    assert_int_equal(run(s, "GET /healthz", SERVER, route_api, 1), OFF);
    assert_int_equal(run(s, "GET /healthz", CLIENT, route_api, 1), ON);
    assert_int_equal(run(s, "POST /healthz", SERVER, route_api, 1), ON);
    stitch_attr_t internal[] = {stitch_attr_str("http.route", "/api/x"), stitch_attr_bool("internal", false)};
    assert_int_equal(run(s, "GET /", SERVER, internal, 2), OFF); /* exists, whatever the value */
    assert_int_equal(run(s, "job", SERVER, route_api, 1), OFF);  /* no tenant attribute */
    stitch_attr_t tenant[] = {stitch_attr_str("http.route", "/api/x"), stitch_attr_str("tenant", "a")};
    assert_int_equal(run(s, "job", SERVER, tenant, 2), ON);
    /* !~ on an absent attribute holds; kind 0 counts as INTERNAL (!= client) */
    assert_int_equal(run(s, "other", 0, NULL, 0), OFF);
    assert_int_equal(run(s, "other", CLIENT, NULL, 0), ON);
    stitch_attr_t route_web[] = {stitch_attr_str("http.route", "/web")};
    assert_int_equal(run(s, "other", SERVER, route_web, 1), OFF);
    stitch_sampler_free(s);
}

static void test_sampler_rules_first_match_wins(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_rules_new(NULL); /* fallback always_on */
    stitch_rule_cond_t a = {STITCH_RULE_ATTR, "a", STITCH_RULE_EXISTS, NULL};
    stitch_rule_cond_t b = {STITCH_RULE_ATTR, "b", STITCH_RULE_EXISTS, NULL};
    assert_int_equal(stitch_sampler_rules_add(s, &a, 1, stitch_sampler_always_off()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, &b, 1, stitch_sampler_always_on()), 0);
    assert_int_equal(stitch_sampler_rules_add(s, NULL, 0, stitch_sampler_trace_id_ratio(0.5)), 0);
    stitch_attr_t ab[] = {stitch_attr_int("b", 1), stitch_attr_int("a", 1)};
    assert_int_equal(run(s, "x", SERVER, ab, 2), OFF);
    assert_int_equal(run(s, "x", SERVER, ab, 1), ON);
    assert_int_equal(run(s, "x", SERVER, NULL, 0), OFF); /* the catch-all ratio rule */
    assert_string_equal(stitch_sampler_description(s),
                        "RuleBased{rules:[a exists -> AlwaysOffSampler; b exists -> AlwaysOnSampler; "
                        "* -> TraceIdRatioBased{0.500000}],fallback:AlwaysOnSampler}");
    stitch_sampler_free(s);
}

static int destroyed;
static stitch_decision_t probe_should(void *self, const stitch_sampling_params_t *p)
{
    (void)self, (void)p;
    return STITCH_RECORD_ONLY;
}
static void probe_destroy(void *self)
{
    (void)self;
    destroyed++;
}
static const stitch_sampler_ops_t probe_ops = {probe_should, NULL, probe_destroy};

static void test_sampler_rules_api_errors_free_action(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_rules_new(NULL);
    stitch_rule_cond_t bad[] = {
        {STITCH_RULE_KIND, NULL, STITCH_RULE_GLOB, "serv*"},     /* glob on kind */
        {STITCH_RULE_KIND, NULL, STITCH_RULE_EQ, "servr"},       /* unknown kind */
        {STITCH_RULE_NAME, NULL, STITCH_RULE_EXISTS, NULL},      /* exists on the name */
        {STITCH_RULE_ATTR, NULL, STITCH_RULE_EQ, "x"},           /* no key */
        {STITCH_RULE_ATTR, "k", STITCH_RULE_EQ, NULL},           /* no value */
        {STITCH_RULE_ATTR, "k", (stitch_rule_op_t)42, "x"},      /* no such op */
    };
    destroyed = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stitch_rule_cond_t two[2] = {{STITCH_RULE_ATTR, "ok", STITCH_RULE_EQ, "1"}, bad[i]};
        assert_int_equal(stitch_sampler_rules_add(s, two, 2, stitch_sampler_new(&probe_ops, NULL)),
                         STITCH_EINVAL);
        assert_int_equal(destroyed, (int)i + 1);
    }
    assert_int_equal(stitch_sampler_rules_add(s, NULL, 0, NULL), STITCH_EINVAL);
    /* not a rule sampler */
    stitch_sampler_t *r = stitch_sampler_trace_id_ratio(0.5);
    assert_int_equal(stitch_sampler_rules_add(r, NULL, 0, stitch_sampler_new(&probe_ops, NULL)),
                     STITCH_EINVAL);
    assert_int_equal(destroyed, 7);
    stitch_sampler_free(r);
    /* nothing was added */
    assert_string_equal(stitch_sampler_description(s), "RuleBased{rules:[],fallback:AlwaysOnSampler}");
    /* the action of a rule is owned by the rule sampler */
    assert_int_equal(stitch_sampler_rules_add(s, NULL, 0, stitch_sampler_new(&probe_ops, NULL)), 0);
    assert_int_equal(run(s, "x", SERVER, NULL, 0), STITCH_RECORD_ONLY);
    stitch_sampler_free(s);
    assert_int_equal(destroyed, 8);
}

/* ---- text ------------------------------------------------------------------ */

static stitch_sampler_t *parse_ok(const char *text)
{
    stitch_sampler_t *s = NULL;
    stitch_sampler_parse_error_t e;
    int rc = stitch_sampler_rules_parse(text, stitch_sampler_always_off(), &s, &e);
    if (rc != 0)
        fail_msg("parse of [%s] failed at %zu: %s", text, e.offset, e.msg);
    assert_non_null(s);
    return s;
}

static void test_sampler_rules_parse_recipe(void **state)
{
    (void)state;
    stitch_sampler_t *s = parse_ok("user.id==\"42\" -> always_on;\n"
                                   "  kind == server && name ~ \"GET /health*\" -> always_off ; # probes\n"
                                   "* -> traceidratio(0.01);");
    assert_string_equal(stitch_sampler_description(s),
                        "RuleBased{rules:[user.id == \"42\" -> AlwaysOnSampler; "
                        "kind == server && name ~ \"GET /health*\" -> AlwaysOffSampler; "
                        "* -> TraceIdRatioBased{0.010000}],fallback:AlwaysOffSampler}");
    stitch_attr_t vip[] = {stitch_attr_str("user.id", "42")};
    assert_int_equal(run(s, "GET /health", SERVER, vip, 1), ON); /* first rule wins */
    assert_int_equal(run(s, "GET /health", SERVER, NULL, 0), OFF);
    assert_int_equal(run(s, "GET /cart", SERVER, NULL, 0), OFF); /* 1%, randomness 0 */
    tid_drop_at_half[15] = 0xff;
    memset(tid_drop_at_half + 9, 0xff, 7);
    assert_int_equal(run(s, "GET /cart", SERVER, NULL, 0), ON);
    memset(tid_drop_at_half, 0, 16);
    stitch_sampler_free(s);
}

static void test_sampler_rules_parse_syntax(void **state)
{
    (void)state;
    /* quoted key = attribute, even when it is called name */
    stitch_sampler_t *s = parse_ok("\"name\" == \"x\" -> always_on");
    stitch_attr_t nm[] = {stitch_attr_str("name", "x")};
    assert_int_equal(run(s, "y", SERVER, nm, 1), ON);
    assert_int_equal(run(s, "x", SERVER, NULL, 0), OFF);
    assert_string_equal(stitch_sampler_description(s),
                        "RuleBased{rules:[\"name\" == \"x\" -> AlwaysOnSampler],fallback:AlwaysOffSampler}");
    stitch_sampler_free(s);

    /* separators, arrows and escapes inside quotes */
    s = parse_ok("msg == \"a \\\"b\\\"; c -> d && e\\\\\" -> always_on");
    stitch_attr_t m[] = {stitch_attr_str("msg", "a \"b\"; c -> d && e\\")};
    assert_int_equal(run(s, "y", SERVER, m, 1), ON);
    stitch_sampler_free(s);

    /* negation, !=, !~, exists, bare values, numbers, nested parentbased */
    s = parse_ok("!tenant exists -> always_off; http.status_code != 200 && name !~ \"GET*\" -> "
                 "parentbased_traceidratio(1); kind!=client->ratelimiting(2.5)");
    assert_string_equal(stitch_sampler_description(s),
                        "RuleBased{rules:[!tenant exists -> AlwaysOffSampler; "
                        "http.status_code != \"200\" && name !~ \"GET*\" -> ParentBased{root:"
                        "TraceIdRatioBased{1.000000},remoteParentSampled:AlwaysOnSampler,"
                        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
                        "localParentNotSampled:AlwaysOffSampler}; kind != client -> "
                        "RateLimitingSampler{2.50}],fallback:AlwaysOffSampler}");
    stitch_attr_t t500[] = {stitch_attr_str("tenant", "a"), stitch_attr_int("http.status_code", 500)};
    stitch_attr_t t200[] = {stitch_attr_str("tenant", "a"), stitch_attr_int("http.status_code", 200)};
    assert_int_equal(run(s, "x", CLIENT, NULL, 0), OFF);
    assert_int_equal(run(s, "POST /", CLIENT, t500, 2), ON);
    assert_int_equal(run(s, "GET /", CLIENT, t500, 2), OFF); /* fallback */
    assert_int_equal(run(s, "POST /", CLIENT, t200, 2), OFF);
    assert_int_equal(run(s, "POST /", SERVER, t200, 2), ON); /* rate limiter, burst 2 */
    stitch_sampler_free(s);

    /* a glob never matches a string longer than 1023 bytes, nor a non-string */
    s = parse_ok("body ~ \"*\" -> always_on");
    char *big = malloc(2000);
    memset(big, 'a', 1999);
    big[1999] = '\0';
    stitch_attr_t b[] = {stitch_attr_str("body", big)};
    assert_int_equal(run(s, "x", SERVER, b, 1), OFF);
    b[0] = stitch_attr_strn("body", big, 1023);
    assert_int_equal(run(s, "x", SERVER, b, 1), ON);
    b[0] = stitch_attr_int("body", 1);
    assert_int_equal(run(s, "x", SERVER, b, 1), OFF);
    free(big);
    stitch_sampler_free(s);

    /* NULL fallback means always_on */
    stitch_sampler_t *out = NULL;
    assert_int_equal(stitch_sampler_rules_parse("a exists -> always_off", NULL, &out, NULL), 0);
    assert_int_equal(run(out, "x", SERVER, NULL, 0), ON);
    stitch_sampler_free(out);
}

struct bad_case {
    const char *text;
    size_t offset;
    const char *msg_part;
};

static void test_sampler_rules_parse_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"", 0, "no rules"},
        {"   # only a comment\n", 20, "no rules"},
        {"user.id = \"42\" -> always_on", 8, "expected '=='"},
        {"user.id == \"42\" always_on", 16, "expected '&&' or '->'"},
        {"user.id == \"42 -> always_on", 11, "unterminated string"},
        {"a == \"x\\q\" -> always_on", 7, "unknown escape"},
        {"* -> traceidratio(1.5)", 18, "between 0 and 1"},
        {"* -> traceidratio(abc)", 18, "expected a number"},
        {"* -> traceidratio 0.5", 18, "expected '('"},
        {"* -> traceidratio(0.5", 21, "expected ')'"},
        {"* -> ratelimiting(-1)", 18, ">= 0"},
        {"* -> sometimes", 5, "expected a sampler"},
        {"* -> always_on junk", 15, "expected ';' between rules"},
        {"* always_on", 2, "expected '->' after '*'"},
        {"kind == serverr -> always_on", 8, "unknown span kind"},
        {"kind ~ server -> always_on", 5, "kind supports only == and !="},
        {"name exists -> always_on", 5, "attributes only"},
        {"a == 1 && -> always_on", 10, "expected a key"},
        {"a == -> always_on", 5, "expected a value"},
        {"a >= 1 -> always_on", 2, "expected an operator"},
        {"\"\" exists -> always_on", 0, "empty attribute key"},
        {"a exists -> always_on;; b exists -> always_on", 22, "expected a key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stitch_sampler_t *out = (stitch_sampler_t *)1;
        stitch_sampler_parse_error_t e;
        int rc = stitch_sampler_rules_parse(cases[i].text, NULL, &out, &e);
        if (rc != STITCH_EPARSE || e.offset != cases[i].offset || !e.msg ||
            !strstr(e.msg, cases[i].msg_part))
            fail_msg("[%s]: rc %d offset %zu msg \"%s\"; want offset %zu msg with \"%s\"",
                     cases[i].text, rc, e.offset, e.msg ? e.msg : "(null)", cases[i].offset,
                     cases[i].msg_part);
        assert_int_equal(e.code, STITCH_EPARSE);
        assert_null(out);
    }
    /* the fallback is taken over even on failure */
    destroyed = 0;
    stitch_sampler_t *out = NULL;
    assert_int_equal(stitch_sampler_rules_parse("oops", stitch_sampler_new(&probe_ops, NULL), &out, NULL),
                     STITCH_EPARSE);
    assert_int_equal(destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_rules_api_typed_equality),
        cmocka_unit_test(test_sampler_rules_api_name_kind_glob_exists),
        cmocka_unit_test(test_sampler_rules_first_match_wins),
        cmocka_unit_test(test_sampler_rules_api_errors_free_action),
        cmocka_unit_test(test_sampler_rules_parse_recipe),
        cmocka_unit_test(test_sampler_rules_parse_syntax),
        cmocka_unit_test(test_sampler_rules_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
