/* Trace and span ids: never zero, no repeats, hex round trips and
 * rejections, and fork safety (a child never repeats its parent's ids, and
 * its SDK still works). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdk/internal.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_ids_never_zero(void **state)
{
    (void)state;
    static const uint8_t zero[16];
    for (int i = 0; i < 200000; i++) {
        uint8_t t[16], s[8];
        stitch__new_trace_id(t);
        stitch__new_span_id(s);
        assert_memory_not_equal(t, zero, 16);
        assert_memory_not_equal(s, zero, 8);
    }
}

static void test_ids_no_duplicate_span_ids(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++) {
        uint8_t s[8];
        stitch__new_span_id(s);
        memcpy(&v[i], s, 8);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    size_t dups = 0;
    for (size_t i = 1; i < N; i++)
        dups += v[i] == v[i - 1];
    free(v);
    assert_int_equal(dups, 0);
}

static void test_ids_trace_ids_distinct_halves(void **state)
{
    (void)state;
    /* both halves of a trace id are random: the low 56 bits drive sampling */
    uint8_t a[16], b[16];
    stitch__new_trace_id(a);
    stitch__new_trace_id(b);
    assert_memory_not_equal(a, b, 16);
    assert_memory_not_equal(a, b, 8);
    assert_memory_not_equal(a + 8, b + 8, 8);
}

