/* Integration test of build/bin/w3c-test-service against the cases of the
 * W3C Trace Context conformance suite (w3c/trace-context test/test.py).
 *
 * The test plays the suite's part: it runs its own libmicrohttpd "harness"
 * server that records every callback's headers, starts the real service
 * binary on a free port, and sends it `POST /test` over a raw socket, so
 * header names, repetitions, whitespace and empty values go out exactly as
 * written. The service must call back with a traceparent (and tracestate)
 * that follows the W3C rules. The service process is killed in the group
 * teardown, and dies with the test process (PR_SET_PDEATHSIG) if the test
 * itself dies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#ifndef STITCH_BIN_DIR
#define STITCH_BIN_DIR "build/bin"
#endif
#define SERVICE STITCH_BIN_DIR "/w3c-test-service"

#define K "12345678901234567890123456789012"
#define P "1234567890123456"
#define TP00 "00-" K "-" P "-00"
#define TP01 "00-" K "-" P "-01"

/* ---- the harness: records callbacks --------------------------------------------------- */

#define MAX_CB 64
#define MAX_H 48

struct cb {
    char path[64];
    size_t nh;
    char *name[MAX_H];
    char *value[MAX_H];
    char body[256];
    size_t blen;
    bool done;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cb cbs[MAX_CB];
static size_t ncbs;
static struct MHD_Daemon *harness;
static unsigned harness_port;
static unsigned next_cb; /* unique callback ids across the run */

static pid_t service_pid = -1;
static unsigned service_port;

static void cbs_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ncbs; i++)
        for (size_t j = 0; j < cbs[i].nh; j++) {
            free(cbs[i].name[j]);
            free(cbs[i].value[j]);
        }
    memset(cbs, 0, sizeof cbs);
    ncbs = 0;
    pthread_mutex_unlock(&lock);
}

static enum MHD_Result rec_hdr(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
                               const char *val, size_t vlen)
{
    struct cb *c = cls;
    (void)kind;
    if (c->nh < MAX_H) {
        c->name[c->nh] = strndup(key, klen);
        c->value[c->nh] = strndup(val ? val : "", val ? vlen : 0);
        c->nh++;
    }
    return MHD_YES;
}

static enum MHD_Result harness_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version, const char *data,
                                       size_t *size, void **req_cls)
{
    (void)cls, (void)method, (void)version;
    struct cb *c = *req_cls;
    if (!c) {
        pthread_mutex_lock(&lock);
        c = ncbs < MAX_CB ? &cbs[ncbs++] : NULL;
        if (c) {
            snprintf(c->path, sizeof c->path, "%s", url);
            (void)MHD_get_connection_values_n(conn, MHD_HEADER_KIND, rec_hdr, c);
        }
        pthread_mutex_unlock(&lock);
        if (!c)
            return MHD_NO;
        *req_cls = c;
        return MHD_YES;
    }
    if (*size) {
        pthread_mutex_lock(&lock);
        size_t n = *size < sizeof c->body - 1 - c->blen ? *size : sizeof c->body - 1 - c->blen;
        memcpy(c->body + c->blen, data, n);
        c->blen += n;
        pthread_mutex_unlock(&lock);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&lock);
    c->done = true;
    pthread_mutex_unlock(&lock);
    static const char null_body[] = "null";
    struct MHD_Response *r = MHD_create_response_from_buffer(4, (void *)null_body, MHD_RESPMEM_PERSISTENT);
    (void)MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static const struct cb *cb_for(unsigned id)
{
    char path[64];
    snprintf(path, sizeof path, "/cb/%u", id);
    const struct cb *found = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ncbs; i++)
        if (strcmp(cbs[i].path, path) == 0 && cbs[i].done)
            found = &cbs[i];
    pthread_mutex_unlock(&lock);
    if (!found)
        fail_msg("the service made no callback to %s", path);
    return found;
}

/* ---- the service process ---------------------------------------------------------------- */

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void stop_service(void)
{
    if (service_pid <= 0)
        return;
    kill(service_pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(service_pid, NULL, WNOHANG) == service_pid) {
            service_pid = -1;
            return;
        }
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    kill(service_pid, SIGKILL);
    waitpid(service_pid, NULL, 0);
    service_pid = -1;
}

