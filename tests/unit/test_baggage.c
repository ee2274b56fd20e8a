/* tests/unit/test_baggage.c — W3C baggage: header parsing (OWS,
 * percent-decoding, properties, per-member dropping, limits), building
 * copy-on-write, encoding on inject, several headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "propagation_carrier.h"

static const stitch_propagator_t *bp(void)
{
    return stitch_propagator_get(STITCH_PROP_BAGGAGE);
}

static void test_baggage_parse(void **state)
{
    (void)state;
    const char *h = " userId = alice%20smith%2C ; ttl=60;secret , serverNode=DF%3A28,isProduction=false,empty=";
    stitch_baggage_t *bg;
    size_t dropped = 99;
    assert_int_equal(stitch_baggage_parse(h, strlen(h), &bg, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(stitch_baggage_count(bg), 4);
    stitch_baggage_entry_t e;
    assert_int_equal(stitch_baggage_at(bg, 0, &e), 0);
    assert_string_equal(e.key, "userId");
    assert_string_equal(e.value, "alice smith,");
    assert_string_equal(e.metadata, "ttl=60;secret");
    assert_string_equal(stitch_baggage_get(bg, "serverNode"), "DF:28");
    assert_string_equal(stitch_baggage_get(bg, "empty"), "");
    assert_null(stitch_baggage_get(bg, "userid")); /* keys are case-sensitive */
    assert_int_equal(stitch_baggage_at(bg, 4, &e), STITCH_ENOTFOUND);

    char out[256];
    size_t n = stitch_baggage_format(bg, out, sizeof out);
    assert_string_equal(out, "userId=alice%20smith%2C;ttl=60;secret,serverNode=DF:28,isProduction=false,empty=");
    assert_int_equal(n, strlen(out));
    /* too small: length reported, no partial list */
    assert_int_equal(stitch_baggage_format(bg, out, 10), n);
    assert_string_equal(out, "");
    stitch_baggage_unref(bg);
}

static void test_baggage_drops_bad_members(void **state)
{
    (void)state;
    const char *h = "good=1,=novalue,bad key=2,nokey,k=%zz,k2=a b,k3=\"q\",ok=2,k4=%4";
    stitch_baggage_t *bg;
    size_t dropped = 0;
    assert_int_equal(stitch_baggage_parse(h, strlen(h), &bg, &dropped), 0);
    assert_int_equal(dropped, 7);
    assert_int_equal(stitch_baggage_count(bg), 2);
    assert_string_equal(stitch_baggage_get(bg, "good"), "1");
    assert_string_equal(stitch_baggage_get(bg, "ok"), "2");
    stitch_baggage_unref(bg);
    assert_int_equal(stitch_baggage_parse(",, ,", 4, &bg, &dropped), 0);
    assert_null(bg);
    assert_int_equal(dropped, 0);
}

static void test_baggage_limits(void **state)
{
    (void)state;
    static char h[20000];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(h + n, sizeof h - n, "%sk%d=%d", i ? "," : "", i, i);
    stitch_baggage_t *bg;
    size_t dropped;
    assert_int_equal(stitch_baggage_parse(h, n, &bg, &dropped), 0);
    assert_int_equal(stitch_baggage_count(bg), 180);
    assert_int_equal(dropped, 20);
    assert_string_equal(stitch_baggage_get(bg, "k179"), "179");
    assert_null(stitch_baggage_get(bg, "k180"));
    stitch_baggage_t *b2;
    assert_int_equal(stitch_baggage_set(bg, "one_more", "x", NULL, &b2), STITCH_ELIMIT);
    assert_null(b2);
    assert_int_equal(stitch_baggage_set(bg, "k0", "replaced", NULL, &b2), 0); /* replace is fine */
    assert_string_equal(stitch_baggage_get(b2, "k0"), "replaced");
    stitch_baggage_unref(b2);
    stitch_baggage_unref(bg);

    /* bytes: two 5000-byte members; the second does not fit in 8192 */
    memset(h, 0, sizeof h);
    memcpy(h, "a=", 2);
    memset(h + 2, 'x', 5000);
    memcpy(h + 5002, ",b=", 3);
    memset(h + 5005, 'y', 5000);
    memcpy(h + 10005, ",c=1", 4);
    assert_int_equal(stitch_baggage_parse(h, strlen(h), &bg, &dropped), 0);
    assert_int_equal(stitch_baggage_count(bg), 2);
    assert_non_null(stitch_baggage_get(bg, "a"));
    assert_null(stitch_baggage_get(bg, "b"));
    assert_string_equal(stitch_baggage_get(bg, "c"), "1");
    assert_int_equal(dropped, 1);
    stitch_baggage_unref(bg);
}

