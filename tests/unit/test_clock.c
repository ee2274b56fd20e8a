/* The SDK clock: close to CLOCK_REALTIME before and after the TSC
 * calibration, never going backwards in one thread, span durations that
 * match the monotonic clock, and the STITCH_CLOCK=gettime fallback (checked
 * in a fresh process: the variable is read once, at the first reading).
 *
 * The test order matters: test_clock_first_50ms must be the first to read
 * the clock in this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdk/clock.h"
#include "sdk/internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define MS 1000000ull
#define TOLERANCE (3 * MS)

static uint64_t gettime(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static bool cpu_has_invariant_tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return false;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1;
#else
    return false;
#endif
}

/* stitch_now_ns lies between two CLOCK_REALTIME readings, give or take. */
static void check_against_realtime(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        uint64_t a = gettime(CLOCK_REALTIME);
        uint64_t s = stitch_now_ns();
        uint64_t b = gettime(CLOCK_REALTIME);
        if (s + TOLERANCE < a || s > b + TOLERANCE)
            fail_msg("stitch_now_ns %llu outside [%llu, %llu] +- %llu", (unsigned long long)s,
                     (unsigned long long)a, (unsigned long long)b,
                     (unsigned long long)TOLERANCE);
    }
}

static void test_clock_first_50ms(void **state)
{
    (void)state;
    uint64_t t0 = gettime(CLOCK_MONOTONIC);
    int n = 0;
    while (gettime(CLOCK_MONOTONIC) - t0 < 40 * MS) {
        check_against_realtime(100);
        n++;
    }
    assert_true(n > 0);
}

static void test_clock_after_calibration(void **state)
{
    (void)state;
    sleep_ms(120);
    check_against_realtime(100000);
    stitch_clock_t c;
    stitch__clock_now(&c);
    if (cpu_has_invariant_tsc() && !getenv("STITCH_CLOCK"))
        assert_true(c.tsc != 0); /* the fast path is in use */
    /* and across a re-anchoring (every second) */
    sleep_ms(1100);
    check_against_realtime(100000);
}

static void test_clock_monotonic_one_thread(void **state)
{
    (void)state;
    uint64_t prev = stitch_now_ns();
    uint64_t backwards = 0, worst = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t now = stitch_now_ns();
        if (now < prev) {
            backwards++;
            if (prev - now > worst)
                worst = prev - now;
        }
        prev = now;
    }
    if (backwards)
        fail_msg("stitch_now_ns went backwards %llu times, by up to %llu ns",
                 (unsigned long long)backwards, (unsigned long long)worst);
}

static void test_clock_since_never_before_start(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        stitch_clock_t c;
        uint64_t start = stitch__clock_now(&c);
        uint64_t end = stitch__clock_since(&c);
        assert_true(end >= start);
        assert_true(end - start < 50 * MS);
    }
    /* a reading without a TSC value (explicit start time) */
    stitch_clock_t c = {.ns = gettime(CLOCK_REALTIME) - 10 * MS, .tsc = 0};
    uint64_t now = stitch__clock_since(&c);
    assert_true(now >= c.ns + 10 * MS - TOLERANCE);
    assert_true(now <= gettime(CLOCK_REALTIME) + TOLERANCE);
    c.ns = gettime(CLOCK_REALTIME) + 1000 * MS; /* in the future: clamped */
    assert_int_equal(stitch__clock_since(&c), c.ns);
}

static void test_clock_span_duration(void **state)
{
    (void)state;
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &o), STITCH_OK);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        uint64_t m0 = gettime(CLOCK_MONOTONIC);
        stitch_span_t *s = stitch_span_start(t, "sleep", NULL);
        uint64_t m1 = gettime(CLOCK_MONOTONIC);
        sleep_ms(20);
        uint64_t m2 = gettime(CLOCK_MONOTONIC);
        stitch_span_end(s);
        uint64_t m3 = gettime(CLOCK_MONOTONIC);
        const stitch_span_data_t *d = stitch_memory_processor_get(mem, (size_t)i);
        uint64_t dur = d->end_ns - d->start_ns;
        assert_true(d->end_ns >= d->start_ns);
        assert_true(dur >= 20 * MS - MS / 2); /* the sleep itself, within calibration error */
        /* between the inner and the outer monotonic brackets, ± 0.5 ms */
        if (dur + MS / 2 < m2 - m1 || dur > m3 - m0 + MS / 2)
            fail_msg("span of a 20 ms sleep took %llu ns; monotonic says [%llu, %llu]",
                     (unsigned long long)dur, (unsigned long long)(m2 - m1),
                     (unsigned long long)(m3 - m0));
    }
    stitch_provider_free(p);
}

/* ---- STITCH_CLOCK=gettime, in a fresh process ---- */

static int child_gettime(void)
{
    sleep_ms(80); /* past the first calibration interval */
    stitch_clock_t c;
    for (int i = 0; i < 1000; i++) {
        uint64_t a = gettime(CLOCK_REALTIME);
        uint64_t s = stitch__clock_now(&c);
        uint64_t b = gettime(CLOCK_REALTIME);
        if (c.tsc != 0)
            return 2; /* the TSC path was used */
        if (s < a || s > b)
            return 3; /* not clock_gettime(CLOCK_REALTIME) */
    }
    return 0;
}

static void test_clock_forced_gettime(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("STITCH_CLOCK", "gettime", 1);
        char *argv[] = {(char *)"test_clock", (char *)"--child-gettime", NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child-gettime") == 0)
        return child_gettime();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_first_50ms),
        cmocka_unit_test(test_clock_after_calibration),
        cmocka_unit_test(test_clock_monotonic_one_thread),
        cmocka_unit_test(test_clock_since_never_before_start),
        cmocka_unit_test(test_clock_span_duration),
        cmocka_unit_test(test_clock_forced_gettime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