/* Run argv with stdout and stderr into pipes; *out_fd reads stdout. */
static pid_t spawn(char *const argv[], int *out_fd, int *err_fd, bool sabotage_env)
{
    int o[2], e[2];
    if (pipe(o) != 0 || pipe(e) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(o[0]), close(o[1]), close(e[0]), close(e[1]);
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
        unsetenv("OTEL_SDK_DISABLED");
        if (sabotage_env) /* the service must use tracecontext whatever this says */
            setenv("OTEL_PROPAGATORS", "b3multi", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(o[1]), close(e[1]);
    *out_fd = o[0];
    if (err_fd)
        *err_fd = e[0];
    else
        close(e[0]);
    return pid;
}

/* Read until EOF or timeout; returns bytes read. */
static size_t read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(buf, '\n', n) && timeout_ms < 0)
            break;
    }
    buf[n] = '\0';
    return n;
}

static int start_service(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        unsigned port = free_port();
        if (!port)
            continue;
        char ps[16];
        snprintf(ps, sizeof ps, "%u", port);
        char *argv[] = {(char *)SERVICE, (char *)"--port", ps, NULL};
        int out;
        service_pid = spawn(argv, &out, NULL, true);
        if (service_pid < 0)
            return -1;
        /* The service prints its address once it listens; EOF means it
         * exited (port taken meanwhile): try another port. */
        char line[256];
        size_t n = 0;
        while (n + 1 < sizeof line) {
            struct pollfd p = {out, POLLIN, 0};
            if (poll(&p, 1, 10000) <= 0)
                break;
            ssize_t r = read(out, line + n, sizeof line - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            if (memchr(line, '\n', n))
                break;
        }
        line[n] = '\0';
        close(out);
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%u/test", port);
        if (strstr(line, want)) {
            service_port = port;
            return 0;
        }
        stop_service();
    }
    return -1;
}

/* ---- talking to the service --------------------------------------------------------------- */

/* Send POST path with the given raw header lines ("name: value"), body,
 * Connection: close; return the status code (0 on I/O failure). */
static int raw_post(const char *path, const char *const *hdrs, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)service_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return 0;
    }
    size_t cap = 16384, len = 0;
    char *req = malloc(cap);
    len += (size_t)snprintf(req + len, cap - len,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAccept: application/json\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n",
                            path, service_port, strlen(body));
    for (; hdrs && *hdrs; hdrs++)
        len += (size_t)snprintf(req + len, cap - len, "%s\r\n", *hdrs);
    len += (size_t)snprintf(req + len, cap - len, "\r\n%s", body);
    assert_true(len < cap);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, req + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(req);
    char resp[4096];
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof resp && (r = read(fd, resp + n, sizeof resp - 1 - n)) > 0)
        n += (size_t)r;
    resp[n] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

/* One W3C case: the given headers, `count` callbacks; the callbacks' ids
 * go to ids[]. Asserts the service answered 200. */
static void make_request(const char *const *hdrs, unsigned count, unsigned *ids)
{
    char body[2048];
    size_t len = (size_t)snprintf(body, sizeof body, "[");
    for (unsigned i = 0; i < count; i++) {
        ids[i] = next_cb++;
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "%s{\"url\": \"http://127.0.0.1:%u/cb/%u\", \"arguments\": []}",
                                i ? ", " : "", harness_port, ids[i]);
    }
    snprintf(body + len, sizeof body - len, "]");
    assert_int_equal(raw_post("/test", hdrs, body), 200);
}

/* ---- reading a callback ------------------------------------------------------------------------ */

static bool is_lhex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

struct tp {
    char version[3], trace[33], parent[17], flags[3];
};

