/* Integration test of the exporters over HTTPS against a real TLS server
 * (export_sink.h on libmicrohttpd + GnuTLS) with a throwaway CA made by
 * tests/integration/tls_certs.sh: spans arrive when the CA is configured
 * (OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, or ca_file in code); with no
 * CA or the wrong one the export fails, is counted as failed by the batch
 * processor and logged with a hint, and the application carries on; a bad
 * CA path is reported at set-up and ignored; mutual TLS with
 * OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE/_CLIENT_KEY; and
 * OTEL_EXPORTER_OTLP_HEADERS (percent-decoded) arriving as headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gnutls/gnutls.h>

#include "stitch/export.h"
#include "stitch/stitch.h"
#include "tests/integration/export_sink.h"
#include "tests/integration/log_capture.h"

/* ---- log capture ---- */

/* ---- TLS material, made once for the run ---- */

static sink_certs_t certs;
static const char *ca_pem = certs.ca, *other_ca_pem = certs.other_ca;
static const char *client_pem = certs.client_cert, *client_key = certs.client_key;
static const char *dir = certs.dir;
static char not_pem[128];

static int group_setup(void **state)
{
    (void)state;
    if (sink_certs_make(&certs))
        return -1;
    snprintf(not_pem, sizeof not_pem, "%s/not-pem.txt", certs.dir);
    FILE *f = fopen(not_pem, "w");
    if (!f)
        return -1;
    fputs("this is not a certificate\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return sink_certs_free(&certs);
}

/* The client certificate, as GnuTLS verified it against the trust list
 * the server was given (MHD_OPTION_HTTPS_MEM_TRUST). */
static int client_verified(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return 0;
    unsigned status = 1;
    if (gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) != 0)
        return 0; /* e.g. GNUTLS_E_NO_CERTIFICATE_FOUND */
    return status == 0;
}

/* ---- spans to send ---- */

static stitch_provider_t *prov;
static const stitch_span_data_t *spans[2];

static int start(bool mtls)
{
    clear_env();
    loglen = 0;
    logbuf[0] = 0;
    stitch_set_logger(logger, NULL);
    sink_tls_t tls = {certs.server_cert, certs.server_key, mtls ? certs.ca_text : NULL,
                      client_verified};
    if (sink_start_on(0, &tls))
        return -1;
    stitch_provider_opts_t po = {.no_env = true};
    if (stitch_provider_new(&prov, &po))
        return -1;
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    if (stitch_provider_add_processor(prov, mem))
        return -1;
    stitch_tracer_t *t = stitch_tracer(prov, "tls", "1.0");
    stitch_span_end(stitch_span_start(t, "over-tls-1", NULL));
    stitch_span_end(stitch_span_start(t, "over-tls-2", NULL));
    if (stitch_memory_processor_count(mem) != 2)
        return -1;
    spans[0] = stitch_memory_processor_get(mem, 0);
    spans[1] = stitch_memory_processor_get(mem, 1);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return start(false);
}

static int setup_mtls(void **state)
{
    (void)state;
    return start(true);
}

static int teardown(void **state)
{
    (void)state;
    sink_stop();
    stitch_provider_free(prov);
    prov = NULL;
    stitch_set_logger(NULL, NULL);
    clear_env();
    return 0;
}

static void set_endpoint(void)
{
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/v1/traces"), 1);
}

static stitch_exporter_t *env_exporter(void)
{
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_otlp_exporter_new(&e, NULL), 0);
    assert_non_null(e);
    return e;
}

static int export2(stitch_exporter_t *e)
{
    return stitch_exporter_export(e, spans, 2, 5000);
}

/* The two spans of start(), in request i. */
static void check_arrived(size_t i)
{
    assert_true(sink_count() > i);
    pb_req_t *req = sink_decode_pb(&sink.reqs[i]);
    assert_non_null(req);
    assert_int_equal(pb_count(req, NULL), 2);
    assert_int_equal(pb_count(req, "over-tls-1"), 1);
    assert_int_equal(pb_count(req, "over-tls-2"), 1);
    pb_free(req);
}

/* n spans through a batch processor around `e`; its counters after a flush.
 * Then more spans, to show the application is unaffected by the failures:
 * they are accepted onto the queue as before. */
