/* Integration test of the real `stitch` binary against a protected query
 * API: a libmicrohttpd server (export_sink.h) that answers 401 unless the
 * request carries "Authorization: Bearer <token>", over HTTP and over HTTPS
 * with a throwaway CA. Checks --token-file and STITCH_TOKEN (which wins,
 * what reaches the server), the 401 message and exit code 4, bad token
 * files (exit 2), and --cacert / STITCH_CACERT for an https server (without
 * them: exit 3 and a hint). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>

#include "tests/integration/export_sink.h"

#ifndef STITCH_BIN_DIR
#define STITCH_BIN_DIR "build/bin"
#endif

#define TOKEN "s3cret-t0ken.abc=="

static sink_certs_t certs;
static char token_file[128], empty_file[128], twoline_file[128], wrong_file[128];

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int group_setup(void **state)
{
    (void)state;
    if (sink_certs_make(&certs))
        return -1;
    snprintf(token_file, sizeof token_file, "%s/token", certs.dir);
    snprintf(empty_file, sizeof empty_file, "%s/empty", certs.dir);
    snprintf(twoline_file, sizeof twoline_file, "%s/twoline", certs.dir);
    snprintf(wrong_file, sizeof wrong_file, "%s/wrong", certs.dir);
    return write_file(token_file, TOKEN "\n") | write_file(empty_file, " \n") |
           write_file(twoline_file, "abc\ndef\n") | write_file(wrong_file, "not-it\n");
}

static int group_teardown(void **state)
{
    (void)state;
    return sink_certs_free(&certs);
}

static const char services[] = "{\"data\":[\"cart\",\"frontend\"],\"total\":2}";

static int start(const sink_tls_t *tls)
{
    if (sink_start_on(0, tls))
        return -1;
    sink_require_auth("Bearer " TOKEN);
    sink_answer_t ok = {200, NULL, services, sizeof services - 1, "application/json", 0};
    sink_set_mode(SINK_ANSWER, &ok);
    return 0;
}

static int setup_http(void **state)
{
    (void)state;
    return start(NULL);
}

static int setup_https(void **state)
{
    (void)state;
    sink_tls_t tls = {certs.server_cert, certs.server_key, NULL, NULL};
    return start(&tls);
}

static int teardown(void **state)
{
    (void)state;
    sink_stop();
    return 0;
}

/* ---- running the command ---- */

typedef struct run {
    int rc;
    char out[4096], err[4096];
} run_t;

static void read_into(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

/* `stitch args...` with only the environment `env` ("NAME", "value", ...,
 * NULL) of its STITCH_* variables. */
static void run(run_t *r, const char *const *env, const char *const *args)
{
    char out[160], err[160];
    snprintf(out, sizeof out, "%s/stdout", certs.dir);
    snprintf(err, sizeof err, "%s/stderr", certs.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsetenv("STITCH_TOKEN");
        unsetenv("STITCH_CACERT");
        unsetenv("STITCH_SERVER");
        for (size_t i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        char *argv[16];
        size_t n = 0;
        argv[n++] = "stitch";
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(STITCH_BIN_DIR "/stitch", argv);
        _exit(127);
    }
    r->rc = wait_child(pid, 30000);
    read_into(out, r->out, sizeof r->out);
    read_into(err, r->err, sizeof r->err);
}

static const char *server(void)
{
    static char url[64];
    return sink_url(url, sizeof url, "");
}

/* The Authorization header of request i, or NULL. */
static const char *auth_of(size_t i)
{
    assert_true(sink_count() > i);
    return sink_header(&sink.reqs[i], "Authorization");
}

/* ---- tokens ---- */

static void test_cli_auth_missing_token(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), NULL};
    run(&r, NULL, args);
    assert_int_equal(r.rc, 4);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "stitch services: stitchd refused the request: unauthorized — "
                               "pass --token-file or STITCH_TOKEN\n");
    assert_int_equal(sink_count(), 1);
    assert_null(auth_of(0));
}

static void test_cli_auth_token_file(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), "--token-file", token_file, NULL};
    run(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "cart\nfrontend\n");
    assert_string_equal(auth_of(0), "Bearer " TOKEN); /* the newline is not part of it */

    /* --token-file=FILE, and the other query commands send it too */
    char opt[200];
    snprintf(opt, sizeof opt, "--token-file=%s", token_file);
    static const char none[] = "{\"data\":[],\"total\":0}";
    sink_answer_t empty = {200, NULL, none, sizeof none - 1, "application/json", 0};
    sink_script(&empty, 1);
    const char *args2[] = {"search", "--service", "cart", "--server", server(), opt, NULL};
    run(&r, NULL, args2);
    assert_int_equal(r.rc, 1); /* the answer holds no traces: nothing found */
    assert_string_equal(auth_of(1), "Bearer " TOKEN);
    const char *args3[] = {"trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--server", server(),
                           opt, NULL};
    run(&r, NULL, args3);
    assert_string_equal(auth_of(2), "Bearer " TOKEN);
    const char *args4[] = {"trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--server", server(),
                           NULL};
    run(&r, NULL, args4);
    assert_int_equal(r.rc, 4);
    assert_non_null(strstr(r.err, "stitch trace: stitchd refused the request: unauthorized"));
}