/* Exactly one traceparent, of the exact version-00 form. */
static struct tp get_tp(const struct cb *c)
{
    const char *v = NULL;
    int n = 0;
    for (size_t i = 0; i < c->nh; i++)
        if (strcasecmp(c->name[i], "traceparent") == 0) {
            v = c->value[i];
            n++;
        }
    if (n != 1)
        fail_msg("expected one traceparent header, got %d", n);
    if (!(strlen(v) == 55 && v[2] == '-' && v[35] == '-' && v[52] == '-' && is_lhex(v, 2) &&
          is_lhex(v + 3, 32) && is_lhex(v + 36, 16) && is_lhex(v + 53, 2)))
        fail_msg("malformed traceparent '%s'", v);
    struct tp t;
    memcpy(t.version, v, 2), t.version[2] = 0;
    memcpy(t.trace, v + 3, 32), t.trace[32] = 0;
    memcpy(t.parent, v + 36, 16), t.parent[16] = 0;
    memcpy(t.flags, v + 53, 2), t.flags[2] = 0;
    assert_string_equal(t.version, "00");
    assert_string_not_equal(t.trace, "00000000000000000000000000000000");
    assert_string_not_equal(t.parent, "0000000000000000");
    return t;
}

/* The tracestate header sent (at most one), or NULL when none was sent. */
static const char *get_ts(const struct cb *c)
{
    const char *v = NULL;
    int n = 0;
    for (size_t i = 0; i < c->nh; i++)
        if (strcasecmp(c->name[i], "tracestate") == 0) {
            v = c->value[i];
            n++;
        }
    if (n > 1)
        fail_msg("expected at most one tracestate header, got %d", n);
    if (v && !*v)
        fail_msg("an empty tracestate header was sent");
    return v;
}