static stitch_batch_stats_t through_batch(stitch_exporter_t *e, int n)
{
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &po), 0);
    stitch_batch_opts_t bo = {2048, 60000, 512, 5000};
    stitch_processor_t *bp = stitch_batch_processor_new(e, &bo);
    assert_non_null(bp);
    assert_int_equal(stitch_provider_add_processor(p, bp), 0);
    stitch_tracer_t *t = stitch_tracer(p, "tls-batch", NULL);
    for (int i = 0; i < n; i++)
        stitch_span_end(stitch_span_start(t, "batched", NULL));
    (void)stitch_provider_force_flush(p, 10000); /* a failed export still completes the flush */
    stitch_batch_stats_t st, after;
    assert_int_equal(stitch_batch_processor_stats(bp, &st), 0);
    for (int i = 0; i < 10; i++)
        stitch_span_end(stitch_span_start(t, "later", NULL));
    assert_int_equal(stitch_batch_processor_stats(bp, &after), 0);
    assert_int_equal(after.queued, st.queued + 10);
    assert_int_equal(after.dropped, st.dropped);
    (void)stitch_provider_shutdown(p, 5000);
    stitch_provider_free(p);
    return st;
}

/* ---- server verification ---- */

static void test_tls_delivered_with_ca_env(void **state)
{
    (void)state;
    set_endpoint();
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_pem, 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export2(e), 0);
    assert_int_equal(export2(e), 0); /* the TLS connection is kept and reused */
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 2);
    check_arrived(0);
    check_arrived(1);
    assert_int_equal(sink.reqs[0].client_port, sink.reqs[1].client_port);
    assert_int_equal(sink.reqs[0].client_cert, -1); /* this server asks for none */

    /* the signal's variable wins over the generic one, both ways */
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", other_ca_pem, 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca_pem, 1);
    e = env_exporter();
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 3);
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_pem, 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", other_ca_pem, 1);
    e = env_exporter();
    assert_int_equal(export2(e), STITCH_EIO);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 3);
}

static void test_tls_no_ca_fails_counted(void **state)
{
    (void)state;
    /* no CA configured: the system's store does not know the test CA */
    set_endpoint();
    stitch_batch_stats_t st = through_batch(env_exporter(), 100);
    assert_int_equal(st.queued, 100);
    assert_int_equal(st.failed, 100);
    assert_int_equal(st.exported, 0);
    assert_int_equal(sink_count(), 0); /* no request got past the handshake */
    assert_true(log_has("otlp exporter: POST https://127.0.0.1:"));
    assert_true(log_has("certificate"));
    assert_true(log_has("OTEL_EXPORTER_OTLP_CERTIFICATE"));
}

static void test_tls_wrong_ca_fails_counted(void **state)
{
    (void)state;
    set_endpoint();
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", other_ca_pem, 1);
    stitch_batch_stats_t st = through_batch(env_exporter(), 50);
    assert_int_equal(st.failed, 50);
    assert_int_equal(st.exported, 0);
    assert_int_equal(sink_count(), 0);
    assert_true(log_has("checked against the CA file"));
    assert_true(log_has(other_ca_pem));
}

static void test_tls_bad_ca_file_ignored(void **state)
{
    (void)state;
    set_endpoint();
    /* a path that does not exist: logged at set-up, ignored (the system's
     * store applies), so this server is not trusted */
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", 1);
    stitch_exporter_t *e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_CERTIFICATE=\"/nonexistent/ca.pem\": cannot open it: "
                        "No such file or directory; ignoring it"));
    assert_true(log_has("system's CA store"));
    assert_int_equal(export2(e), STITCH_EIO);
    stitch_exporter_free(e);

    /* a file that is not PEM, and a directory */
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", not_pem, 1);
    e = env_exporter();
    assert_true(log_has("holds no PEM block"));
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", dir, 1);
    e = env_exporter();
    assert_true(log_has("Is a directory"));
    stitch_exporter_free(e);

    /* a bad signal variable falls back to the generic one, which works */
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/nonexistent/traces.pem", 1);
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_pem, 1);
    e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"));
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 1);
    check_arrived(0);
}

