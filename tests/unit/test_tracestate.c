/* tests/unit/test_tracestate.c — the tracestate object: parse/normalize,
 * get, put (moves the key to the front), delete, limits, refcounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "propagation_carrier.h"

static const char *str(const stitch_tracestate_t *ts)
{
    return stitch_tracestate_str(ts, NULL);
}

static void test_tracestate_parse(void **state)
{
    (void)state;
    stitch_tracestate_t *ts;
    assert_int_equal(stitch_tracestate_parse(" a=1 ,, b@x=2 x ,\t", strlen(" a=1 ,, b@x=2 x ,\t"), &ts), 0);
    assert_string_equal(str(ts), "a=1,b@x=2 x");
    size_t len;
    assert_string_equal(str(ts), "a=1,b@x=2 x");
    assert_int_equal(stitch_tracestate_str(ts, &len)[len], '\0');
    assert_int_equal(len, 11);
    assert_int_equal(stitch_tracestate_count(ts), 2);
    const char *v = stitch_tracestate_get(ts, "b@x", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "2 x", 3);
    assert_null(stitch_tracestate_get(ts, "c", &len));
    assert_int_equal(len, 0);
    stitch_str_t k, val;
    assert_int_equal(stitch_tracestate_member(ts, 0, &k, &val), 0);
    assert_int_equal(k.len, 1);
    assert_memory_equal(k.ptr, "a", 1);
    assert_memory_equal(val.ptr, "1", 1);
    assert_int_equal(stitch_tracestate_member(ts, 2, &k, &val), STITCH_ENOTFOUND);
    stitch_tracestate_unref(ts);

    assert_int_equal(stitch_tracestate_parse(" , ,", 4, &ts), 0);
    assert_null(ts);
    assert_string_equal(str(NULL), "");
    assert_int_equal(stitch_tracestate_count(NULL), 0);
    assert_null(stitch_tracestate_ref(NULL));
    stitch_tracestate_unref(NULL);
}

static void test_tracestate_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "a", "=1", "a=", "a= ", "A=1", "a.b=1", "a=1,a=2", "a=x,y", "a=b=c", "a=\x7f", "a=\x01",
        "a=1\x80", "@a=1", "a@=1", "a@1b=1", "a@b@c=1", "-a=1", "a b=1",
        "a=1 2\t3" /* tab inside a value */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stitch_tracestate_t *ts = (stitch_tracestate_t *)1;
        assert_int_equal(stitch_tracestate_parse(bad[i], strlen(bad[i]), &ts), STITCH_EINVAL);
        assert_null(ts);
    }
    /* a digit first is accepted (spec prose, SPECS.md) */
    stitch_tracestate_t *ts;
    assert_int_equal(stitch_tracestate_parse("0a=1,9@b=2", 10, &ts), 0);
    assert_string_equal(str(ts), "0a=1,9@b=2");
    stitch_tracestate_unref(ts);
}

static void test_tracestate_value_length(void **state)
{
    (void)state;
    char buf[300];
    memcpy(buf, "k=", 2);
    memset(buf + 2, 'v', 256);
    stitch_tracestate_t *ts;
    assert_int_equal(stitch_tracestate_parse(buf, 258, &ts), 0);
    stitch_tracestate_unref(ts);
    buf[258] = 'v';
    assert_int_equal(stitch_tracestate_parse(buf, 259, &ts), STITCH_EINVAL);
}

static void test_tracestate_put_moves_to_front(void **state)
{
    (void)state;
    stitch_tracestate_t *a, *b, *c, *d;
    assert_int_equal(stitch_tracestate_parse("rojo=1,congo=2,x=3", 18, &a), 0);
    assert_int_equal(stitch_tracestate_put(a, "congo", "new", &b), 0);
    assert_string_equal(str(b), "congo=new,rojo=1,x=3");
    assert_string_equal(str(a), "rojo=1,congo=2,x=3"); /* immutable */
    assert_int_equal(stitch_tracestate_put(b, "fresh", "v", &c), 0);
    assert_string_equal(str(c), "fresh=v,congo=new,rojo=1,x=3");
    assert_int_equal(stitch_tracestate_put(c, "Bad", "v", &d), STITCH_EINVAL);
    assert_null(d);
    assert_int_equal(stitch_tracestate_put(c, "k", "a,b", &d), STITCH_EINVAL);
    assert_int_equal(stitch_tracestate_put(c, "k", "trailing ", &d), STITCH_EINVAL);
    assert_int_equal(stitch_tracestate_put(NULL, "k", "v", &d), 0);
    assert_string_equal(str(d), "k=v");
    stitch_tracestate_unref(d);

    assert_int_equal(stitch_tracestate_delete(c, "rojo", &d), 0);
    assert_string_equal(str(d), "fresh=v,congo=new,x=3");
    stitch_tracestate_unref(d);
    assert_int_equal(stitch_tracestate_delete(c, "absent", &d), 0);
    assert_ptr_equal(d, c);
    stitch_tracestate_unref(d);
    stitch_tracestate_t *one;
    assert_int_equal(stitch_tracestate_parse("a=1", 3, &one), 0);
    assert_int_equal(stitch_tracestate_delete(one, "a", &d), 0);
    assert_null(d);
    stitch_tracestate_unref(one);
    stitch_tracestate_unref(a);
    stitch_tracestate_unref(b);
    stitch_tracestate_unref(c);
}

static void test_tracestate_put_drops_rightmost_at_32(void **state)
{
    (void)state;
    char buf[512];
    size_t n = 0;
    for (int i = 1; i <= 32; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sk%02d=%d", i > 1 ? "," : "", i, i);
    stitch_tracestate_t *a, *b, *c;
    assert_int_equal(stitch_tracestate_parse(buf, n, &a), 0);
    assert_int_equal(stitch_tracestate_count(a), 32);
    assert_int_equal(stitch_tracestate_put(a, "new", "v", &b), 0);
    assert_int_equal(stitch_tracestate_count(b), 32);
    assert_memory_equal(str(b), "new=v,k01=1,", 12);
    size_t len;
    assert_null(stitch_tracestate_get(b, "k32", &len));
    /* updating an existing key at 32 keeps everyone */
    assert_int_equal(stitch_tracestate_put(a, "k32", "x", &c), 0);
    assert_memory_equal(str(c), "k32=x,k01=1,", 12);
    assert_int_equal(stitch_tracestate_count(c), 32);
    stitch_tracestate_unref(a);
    stitch_tracestate_unref(b);
    stitch_tracestate_unref(c);
}

static void test_tracestate_refcount(void **state)
{
    (void)state;
    stitch_tracestate_t *a;
    assert_int_equal(stitch_tracestate_parse("a=1", 3, &a), 0);
    stitch_tracestate_t *b = stitch_tracestate_ref(a);
    assert_ptr_equal(a, b);
    stitch_tracestate_unref(a);
    assert_string_equal(str(b), "a=1"); /* still alive (ASan checks this) */
    stitch_tracestate_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracestate_parse),
        cmocka_unit_test(test_tracestate_invalid),
        cmocka_unit_test(test_tracestate_value_length),
        cmocka_unit_test(test_tracestate_put_moves_to_front),
        cmocka_unit_test(test_tracestate_put_drops_rightmost_at_32),
        cmocka_unit_test(test_tracestate_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