static const struct cb *one(const char *const *hdrs)
{
    unsigned id;
    make_request(hdrs, 1, &id);
    return cb_for(id);
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The incoming traceparent must be rejected: a new trace id. */
static void expect_new_trace(const char *const *hdrs, const char *old_trace)
{
    struct tp t = get_tp(one(hdrs));
    assert_string_not_equal(t.trace, old_trace);
    assert_string_not_equal(t.trace, K);
}

/* The incoming traceparent must be accepted: trace id kept, new parent id. */
static struct tp expect_same_trace(const char *const *hdrs)
{
    struct tp t = get_tp(one(hdrs));
    assert_string_equal(t.trace, K);
    assert_string_not_equal(t.parent, P);
    return t;
}

/* ---- cases: traceparent ------------------------------------------------------------------------ */

static void test_w3c_both_missing(void **state)
{
    (void)state;
    const struct cb *c = one(NULL);
    (void)get_tp(c);
    assert_null(get_ts(c));
    /* The callback itself: POST with body "[]" as JSON. */
    bool ct = false;
    for (size_t i = 0; i < c->nh; i++)
        if (strcasecmp(c->name[i], "content-type") == 0 && strcmp(c->value[i], "application/json") == 0)
            ct = true;
    assert_true(ct);
    assert_string_equal(c->body, "[]");
}

static void test_w3c_traceparent_valid(void **state)
{
    (void)state;
    struct tp t = expect_same_trace(H("traceparent: " TP01));
    assert_string_equal(t.flags, "01");
    t = expect_same_trace(H("traceparent: " TP00));
    assert_string_equal(t.flags, "00");
    /* Only W3C headers go out, though OTEL_PROPAGATORS=b3multi is set. */
    const struct cb *c = one(H("traceparent: " TP01));
    for (size_t i = 0; i < c->nh; i++)
        assert_int_not_equal(strncasecmp(c->name[i], "x-b3-", 5), 0);
}

static void test_w3c_traceparent_duplicated(void **state)
{
    (void)state;
    expect_new_trace(H("traceparent: 00-12345678901234567890123456789011-1234567890123456-01",
                       "traceparent: 00-12345678901234567890123456789012-1234567890123456-01"),
                     "12345678901234567890123456789011");
}

static void test_w3c_traceparent_header_name(void **state)
{
    (void)state;
    expect_new_trace(H("trace-parent: " TP01), K);
    expect_new_trace(H("trace.parent: " TP01), K);
    (void)expect_same_trace(H("TraceParent: " TP01));
    (void)expect_same_trace(H("TrAcEpArEnT: " TP01));
    (void)expect_same_trace(H("TRACEPARENT: " TP01));
}

static void test_w3c_traceparent_version(void **state)
{
    (void)state;
    expect_new_trace(H("traceparent: " TP01 "."), K);
    expect_new_trace(H("traceparent: " TP01 "-what-the-future-will-be-like"), K);
    (void)expect_same_trace(H("traceparent: cc-" K "-" P "-01"));
    (void)expect_same_trace(H("traceparent: cc-" K "-" P "-01-what-the-future-will-be-like"));
    expect_new_trace(H("traceparent: cc-" K "-" P "-01.what-the-future-will-be-like"), K);
    expect_new_trace(H("traceparent: ff-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: .0-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: 0.-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: 000-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: 0000-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: 0-" K "-" P "-01"), K);
    expect_new_trace(H("traceparent: 0A-" K "-" P "-01"), K); /* upper-case hex */
}

static void test_w3c_traceparent_trace_id(void **state)
{
    (void)state;
    expect_new_trace(H("traceparent: 00-00000000000000000000000000000000-" P "-01"),
                     "00000000000000000000000000000000");
    expect_new_trace(H("traceparent: 00-.2345678901234567890123456789012-" P "-01"), K);
    expect_new_trace(H("traceparent: 00-1234567890123456789012345678901.-" P "-01"), K);
    expect_new_trace(H("traceparent: 00-123456789012345678901234567890123-" P "-01"),
                     "23456789012345678901234567890123");
    expect_new_trace(H("traceparent: 00-1234567890123456789012345678901-" P "-01"), K);
    expect_new_trace(H("traceparent: 00-1234567890123456789012345678901A-" P "-01"), K);
}

static void test_w3c_traceparent_parent_id(void **state)
{
    (void)state;
    expect_new_trace(H("traceparent: 00-" K "-0000000000000000-01"), K);
    expect_new_trace(H("traceparent: 00-" K "-.234567890123456-01"), K);
    expect_new_trace(H("traceparent: 00-" K "-123456789012345.-01"), K);
    expect_new_trace(H("traceparent: 00-" K "-12345678901234567-01"), K);
    expect_new_trace(H("traceparent: 00-" K "-123456789012345-01"), K);
    expect_new_trace(H("traceparent: 00-" K "-123456789012345A-01"), K);
}

static void test_w3c_traceparent_flags(void **state)
{
    (void)state;
    expect_new_trace(H("traceparent: 00-" K "-" P "-.0"), K);
    expect_new_trace(H("traceparent: 00-" K "-" P "-0."), K);
    expect_new_trace(H("traceparent: 00-" K "-" P "-001"), K);
    expect_new_trace(H("traceparent: 00-" K "-" P "-1"), K);
}

static void test_w3c_traceparent_ows(void **state)
{
    (void)state;
    (void)expect_same_trace(H("traceparent:  " TP01));
    (void)expect_same_trace(H("traceparent: \t" TP01));
    (void)expect_same_trace(H("traceparent: " TP01 " "));
    (void)expect_same_trace(H("traceparent: " TP01 "\t"));
    (void)expect_same_trace(H("traceparent: \t " TP01 " \t"));
}

/* ---- cases: tracestate ---------------------------------------------------------------------------- */

static void test_w3c_tracestate_without_traceparent(void **state)
{
    (void)state;
    const struct cb *c = one(H("tracestate: foo=1"));
    assert_string_not_equal(get_tp(c).trace, K);
    assert_null(get_ts(c));
    c = one(H("tracestate: foo=1,bar=2"));
    assert_null(get_ts(c));
}

static void test_w3c_tracestate_inherited(void **state)
{
    (void)state;
    const struct cb *c = one(H("traceparent: " TP00, "tracestate: foo=1,bar=2"));
    assert_string_equal(get_tp(c).trace, K);
    assert_string_equal(get_ts(c), "foo=1,bar=2");
    assert_null(get_ts(one(H("traceparent: " TP00, "trace-state: foo=1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "trace.state: foo=1"))));
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "TraceState: foo=1"))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "TrAcEsTaTe: foo=1"))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "TRACESTATE: foo=1"))), "foo=1");
}

static void test_w3c_tracestate_empty(void **state)
{
    (void)state;
    const struct cb *c = one(H("traceparent: " TP00, "tracestate: "));
    assert_string_equal(get_tp(c).trace, K);
    assert_null(get_ts(c));
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", "tracestate: "))),
                        "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: ", "tracestate: foo=1"))),
                        "foo=1");
}