static void test_ids_hex_round_trip(void **state)
{
    (void)state;
    uint8_t t[16], t2[16], s[8], s2[8];
    char th[33], sh[17];
    for (int i = 0; i < 1000; i++) {
        stitch__new_trace_id(t);
        stitch__new_span_id(s);
        memset(th, 'Z', sizeof th);
        memset(sh, 'Z', sizeof sh);
        stitch_trace_id_hex(t, th);
        stitch_span_id_hex(s, sh);
        assert_int_equal(strlen(th), 32);
        assert_int_equal(strlen(sh), 16);
        for (int k = 0; k < 32; k++)
            assert_non_null(strchr("0123456789abcdef", th[k]));
        assert_int_equal(stitch_trace_id_parse(th, 32, t2), STITCH_OK);
        assert_int_equal(stitch_span_id_parse(sh, 16, s2), STITCH_OK);
        assert_memory_equal(t, t2, 16);
        assert_memory_equal(s, s2, 8);
    }
    static const uint8_t known[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    stitch_trace_id_hex(known, th);
    assert_string_equal(th, "4bf92f3577b34da6a3ce929d0e0e4736");
    static const uint8_t ks[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    stitch_span_id_hex(ks, sh);
    assert_string_equal(sh, "00f067aa0ba902b7");
}

static void test_ids_parse_cases(void **state)
{
    (void)state;
    uint8_t t[16], s[8];
    static const uint8_t want[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    assert_int_equal(stitch_trace_id_parse("4BF92F3577B34DA6A3CE929D0E0E4736", 32, t), STITCH_OK);
    assert_memory_equal(t, want, 16);
    assert_int_equal(stitch_trace_id_parse("4bF92f3577B34da6a3Ce929d0e0E4736", 32, t), STITCH_OK);
    assert_memory_equal(t, want, 16);
    assert_int_equal(stitch_span_id_parse("00F067AA0BA902B7", 16, s), STITCH_OK);
    static const uint8_t ws[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    assert_memory_equal(s, ws, 8);
    /* all zeros parse but are not valid ids */
    assert_int_equal(stitch_trace_id_parse("00000000000000000000000000000000", 32, t), STITCH_OK);
    assert_true(stitch__all_zero(t, 16));

    /* wrong lengths */
    assert_int_equal(stitch_trace_id_parse("4bf92f3577b34da6a3ce929d0e0e473", 31, t), STITCH_EINVAL);
    assert_int_equal(stitch_trace_id_parse("4bf92f3577b34da6a3ce929d0e0e47366", 33, t), STITCH_EINVAL);
    assert_int_equal(stitch_trace_id_parse("", 0, t), STITCH_EINVAL);
    assert_int_equal(stitch_trace_id_parse(NULL, 32, t), STITCH_EINVAL);
    assert_int_equal(stitch_span_id_parse("00f067aa0ba902b", 15, s), STITCH_EINVAL);
    assert_int_equal(stitch_span_id_parse("00f067aa0ba902b77", 17, s), STITCH_EINVAL);
    assert_int_equal(stitch_span_id_parse(NULL, 16, s), STITCH_EINVAL);
    /* bad characters, in every position class */
    const char *bad_trace[] = {
        "4bf92f3577b34da6a3ce929d0e0e473g", "gbf92f3577b34da6a3ce929d0e0e4736",
        "4bf92f3577b34da6-3ce929d0e0e4736", "4bf92f3577b34da6 3ce929d0e0e4736",
        "4bf92f3577b34da6a3ce929d0e0e473G", "0x4bf92f3577b34da6a3ce929d0e0e47",
        "4bf92f3577b34da6a3ce929d0e0e47:6", "4bf92f3577b34da6a3ce929d0e0e47/6",
        "4bf92f3577b34da6a3ce929d0e0e47@6", "4bf92f3577b34da6a3ce929d0e0e47`6",
    };
    for (size_t i = 0; i < sizeof bad_trace / sizeof *bad_trace; i++)
        assert_int_equal(stitch_trace_id_parse(bad_trace[i], 32, t), STITCH_EINVAL);
    char with_nul[33] = "4bf92f3577b34da6a3ce929d0e0e4736";
    with_nul[10] = '\0';
    assert_int_equal(stitch_trace_id_parse(with_nul, 32, t), STITCH_EINVAL);
    char high[17] = "00f067aa0ba902b7";
    high[3] = (char)0xC3;
    assert_int_equal(stitch_span_id_parse(high, 16, s), STITCH_EINVAL);
    assert_int_equal(stitch_span_id_parse("00f067aa0ba902bz", 16, s), STITCH_EINVAL);

    /* the internal lower-case-only mode (used by traceparent) */
    uint8_t o[2];
    assert_int_equal(stitch__unhex("abcd", 2, o, true), STITCH_OK);
    assert_int_equal(o[0], 0xab);
    assert_int_equal(o[1], 0xcd);
    assert_int_equal(stitch__unhex("aBcd", 2, o, true), STITCH_EINVAL);
    assert_int_equal(stitch__unhex("aBcd", 2, o, false), STITCH_OK);
    assert_int_equal(o[0], 0xab);
}

/* ---- fork ---- */

enum { FORK_N = 64 };

static void draw(uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t s[8];
        stitch__new_span_id(s);
        memcpy(&v[i], s, 8);
    }
}

static void test_ids_fork_child_differs(void **state)
{
    (void)state;
    uint64_t warm[4];
    draw(warm, 4); /* the parent's generator is seeded before the fork */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t v[FORK_N];
        close(fd[0]);
        draw(v, FORK_N);
        ssize_t w = write(fd[1], v, sizeof v);
        _exit(w == (ssize_t)sizeof v ? 0 : 1);
    }
    close(fd[1]);
    uint64_t mine[FORK_N], theirs[FORK_N];
    draw(mine, FORK_N);
    size_t got = 0;
    while (got < sizeof theirs) {
        ssize_t r = read(fd[0], (char *)theirs + got, sizeof theirs - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (size_t i = 0; i < FORK_N; i++)
        for (size_t j = 0; j < FORK_N; j++)
            assert_true(mine[i] != theirs[j]);
}

/* Exit codes of the child below: 0 = ok, others say which check failed. */
static int child_uses_sdk(void)
{
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true};
    if (stitch_provider_new(&p, &o))
        return 2;
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    if (stitch_provider_add_processor(p, mem))
        return 3;
    stitch_tracer_t *t = stitch_tracer(p, "child", NULL);
    for (int i = 0; i < 100; i++) {
        stitch_span_t *s = stitch_span_start(t, "in-child", NULL);
        if (!stitch_span_is_recording(s))
            return 4;
        stitch_scope_t tok = stitch_scope_push(s);
        stitch_span_t *c = stitch_span_start(t, "grandchild", NULL);
        if (stitch_span_set_int(c, "i", i))
            return 5;
        stitch_span_end(c);
        stitch_scope_pop(tok);
        stitch_span_end(s);
    }
    if (stitch_memory_processor_count(mem) != 200)
        return 6;
    const stitch_span_data_t *g = stitch_memory_processor_get(mem, 198);
    const stitch_span_data_t *r = stitch_memory_processor_get(mem, 199);
    if (strcmp(g->name, "grandchild") || strcmp(r->name, "in-child") ||
        memcmp(g->parent_span_id, r->ctx.span_id, 8) || !stitch_span_ctx_valid(&r->ctx) ||
        r->end_ns < r->start_ns)
        return 7;
    stitch_provider_free(p);
    return 0;
}

static void test_ids_fork_child_sdk_works(void **state)
{
    (void)state;
    /* the parent has pools, scopes and held spans at fork time */
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &o), STITCH_OK);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);
    stitch_span_t *open = stitch_span_start(t, "open-across-fork", NULL);
    stitch_scope_t tok = stitch_scope_push(open);
    for (int i = 0; i < 10; i++)
        stitch_span_end(stitch_span_start(t, "held", NULL));

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stitch_scope_pop(tok);
        _exit(child_uses_sdk());
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    /* the parent is unaffected */
    stitch_scope_pop(tok);
    stitch_span_end(open);
    assert_int_equal(stitch_memory_processor_count(mem), 11);
    stitch_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_never_zero),
        cmocka_unit_test(test_ids_no_duplicate_span_ids),
        cmocka_unit_test(test_ids_trace_ids_distinct_halves),
        cmocka_unit_test(test_ids_hex_round_trip),
        cmocka_unit_test(test_ids_parse_cases),
        cmocka_unit_test(test_ids_fork_child_differs),
        cmocka_unit_test(test_ids_fork_child_sdk_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