static void test_baggage_build(void **state)
{
    (void)state;
    stitch_baggage_t *a, *b, *c, *d;
    assert_int_equal(stitch_baggage_set(NULL, "user", "a b=c", NULL, &a), 0);
    assert_int_equal(stitch_baggage_set(a, "tenant", "42", "prop1;p2=v", &b), 0);
    assert_int_equal(stitch_baggage_set(b, "user", "bob", NULL, &c), 0);
    assert_int_equal(stitch_baggage_count(a), 1);
    assert_string_equal(stitch_baggage_get(a, "user"), "a b=c");
    assert_int_equal(stitch_baggage_count(c), 2);
    stitch_baggage_entry_t e;
    assert_int_equal(stitch_baggage_at(c, 0, &e), 0);
    assert_string_equal(e.key, "user"); /* kept its place */
    assert_string_equal(e.value, "bob");
    char out[128];
    stitch_baggage_format(b, out, sizeof out);
    assert_string_equal(out, "user=a%20b=c,tenant=42;prop1;p2=v");
    assert_int_equal(stitch_baggage_set(c, "bad key", "v", NULL, &d), STITCH_EINVAL);
    assert_int_equal(stitch_baggage_set(c, "k", "v", "a,b", &d), STITCH_EINVAL);
    assert_int_equal(stitch_baggage_remove(c, "user", &d), 0);
    assert_int_equal(stitch_baggage_count(d), 1);
    assert_null(stitch_baggage_get(d, "user"));
    stitch_baggage_t *e2;
    assert_int_equal(stitch_baggage_remove(d, "tenant", &e2), 0);
    assert_null(e2);
    assert_int_equal(stitch_baggage_remove(NULL, "x", &e2), 0);
    assert_null(e2);
    stitch_baggage_unref(a);
    stitch_baggage_unref(b);
    stitch_baggage_unref(c);
    stitch_baggage_unref(d);
}

static void test_baggage_roundtrip_bytes(void **state)
{
    (void)state;
    stitch_baggage_t *a, *b;
    const char val[] = "%;,= \"\\\t\xc3\xa9";
    assert_int_equal(stitch_baggage_set(NULL, "k", val, NULL, &a), 0);
    char out[128];
    stitch_baggage_format(a, out, sizeof out);
    assert_string_equal(out, "k=%25%3B%2C=%20%22%5C%09%C3%A9");
    assert_int_equal(stitch_baggage_parse(out, strlen(out), &b, NULL), 0);
    assert_string_equal(stitch_baggage_get(b, "k"), val);
    stitch_baggage_unref(a);
    stitch_baggage_unref(b);
}

static void test_baggage_propagator(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "Baggage", "a=1,b=2");
    tc_add(t, "baggage", "b=3, c=4");
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    /* no span context in baggage alone */
    assert_int_equal(stitch_extract(bp(), &t->c, &ctx), STITCH_ENOTFOUND);
    assert_int_equal(stitch_baggage_count(ctx.baggage), 3);
    assert_string_equal(stitch_baggage_get(ctx.baggage, "b"), "3");
    tcarrier_t *o = tc_new();
    assert_int_equal(stitch_inject(bp(), &ctx, &o->c), 0);
    assert_string_equal(tc_find(o, "baggage"), "a=1,b=3,c=4");
    stitch_baggage_unref(ctx.baggage);

    /* empty baggage: nothing injected */
    stitch_ctx_t empty = STITCH_CTX_INIT;
    o = tc_new();
    assert_int_equal(stitch_inject(bp(), &empty, &o->c), 0);
    assert_int_equal(o->n, 0);

    /* a long baggage goes through the heap path */
    stitch_baggage_t *bg = NULL, *nb;
    char key[16], val[100];
    memset(val, 'v', 99);
    val[99] = '\0';
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "key%d", i);
        assert_int_equal(stitch_baggage_set(bg, key, val, NULL, &nb), 0);
        stitch_baggage_unref(bg);
        bg = nb;
    }
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    ctx.baggage = bg;
    o = tc_new();
    assert_int_equal(stitch_inject(bp(), &ctx, &o->c), 0);
    assert_int_equal(strlen(tc_find(o, "baggage")), stitch_baggage_format(bg, NULL, 0));
    assert_int_equal(strlen(tc_find(o, "baggage")), 40 * 105 - 1 + 30);
    stitch_baggage_unref(bg);

    /* decode reports dropped members */
    t = tc_new();
    tc_add(t, "baggage", "a=1,bad");
    stitch_decoded_t d;
    assert_int_equal(stitch_decode(STITCH_FORMAT_BAGGAGE, &t->c, &d), STITCH_EINVAL);
    assert_false(d.valid);
    assert_int_equal(d.dropped, 1);
    assert_string_equal(stitch_baggage_get(d.baggage, "a"), "1");
    stitch_decoded_release(&d);
    t = tc_new();
    assert_int_equal(stitch_decode(STITCH_FORMAT_BAGGAGE, &t->c, &d), STITCH_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baggage_parse),
        cmocka_unit_test(test_baggage_drops_bad_members),
        cmocka_unit_test(test_baggage_limits),
        cmocka_unit_test(test_baggage_build),
        cmocka_unit_test(test_baggage_roundtrip_bytes),
        cmocka_unit_test(test_baggage_propagator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
