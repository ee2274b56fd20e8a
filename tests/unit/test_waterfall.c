/* tests/unit/test_waterfall.c — the terminal waterfall of `stitch trace`
 * (cli/waterfall.c) drawn from Jaeger JSON: tree order and indentation,
 * bar placement on the time axis, durations, error marks, hostile names
 * neutralised, out-of-order and orphan spans, and the exact seed trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/waterfall.h"

/* The seed's Add-to-Cart trace, spans deliberately out of order. */
static const char *seed_json =
    "{\"traceID\":\"a1b2c3d4e5f60718293a4b5c6d7e8f90\","
    "\"processes\":{\"p1\":{\"serviceName\":\"frontend\"},\"p2\":{\"serviceName\":\"api-gateway\"},"
    "\"p3\":{\"serviceName\":\"cart-service\"},\"p4\":{\"serviceName\":\"product-service\"},"
    "\"p5\":{\"serviceName\":\"product-db\"}},"
    "\"spans\":["
    "{\"spanID\":\"0000000000000004\",\"operationName\":\"getProduct\",\"startTime\":1000020000,\"duration\":15000,"
    " \"processID\":\"p4\",\"references\":[{\"refType\":\"CHILD_OF\",\"spanID\":\"0000000000000003\"}],\"tags\":[]},"
    "{\"spanID\":\"0000000000000001\",\"operationName\":\"POST /cart/add\",\"startTime\":1000000000,\"duration\":50000,"
    " \"processID\":\"p1\",\"references\":[],\"tags\":[]},"
    "{\"spanID\":\"0000000000000005\",\"operationName\":\"SELECT products\",\"startTime\":1000030000,\"duration\":5000,"
    " \"processID\":\"p5\",\"references\":[{\"refType\":\"CHILD_OF\",\"spanID\":\"0000000000000004\"}],\"tags\":[]},"
    "{\"spanID\":\"0000000000000002\",\"operationName\":\"POST /cart/add\",\"startTime\":1000010000,\"duration\":30000,"
    " \"processID\":\"p2\",\"references\":[{\"refType\":\"CHILD_OF\",\"spanID\":\"0000000000000001\"}],\"tags\":[]},"
    "{\"spanID\":\"0000000000000003\",\"operationName\":\"addItem\",\"startTime\":1000015000,\"duration\":25000,"
    " \"processID\":\"p3\",\"references\":[{\"refType\":\"CHILD_OF\",\"spanID\":\"0000000000000002\"}],"
    " \"tags\":[{\"key\":\"error\",\"type\":\"bool\",\"value\":true},"
    "          {\"key\":\"otel.status_description\",\"type\":\"string\",\"value\":\"out of stock\"}]}"
    "]}";

static char *render(const char *json, int width, bool color)
{
    json_error_t e;
    json_t *t = json_loads(json, 0, &e);
    assert_non_null(t);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    char err[128];
    assert_int_equal(cli_waterfall_print(f, t, width, color, err, sizeof err), 0);
    fclose(f);
    json_decref(t);
    return buf;
}