static void test_w3c_tracestate_multiple_headers(void **state)
{
    (void)state;
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1,bar=2",
                                     "tracestate: rojo=1,congo=2", "tracestate: baz=3"))),
                        "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

static void test_w3c_tracestate_duplicated_keys(void **state)
{
    (void)state;
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1,foo=1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1,foo=2"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", "tracestate: foo=1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", "tracestate: foo=2"))));
}

static void test_w3c_tracestate_all_allowed_characters(void **state)
{
    (void)state;
    char key[64] = "", vkey[80], value[128], line[256], want[256];
    size_t n = 0;
    for (char ch = 'a'; ch <= 'z'; ch++)
        key[n++] = ch;
    memcpy(key + n, "0123456789_-*/", 15);
    snprintf(vkey, sizeof vkey, "%s@a-z0-9_-*/", key);
    n = 0;
    for (int ch = 0x20; ch <= 0x7e; ch++)
        if (ch != 0x2c && ch != 0x3d)
            value[n++] = (char)ch;
    value[n] = '\0';
    /* The value ends in '~' but starts with ' ': as the suite does, send
     * it after "key=" so it is inside the member, not leading OWS. */
    snprintf(line, sizeof line, "tracestate: %s=%s", key, value);
    snprintf(want, sizeof want, "%s=%s", key, value);
    assert_string_equal(get_ts(one(H("traceparent: " TP00, line))), want);
    snprintf(line, sizeof line, "tracestate: %s=%s", vkey, value);
    snprintf(want, sizeof want, "%s=%s", vkey, value);
    assert_string_equal(get_ts(one(H("traceparent: " TP00, line))), want);
}

static void test_w3c_tracestate_ows(void **state)
{
    (void)state;
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1 \t , \t bar=2, \t baz=3"))),
                        "foo=1,bar=2,baz=3");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1\t \t,\t \tbar=2,\t \tbaz=3"))),
                        "foo=1,bar=2,baz=3");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate:  foo=1"))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: \tfoo=1"))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1 "))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1\t"))), "foo=1");
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: \t foo=1 \t"))), "foo=1");
}

static void test_w3c_tracestate_illegal_keys(void **state)
{
    (void)state;
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo =1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: FOO=1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo.bar=1"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo@=1,bar=2"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: @foo=1,bar=2"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo@@bar=1,bar=2"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo@bar@baz=1,bar=2"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=bar=baz"))));
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=,bar=3"))));
}

static void test_w3c_tracestate_member_count(void **state)
{
    (void)state;
#define M1 "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10"
#define M2 "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20"
#define M3 "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30"
#define TS1 "tracestate: " M1
#define TS2 "tracestate: " M2
#define TS3 "tracestate: " M3
    const char *ts = get_ts(one(H("traceparent: " TP00, TS1, TS2, TS3, "tracestate: bar31=31,bar32=32")));
    assert_non_null(ts);
    assert_string_equal(ts, M1 "," M2 "," M3 ",bar31=31,bar32=32");
    assert_null(get_ts(one(H("traceparent: " TP00, TS1, TS2, TS3, "tracestate: bar31=31,bar32=32,bar33=33"))));
}