static void test_cli_auth_env_token(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), NULL};
    const char *env[] = {"STITCH_TOKEN", TOKEN, NULL};
    run(&r, env, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "cart\nfrontend\n");
    assert_string_equal(auth_of(0), "Bearer " TOKEN);

    /* --token-file wins over STITCH_TOKEN */
    const char *env2[] = {"STITCH_TOKEN", "wrong", NULL};
    const char *args2[] = {"services", "--server", server(), "--token-file", token_file, NULL};
    run(&r, env2, args2);
    assert_int_equal(r.rc, 0);
    assert_string_equal(auth_of(1), "Bearer " TOKEN);

    /* a token that cannot be a header value is refused before sending */
    const char *env3[] = {"STITCH_TOKEN", "abc\r\nX-Injected: 1", NULL};
    run(&r, env3, args);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "the token in STITCH_TOKEN holds a control character"));
    assert_int_equal(sink_count(), 2);
}

static void test_cli_auth_wrong_token(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), "--token-file", wrong_file, NULL};
    run(&r, NULL, args);
    assert_int_equal(r.rc, 4);
    assert_string_equal(r.err, "stitch services: stitchd refused the request: unauthorized — it "
                               "did not accept the token from --token-file\n");
    assert_string_equal(auth_of(0), "Bearer not-it");
    const char *env[] = {"STITCH_TOKEN", "also-wrong", NULL};
    const char *args2[] = {"services", "--server", server(), NULL};
    run(&r, env, args2);
    assert_int_equal(r.rc, 4);
    assert_non_null(strstr(r.err, "did not accept the token from STITCH_TOKEN"));
}

static void test_cli_auth_bad_token_files(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), "--token-file", "/nonexistent/tok",
                          NULL};
    run(&r, NULL, args);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "stitch services: cannot read --token-file /nonexistent/tok: No "
                               "such file or directory\n");
    const char *args2[] = {"services", "--server", server(), "--token-file", empty_file, NULL};
    run(&r, NULL, args2);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "is empty"));
    const char *args3[] = {"services", "--server", server(), "--token-file", twoline_file, NULL};
    run(&r, NULL, args3);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "spans more than one line"));
    const char *args4[] = {"services", "--server", server(), "--token-file", NULL};
    run(&r, NULL, args4);
    assert_int_equal(r.rc, 2);
    assert_int_equal(sink_count(), 0); /* none of these asked the server */
}

/* ---- https ---- */

static void test_cli_auth_https_cacert(void **state)
{
    (void)state;
    run_t r;
    const char *args[] = {"services", "--server", server(), "--token-file", token_file,
                          "--cacert", certs.ca, NULL};
    assert_true(strncmp(server(), "https://", 8) == 0);
    run(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "cart\nfrontend\n");
    assert_string_equal(auth_of(0), "Bearer " TOKEN);

    /* STITCH_CACERT does the same */
    const char *env[] = {"STITCH_CACERT", certs.ca, "STITCH_TOKEN", TOKEN, NULL};
    const char *args2[] = {"services", "--server", server(), NULL};
    run(&r, env, args2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(sink_count(), 2);

    /* the 401 over https */
    const char *env2[] = {"STITCH_CACERT", certs.ca, NULL};
    run(&r, env2, args2);
    assert_int_equal(r.rc, 4);
    assert_non_null(strstr(r.err, "pass --token-file or STITCH_TOKEN"));
    assert_int_equal(sink_count(), 3);
}

static void test_cli_auth_https_untrusted(void **state)
{
    (void)state;
    run_t r;
    /* the system's CA store does not know the test CA: no request is sent */
    const char *args[] = {"services", "--server", server(), "--token-file", token_file, NULL};
    run(&r, NULL, args);
    assert_int_equal(r.rc, 3);
    assert_non_null(strstr(r.err, "stitch services: cannot reach stitchd at https://"));
    assert_non_null(strstr(r.err, "pass --cacert FILE"));
    /* the wrong CA */
    const char *args2[] = {"services", "--server", server(), "--token-file", token_file,
                           "--cacert", certs.other_ca, NULL};
    run(&r, NULL, args2);
    assert_int_equal(r.rc, 3);
    assert_non_null(strstr(r.err, "checked against --cacert"));
    /* a CA file that is not there is a usage error */
    const char *args3[] = {"services", "--server", server(), "--cacert", "/nonexistent/ca.pem",
                           NULL};
    run(&r, NULL, args3);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "cannot read --cacert /nonexistent/ca.pem"));
    assert_int_equal(sink_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_auth_missing_token, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_token_file, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_env_token, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_wrong_token, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_bad_token_files, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_https_cacert, setup_https, teardown),
        cmocka_unit_test_setup_teardown(test_cli_auth_https_untrusted, setup_https, teardown),
    };
    if (getenv("STITCH_TEST_FILTER"))
        cmocka_set_test_filter(getenv("STITCH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
