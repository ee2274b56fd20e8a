/* stitch_sampler_from_env: every OTEL_TRACES_SAMPLER value, the argument
 * and its defaults, STITCH_TRACES_SAMPLER_RULES, and the warnings (naming
 * the variable and the bad value) that come with the fallbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stitch/sampler.h"
#include "stitch/trace.h"

#define PB(root)                                                                              \
    "ParentBased{root:" root ",remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:" \
    "AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"

static char last_log[1024];
static int nlogs;

static void capture(void *arg, stitch_log_level_t level, const char *msg)
{
    (void)arg;
    if (level <= STITCH_LOG_WARN) {
        snprintf(last_log, sizeof last_log, "%s", msg);
        nlogs++;
    }
}

static int setup(void **state)
{
    (void)state;
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    unsetenv("STITCH_TRACES_SAMPLER_RULES");
    last_log[0] = '\0';
    nlogs = 0;
    stitch_set_logger(capture, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stitch_set_logger(NULL, NULL);
    return 0;
}

/* Set the variables (NULL = unset), build, and compare the description. */
static void expect(const char *sampler, const char *arg, const char *rules, const char *desc,
                   int warnings)
{
    setup(NULL);
    if (sampler)
        setenv("OTEL_TRACES_SAMPLER", sampler, 1);
    if (arg)
        setenv("OTEL_TRACES_SAMPLER_ARG", arg, 1);
    if (rules)
        setenv("STITCH_TRACES_SAMPLER_RULES", rules, 1);
    stitch_sampler_t *s = stitch_sampler_from_env();
    assert_non_null(s);
    if (strcmp(stitch_sampler_description(s), desc) != 0)
        fail_msg("OTEL_TRACES_SAMPLER=%s ARG=%s: got %s want %s", sampler ? sampler : "(unset)",
                 arg ? arg : "(unset)", stitch_sampler_description(s), desc);
    if (nlogs != warnings)
        fail_msg("OTEL_TRACES_SAMPLER=%s: %d warnings (last: %s), want %d", sampler ? sampler : "",
                 nlogs, last_log, warnings);
    stitch_sampler_free(s);
}

static void test_sampler_env_values(void **state)
{
    (void)state;
    expect(NULL, NULL, NULL, PB("AlwaysOnSampler"), 0);
    expect("", "0.5", NULL, PB("AlwaysOnSampler"), 0); /* empty = unset */
    expect("always_on", NULL, NULL, "AlwaysOnSampler", 0);
    expect("always_off", NULL, NULL, "AlwaysOffSampler", 0);
    expect("ALWAYS_OFF", NULL, NULL, "AlwaysOffSampler", 0); /* case-insensitive */
    expect(" always_off ", NULL, NULL, "AlwaysOffSampler", 0);
    expect("traceidratio", "0.25", NULL, "TraceIdRatioBased{0.250000}", 0);
    expect("traceidratio", NULL, NULL, "TraceIdRatioBased{1.000000}", 0);
    expect("parentbased_always_on", "0.1", NULL, PB("AlwaysOnSampler"), 0); /* arg ignored */
    expect("parentbased_always_off", NULL, NULL, PB("AlwaysOffSampler"), 0);
    expect("parentbased_traceidratio", "0.01", NULL, PB("TraceIdRatioBased{0.010000}"), 0);
    expect("parentbased_traceidratio", "1e-3", NULL, PB("TraceIdRatioBased{0.001000}"), 0);
    expect("ratelimiting", "10", NULL, "RateLimitingSampler{10.00}", 0);
    expect("ratelimiting", NULL, NULL, "RateLimitingSampler{1.00}", 0);
    expect("parentbased_ratelimiting", "0.5", NULL, PB("RateLimitingSampler{0.50}"), 0);
    expect("rules", NULL, "user.id == \"42\" -> always_on; * -> traceidratio(0.01)",
           "RuleBased{rules:[user.id == \"42\" -> AlwaysOnSampler; * -> "
           "TraceIdRatioBased{0.010000}],fallback:AlwaysOnSampler}",
           0);
    expect("parentbased_rules", NULL, "* -> always_off",
           PB("RuleBased{rules:[* -> AlwaysOffSampler],fallback:AlwaysOnSampler}"), 0);
}

static void test_sampler_env_bad_sampler(void **state)
{
    (void)state;
    expect("sometimes", NULL, NULL, PB("AlwaysOnSampler"), 1);
    assert_non_null(strstr(last_log, "OTEL_TRACES_SAMPLER=\"sometimes\""));
    assert_non_null(strstr(last_log, "parentbased_always_on"));
    expect("jaeger_remote", NULL, NULL, PB("AlwaysOnSampler"), 1);
    assert_non_null(strstr(last_log, "not supported"));
}

static void test_sampler_env_bad_arg(void **state)
{
    (void)state;
    expect("traceidratio", "abc", NULL, "TraceIdRatioBased{1.000000}", 1);
    assert_non_null(strstr(last_log, "OTEL_TRACES_SAMPLER_ARG=\"abc\""));
    expect("parentbased_traceidratio", "1.5", NULL, PB("TraceIdRatioBased{1.000000}"), 1);
    assert_non_null(strstr(last_log, "OTEL_TRACES_SAMPLER_ARG=\"1.5\""));
    expect("traceidratio", "-0.1", NULL, "TraceIdRatioBased{1.000000}", 1);
    expect("traceidratio", "nan", NULL, "TraceIdRatioBased{1.000000}", 1);
    expect("traceidratio", "0.5x", NULL, "TraceIdRatioBased{1.000000}", 1);
    expect("ratelimiting", "-5", NULL, "RateLimitingSampler{1.00}", 1);
    assert_non_null(strstr(last_log, "OTEL_TRACES_SAMPLER_ARG=\"-5\""));
}

static void test_sampler_env_bad_rules(void **state)
{
    (void)state;
    expect("rules", NULL, NULL, PB("AlwaysOnSampler"), 1);
    assert_non_null(strstr(last_log, "STITCH_TRACES_SAMPLER_RULES"));
    assert_non_null(strstr(last_log, "not set"));
    expect("parentbased_rules", NULL, "user.id = 42 -> always_on", PB("AlwaysOnSampler"), 1);
    assert_non_null(strstr(last_log, "STITCH_TRACES_SAMPLER_RULES=\"user.id = 42 -> always_on\""));
    assert_non_null(strstr(last_log, "at byte 8"));
    assert_non_null(strstr(last_log, "expected '=='"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sampler_env_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_env_bad_sampler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_env_bad_arg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_env_bad_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