static void test_w3c_tracestate_key_length(void **state)
{
    (void)state;
    char line[600], want[600];
    char key[300];
    memset(key, 'z', 256), key[256] = 0;
    snprintf(line, sizeof line, "tracestate: %s=1", key);
    snprintf(want, sizeof want, "foo=1,%s", line + 12);
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", line))), want);
    memset(key, 'z', 257), key[257] = 0;
    snprintf(line, sizeof line, "tracestate: %s=1", key);
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", line))));
    char t[260], v[20];
    memset(t, 't', 241), t[241] = 0;
    memset(v, 'v', 14), v[14] = 0;
    snprintf(line, sizeof line, "tracestate: %s@%s=1", t, v);
    snprintf(want, sizeof want, "foo=1,%s@%s=1", t, v);
    assert_string_equal(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", line))), want);
    memset(t, 't', 242), t[242] = 0;
    snprintf(line, sizeof line, "tracestate: %s@v=1", t);
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", line))));
    memset(v, 'v', 15), v[15] = 0;
    snprintf(line, sizeof line, "tracestate: t@%s=1", v);
    assert_null(get_ts(one(H("traceparent: " TP00, "tracestate: foo=1", line))));
}

/* ---- cases: several callbacks -------------------------------------------------------------------- */

static void several(const char *const *hdrs, const char *want_trace)
{
    unsigned ids[3];
    make_request(hdrs, 3, ids);
    struct tp t[3];
    for (int i = 0; i < 3; i++)
        t[i] = get_tp(cb_for(ids[i]));
    for (int i = 0; i < 3; i++) {
        assert_string_equal(t[i].trace, t[0].trace); /* one SERVER span: one trace */
        if (want_trace)
            assert_string_equal(t[i].trace, want_trace);
        else
            assert_string_not_equal(t[i].trace, "00000000000000000000000000000000");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(t[i].parent, t[j].parent);
    }
    /* In order: callback i arrived before callback i+1. */
    pthread_mutex_lock(&lock);
    size_t pos[3] = {0};
    for (size_t k = 0; k < ncbs; k++)
        for (int i = 0; i < 3; i++) {
            char path[32];
            snprintf(path, sizeof path, "/cb/%u", ids[i]);
            if (strcmp(cbs[k].path, path) == 0)
                pos[i] = k;
        }
    pthread_mutex_unlock(&lock);
    assert_true(pos[0] < pos[1] && pos[1] < pos[2]);
}

static void test_w3c_multiple_requests(void **state)
{
    (void)state;
    several(H("traceparent: " TP01), K);
    several(NULL, NULL);
    several(H("traceparent: 00-00000000000000000000000000000000-" P "-01"), NULL);
}

/* ---- the service's own interface ------------------------------------------------------------------ */

static void test_w3c_service_rejects(void **state)
{
    (void)state;
    assert_int_equal(raw_post("/test", NULL, "{\"url\": 1}"), 400);
    assert_int_equal(raw_post("/test", NULL, "not json"), 400);
    assert_int_equal(raw_post("/other", NULL, "[]"), 404);
    assert_int_equal(raw_post("/test", NULL, "[]"), 200);
}

static void expect_usage(char *const argv[])
{
    int out, err;
    pid_t pid = spawn(argv, &out, &err, false);
    assert_true(pid > 0);
    char buf[1024];
    read_all(err, buf, sizeof buf, 5000);
    char obuf[64];
    read_all(out, obuf, sizeof obuf, 100);
    close(out), close(err);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(buf, "usage: "));
    assert_string_equal(obuf, "");
}

static void test_w3c_service_usage(void **state)
{
    (void)state;
    expect_usage((char *const[]){(char *)SERVICE, (char *)"--help", NULL});
    expect_usage((char *const[]){(char *)SERVICE, (char *)"--bogus", NULL});
    expect_usage((char *const[]){(char *)SERVICE, (char *)"--port", (char *)"70000", NULL});
    expect_usage((char *const[]){(char *)SERVICE, (char *)"--port", NULL});
}

/* ---- fixture ------------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    cbs_reset();
    return 0;
}

static void kill_service_at_exit(void)
{
    stop_service();
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_service_at_exit);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    harness = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                               NULL, NULL, harness_handler, NULL, MHD_OPTION_SOCK_ADDR,
                               (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!harness)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(harness, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || !di->port)
        return -1;
    harness_port = di->port;
    if (start_service() != 0) {
        fprintf(stderr, "cannot start %s\n", SERVICE);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_service();
    MHD_stop_daemon(harness);
    cbs_reset();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_w3c_both_missing, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_valid, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_duplicated, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_header_name, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_version, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_trace_id, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_parent_id, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_flags, setup),
        cmocka_unit_test_setup(test_w3c_traceparent_ows, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_without_traceparent, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_inherited, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_empty, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_multiple_headers, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_duplicated_keys, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_all_allowed_characters, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_ows, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_illegal_keys, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_member_count, setup),
        cmocka_unit_test_setup(test_w3c_tracestate_key_length, setup),
        cmocka_unit_test_setup(test_w3c_multiple_requests, setup),
        cmocka_unit_test_setup(test_w3c_service_rejects, setup),
        cmocka_unit_test_setup(test_w3c_service_usage, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