static void test_tls_options_in_code(void **state)
{
    (void)state;
    char url[128];
    stitch_otlp_opts_t o = STITCH_OTLP_OPTS_INIT;
    o.endpoint = sink_url(url, sizeof url, "/v1/traces");
    o.no_env = true;
    o.ca_file = ca_pem;
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), 0);
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 1);
    check_arrived(0);

    /* in code, a bad file is an error, not a warning */
    o.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), STITCH_EINVAL);
    assert_null(e);
    assert_true(log_has("otlp exporter: CA file /nonexistent/ca.pem: cannot open it"));
    o.ca_file = ca_pem;
    o.client_cert = client_pem;
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), STITCH_EINVAL);
    assert_null(e);
    assert_true(log_has("a client certificate without a client key"));

    /* the code's CA wins over the environment's */
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", other_ca_pem, 1);
    o.client_cert = NULL;
    o.no_env = false;
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), 0);
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 2);
}

static void test_tls_zipkin(void **state)
{
    (void)state;
    char url[128];
    stitch_zipkin_opts_t z = {.endpoint = sink_url(url, sizeof url, "/api/v2/spans"),
                              .no_env = true, .ca_file = ca_pem};
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_zipkin_exporter_new(&e, &z), 0);
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    z.ca_file = NULL; /* the system's store: not trusted */
    assert_int_equal(stitch_zipkin_exporter_new(&e, &z), 0);
    assert_int_equal(export2(e), STITCH_EIO);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 1);
    assert_string_equal(sink.reqs[0].path, "/api/v2/spans");
    assert_non_null(strstr((const char *)sink.reqs[0].body, "over-tls-1"));
}

/* ---- headers ---- */

static void test_tls_headers(void **state)
{
    (void)state;
    set_endpoint();
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_pem, 1);
    /* as people write it (a raw space), and percent-encoded */
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer abc", 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_HEADERS",
           "Authorization=Basic%20dXNlcjpwYXNz%3D%3D, x-api-key = a=b+c%2Fd ,x-empty=", 1);
    e = env_exporter();
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 2);
    assert_string_equal(sink_header(&sink.reqs[0], "Authorization"), "Bearer abc");
    assert_string_equal(sink_header(&sink.reqs[1], "Authorization"), "Basic dXNlcjpwYXNz==");
    /* only the first '=' separates; '+' is a plus (not form encoding); spaces
     * around key and value are trimmed */
    assert_string_equal(sink_header(&sink.reqs[1], "x-api-key"), "a=b+c/d");
    check_arrived(1);
}

/* ---- mutual TLS ---- */

static void test_tls_mutual(void **state)
{
    (void)state;
    set_endpoint();
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_pem, 1);
    /* no client certificate: the server refuses (403 here), counted as failed
     * (the 10 later spans of through_batch() go at its shutdown: 2 requests) */
    stitch_batch_stats_t st = through_batch(env_exporter(), 20);
    assert_int_equal(st.failed, 20);
    assert_int_equal(st.exported, 0);
    assert_int_equal(sink_count(), 2);
    assert_int_equal(sink.reqs[0].client_cert, 0);
    assert_int_equal(sink.reqs[1].client_cert, 0);
    assert_true(log_has("answered 403"));

    /* with one */
    setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client_pem, 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", client_key, 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 3);
    assert_int_equal(sink.reqs[2].client_cert, 1);
    check_arrived(2);

    /* half a pair (the key unusable) is reported, and no certificate is sent */
    setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", not_pem, 1);
    e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"));
    assert_true(log_has("no client certificate is sent"));
    assert_int_equal(export2(e), STITCH_EIO);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 4);
    assert_int_equal(sink.reqs[3].client_cert, 0);

    /* the pair in code */
    char url[128];
    stitch_otlp_opts_t o = STITCH_OTLP_OPTS_INIT;
    o.endpoint = sink_url(url, sizeof url, "/v1/traces");
    o.no_env = true;
    o.ca_file = ca_pem;
    o.client_cert = client_pem;
    o.client_key = client_key;
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), 0);
    assert_int_equal(export2(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 5);
    assert_int_equal(sink.reqs[4].client_cert, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_delivered_with_ca_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_no_ca_fails_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_wrong_ca_fails_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_bad_ca_file_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_options_in_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_zipkin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_mutual, setup_mtls, teardown),
    };
    if (getenv("STITCH_TEST_FILTER"))
        cmocka_set_test_filter(getenv("STITCH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