/* The n-th line (0-based) of text, copied. */
static char *line(const char *text, int n)
{
    const char *p = text;
    for (; n > 0 && p; n--) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    const char *e = strchr(p, '\n');
    return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

/* Bar cells of a row: the text between the two '|'. */
static void bar_extent(const char *row, int *first, int *last, int *cells)
{
    const char *a = strchr(row, '|');
    assert_non_null(a);
    const char *b = strchr(a + 1, '|');
    assert_non_null(b);
    *first = *last = -1;
    int col = 0;
    for (const char *p = a + 1; p < b; col++) {
        if ((unsigned char)*p >= 0xE2 && (unsigned char)p[1] == 0x96) { /* block characters */
            if (*first < 0)
                *first = col;
            *last = col;
            p += 3;
        } else {
            p++;
        }
    }
    *cells = col;
}

static void test_seed_trace(void **state)
{
    (void)state;
    char *out = render(seed_json, 100, false);
    char *hdr = line(out, 0);
    assert_string_equal(hdr, "trace a1b2c3d4e5f60718293a4b5c6d7e8f90  50.0 ms  5 spans  5 services  1 error");
    free(hdr);
    static const char *want[] = {"frontend ", "  api-gateway ", "    cart-service ",
                                 "      product-service ", "        product-db "};
    static const char *ops[] = {"POST /cart/add", "POST /cart/add", "addItem", "getProduct",
                                "SELECT products"};
    static const char *durs[] = {"50.0 ms", "30.0 ms", "25.0 ms", "15.0 ms", "5.0 ms"};
    /* expected placement as fractions of the axis: start, end */
    static const double pos[][2] = {{0, 1}, {0.2, 0.8}, {0.3, 0.8}, {0.4, 0.7}, {0.6, 0.7}};
    for (int i = 0; i < 5; i++) {
        char *row = line(out, 2 + i);
        assert_memory_equal(row, want[i], strlen(want[i]));
        assert_non_null(strstr(row, ops[i]));
        assert_non_null(strstr(row, durs[i]));
        int first, last, cells;
        bar_extent(row, &first, &last, &cells);
        assert_true(cells >= 20);
        int want_first = (int)(pos[i][0] * cells), want_last = (int)(pos[i][1] * cells) - 1;
        assert_true(first >= want_first - 1 && first <= want_first + 1);
        assert_true(last >= want_last - 1 && last <= want_last + 1);
        assert_int_equal(strstr(row, "ERROR: out of stock") != NULL, i == 2);
        free(row);
    }
    /* every row's bar starts in the same column and has as many cells */
    char *r0 = line(out, 2), *r4 = line(out, 6);
    int f0, l0, c0, f4, l4, c4;
    bar_extent(r0, &f0, &l0, &c0);
    bar_extent(r4, &f4, &l4, &c4);
    assert_int_equal(c0, c4);
    assert_int_equal(strchr(r0, '|') - r0, strchr(r4, '|') - r4);
    free(r0);
    free(r4);
    assert_null(strstr(out, "\x1b"));
    free(out);
}

static void test_color_only_when_asked(void **state)
{
    (void)state;
    char *out = render(seed_json, 100, true);
    assert_non_null(strstr(out, "\x1b[38;5;"));
    assert_non_null(strstr(out, "\x1b[1;31mERROR"));
    free(out);
}

static void test_hostile_names(void **state)
{
    (void)state;
    const char *j =
        "{\"traceID\":\"01\",\"processes\":{\"p1\":{\"serviceName\":\"evil\\u001b[2Jsvc\"}},"
        "\"spans\":[{\"spanID\":\"01\",\"operationName\":\"<img src=x>\\u0007\\u009b31m\","
        "\"startTime\":5,\"duration\":0,\"processID\":\"p1\",\"references\":[]}]}";
    char *out = render(j, 80, false);
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\x07'));
    assert_null(strstr(out, "\xc2\x9b"));
    assert_non_null(strstr(out, "evil?[2Jsvc"));
    assert_non_null(strstr(out, "<img src=x>??31m"));
    /* a zero-length span still shows one mark */
    char *row = line(out, 2);
    int first, last, cells;
    bar_extent(row, &first, &last, &cells);
    assert_int_equal(first, 0);
    free(row);
    free(out);
}

static void test_orphans_and_long_names(void **state)
{
    (void)state;
    /* the parent of span 02 is missing: it is drawn as a root of its own */
    const char *j =
        "{\"traceID\":\"02\",\"processes\":{\"p1\":{\"serviceName\":\"a-service-with-a-really-long-name-that-goes-on-and-on\"}},"
        "\"spans\":["
        "{\"spanID\":\"02\",\"operationName\":\"late\",\"startTime\":2000,\"duration\":1000,\"processID\":\"p1\","
        " \"references\":[{\"refType\":\"CHILD_OF\",\"spanID\":\"ff\"}]},"
        "{\"spanID\":\"01\",\"operationName\":\"root\",\"startTime\":1000,\"duration\":500,\"processID\":\"p1\",\"references\":[]}"
        "]}";
    char *out = render(j, 60, false);
    char *r1 = line(out, 2), *r2 = line(out, 3);
    assert_non_null(strstr(r1, "root"));
    assert_non_null(strstr(r2, "late"));
    assert_non_null(strstr(r1, "…"));
    assert_int_equal(r2[0], 'a'); /* not indented */
    free(r1);
    free(r2);
    free(out);
}

static void test_not_a_trace(void **state)
{
    (void)state;
    json_t *t = json_loads("{\"spans\":[]}", 0, NULL);
    char err[64] = "";
    assert_int_equal(cli_waterfall_print(stdout, t, 80, false, err, sizeof err), -1);
    assert_string_equal(err, "the trace has no spans");
    json_decref(t);
}

static void test_durations(void **state)
{
    (void)state;
    char b[32];
    cli_format_duration(850, b, sizeof b);
    assert_string_equal(b, "850 µs");
    cli_format_duration(12345, b, sizeof b);
    assert_string_equal(b, "12.3 ms");
    cli_format_duration(1520000, b, sizeof b);
    assert_string_equal(b, "1.52 s");
    cli_format_duration(192e6, b, sizeof b);
    assert_string_equal(b, "3.2 min");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_trace),       cmocka_unit_test(test_color_only_when_asked),
        cmocka_unit_test(test_hostile_names),    cmocka_unit_test(test_orphans_and_long_names),
        cmocka_unit_test(test_not_a_trace),      cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
