/* stitch__http_pem_check and stitch__http_tls_check: which TLS files the
 * exporters accept at set-up (readable regular files holding a PEM block,
 * a client certificate only with its key) and the reason given for the
 * others — a missing file, a directory, a FIFO (without hanging), a file
 * without "-----BEGIN ", a marker after a longer run of dashes or split
 * across read buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdk/http.h"
#include "stitch/trace.h"

static char dir[64];

static const char *file_with(const char *name, const char *text, size_t pad)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < pad; i++)
        fputc('x', f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void test_http_tls_files_pem_check(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(stitch__http_pem_check(file_with("a.pem", "-----BEGIN CERTIFICATE-----\n", 0),
                                            why, sizeof why), 0);
    /* text before the block (a bundle's comments), and a longer run of dashes */
    assert_int_equal(stitch__http_pem_check(file_with("b.pem", "# Issuer: x\n------BEGIN X", 0),
                                            why, sizeof why), 0);
    /* far into the file: past any one read buffer */
    assert_int_equal(stitch__http_pem_check(file_with("c.pem", "-----BEGIN X", 100000), why,
                                            sizeof why), 0);
    assert_int_equal(stitch__http_pem_check(file_with("d.txt", "-----BEGINX -----BEGI", 0), why,
                                            sizeof why), STITCH_EINVAL);
    assert_string_equal(why, "it holds no PEM block (\"-----BEGIN ...\")");
    assert_int_equal(stitch__http_pem_check(file_with("e.txt", "", 0), why, sizeof why),
                     STITCH_EINVAL);
    assert_int_equal(stitch__http_pem_check("/nonexistent/x.pem", why, sizeof why), STITCH_EINVAL);
    assert_string_equal(why, "cannot open it: No such file or directory");
    assert_int_equal(stitch__http_pem_check(dir, why, sizeof why), STITCH_EINVAL);
    assert_string_equal(why, "cannot read it: Is a directory");
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(stitch__http_pem_check(fifo, why, sizeof why), STITCH_EINVAL);
    assert_string_equal(why, "cannot read it: not a regular file");
}

static char logged[512];

static void logger(void *arg, stitch_log_level_t level, const char *msg)
{
    (void)arg, (void)level;
    snprintf(logged, sizeof logged, "%s", msg);
}

static void test_http_tls_files_pairs(void **state)
{
    (void)state;
    char ca[128], cert[128], key[128];
    snprintf(ca, sizeof ca, "%s", file_with("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0));
    snprintf(cert, sizeof cert, "%s", file_with("cert.pem", "-----BEGIN CERTIFICATE-----\n", 0));
    snprintf(key, sizeof key, "%s", file_with("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0));
    stitch_set_logger(logger, NULL);
    assert_int_equal(stitch__http_tls_check("otlp", NULL, NULL, NULL), 0);
    assert_int_equal(stitch__http_tls_check("otlp", ca, cert, key), 0);
    assert_int_equal(stitch__http_tls_check("otlp", NULL, cert, NULL), STITCH_EINVAL);
    assert_string_equal(logged, "otlp exporter: a client certificate without a client key; "
                                "mutual TLS needs both");
    assert_int_equal(stitch__http_tls_check("zipkin", NULL, NULL, key), STITCH_EINVAL);
    assert_string_equal(logged, "zipkin exporter: a client key without a client certificate; "
                                "mutual TLS needs both");
    assert_int_equal(stitch__http_tls_check("otlp", "/nonexistent/ca.pem", NULL, NULL),
                     STITCH_EINVAL);
    assert_string_equal(logged, "otlp exporter: CA file /nonexistent/ca.pem: cannot open it: No "
                                "such file or directory");
    stitch_set_logger(NULL, NULL);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stitch-tlsfiles.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_tls_files_pem_check),
        cmocka_unit_test(test_http_tls_files_pairs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
