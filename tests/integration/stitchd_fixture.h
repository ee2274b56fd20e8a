/* tests/integration/stitchd_fixture.h — run a real stitchd for a test:
 * start it on free loopback ports (port 0) with a mkdtemp data directory,
 * learn the bound addresses from its --ready-file, talk HTTP to it with
 * libcurl, stop it (SIGTERM, or SIGKILL for crash tests) and restart it on
 * the same data. Included by test_stitchd*.c. */
#ifndef STITCH_TEST_STITCHD_FIXTURE_H
#define STITCH_TEST_STITCHD_FIXTURE_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef STITCH_BIN_DIR
#define STITCH_BIN_DIR "build/bin"
#endif

#define SD_UNUSED __attribute__((unused))

/* Every stitchd a test started and has not stopped, so a failed test (cmocka
 * jumps out of it) does not leave processes behind: sd_teardown kills them. */
#define SD_MAX_LIVE 16
static pid_t sd_live[SD_MAX_LIVE];

static SD_UNUSED void sd_live_add(pid_t p)
{
    for (int i = 0; i < SD_MAX_LIVE; i++)
        if (!sd_live[i]) {
            sd_live[i] = p;
            return;
        }
}

static SD_UNUSED void sd_live_del(pid_t p)
{
    for (int i = 0; i < SD_MAX_LIVE; i++)
        if (sd_live[i] == p)
            sd_live[i] = 0;
}

/* cmocka teardown: SIGKILL what a failed test left running. */
static SD_UNUSED int sd_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < SD_MAX_LIVE; i++)
        if (sd_live[i]) {
            kill(sd_live[i], SIGKILL);
            waitpid(sd_live[i], NULL, 0);
            sd_live[i] = 0;
        }
    return 0;
}

typedef struct sd {
    char dir[256];       /* data directory (and where the logs go) */
    char otlp[128], zipkin[128], http[128]; /* "127.0.0.1:port" */
    pid_t pid;
    int starts;
} sd_t;

static SD_UNUSED double sd_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static SD_UNUSED void sd_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Run stitchd with `args` (NULL-terminated) plus the test's own, wait for
 * the ready file. 0, or -1 when it exited or did not get ready in 20 s. */
static SD_UNUSED int sd_start_args(sd_t *s, const char *const *extra)
{
    char ready[300], log[300];
    snprintf(ready, sizeof ready, "%s/ready", s->dir);
    snprintf(log, sizeof log, "%s/stitchd-%d.log", s->dir, s->starts++);
    unlink(ready);
    const char *argv[48];
    int n = 0;
    argv[n++] = STITCH_BIN_DIR "/stitchd";
    argv[n++] = "--data";
    argv[n++] = s->dir;
    argv[n++] = "--otlp-http";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--zipkin";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--http";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    for (; extra && *extra && n < 46; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    sd_live_add(pid);
    double deadline = sd_now() + 20;
    while (sd_now() < deadline) {
        FILE *f = fopen(ready, "r");
        if (f) {
            char line[128];
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                if (!strncmp(line, "otlp-http=", 10))
                    snprintf(s->otlp, sizeof s->otlp, "%s", line + 10);
                else if (!strncmp(line, "zipkin=", 7))
                    snprintf(s->zipkin, sizeof s->zipkin, "%s", line + 7);
                else if (!strncmp(line, "http=", 5))
                    snprintf(s->http, sizeof s->http, "%s", line + 5);
            }
            fclose(f);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            sd_live_del(pid);
            s->pid = 0;
            return -1;
        }
        sd_sleep_ms(5);
    }
    return -1;
}

static SD_UNUSED int sd_start(sd_t *s)
{
    return sd_start_args(s, NULL);
}

/* A fresh data directory and a started stitchd. */
static SD_UNUSED int sd_new(sd_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/stitchd-test-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    return sd_start(s);
}

/* Send `sig`, wait up to `secs`; the exit status (or 128+signal), -1 on
 * timeout (the process is then killed). *took gets the seconds it took. */
static SD_UNUSED int sd_stop(sd_t *s, int sig, double secs, double *took)
{
    if (!s->pid)
        return -1;
    double t0 = sd_now();
    sd_live_del(s->pid);
    kill(s->pid, sig);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (sd_now() - t0 > secs) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            s->pid = 0;
            return -1;
        }
        sd_sleep_ms(2);
    }
    s->pid = 0;
    if (took)
        *took = sd_now() - t0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static SD_UNUSED void sd_rm_rf(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
}

/* Stop (SIGTERM), remove the data directory unless KEEP_STITCHD_DATA is set. */
static SD_UNUSED void sd_free(sd_t *s)
{
    if (s->pid)
        sd_stop(s, SIGTERM, 20, NULL);
    if (!getenv("KEEP_STITCHD_DATA"))
        sd_rm_rf(s->dir);
}

/* Run stitchd to completion with args (NULL-terminated; at most 14): its
 * exit status (-1 when killed), stdout and stderr together in out. For
 * flag and config checks, where stitchd exits at once. */
static SD_UNUSED int sd_run(const char *const *args, char *out, size_t outlen)
{
    char tmpl[] = "/tmp/stitchd-run-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        const char *argv[16] = {STITCH_BIN_DIR "/stitchd"};
        int n = 1;
        for (; *args && n < 15; args++)
            argv[n++] = *args;
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ssize_t k = pread(fd, out, outlen - 1, 0);
    out[k > 0 ? k : 0] = 0;
    close(fd);
    unlink(tmpl);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- HTTP -------------------------------------------------------------------------- */

typedef struct sd_resp {
    long status;
    char *body;  /* NUL-terminated, malloc'd */
    size_t len;
    char headers[2048];
} sd_resp_t;

static size_t sd_write_cb(char *p, size_t sz, size_t n, void *arg)
{
    sd_resp_t *r = arg;
    size_t k = sz * n;
    char *nb = realloc(r->body, r->len + k + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, k);
    r->body = nb;
    r->len += k;
    r->body[r->len] = 0;
    return k;
}

static size_t sd_header_cb(char *p, size_t sz, size_t n, void *arg)
{
    sd_resp_t *r = arg;
    size_t k = sz * n, l = strlen(r->headers);
    if (l + k + 1 < sizeof r->headers) {
        memcpy(r->headers + l, p, k);
        r->headers[l + k] = 0;
    }
    return k;
}

typedef struct sd_chunked {
    const uint8_t *p;
    size_t len, pos, step;
} sd_chunked_t;

static size_t sd_read_cb(char *buf, size_t sz, size_t n, void *arg)
{
    sd_chunked_t *c = arg;
    size_t k = sz * n;
    if (k > c->step)
        k = c->step;
    if (k > c->len - c->pos)
        k = c->len - c->pos;
    memcpy(buf, c->p + c->pos, k);
    c->pos += k;
    return k;
}

/* One request. `headers` NULL-terminated ("Name: value"); `body` may be
 * NULL. chunked: send the body with Transfer-Encoding: chunked in pieces
 * of 1000 bytes. The response's body is in r (free with sd_resp_free).
 * Returns the HTTP status, or -1 when the request failed. */
static SD_UNUSED long sd_http_ex(CURL *h, const char *method, const char *url,
                                 const char *const *headers, const void *body, size_t len,
                                 bool chunked, sd_resp_t *r)
{
    memset(r, 0, sizeof *r);
    bool own = !h;
    if (own)
        h = curl_easy_init();
    else
        curl_easy_reset(h);
    struct curl_slist *hl = NULL;
    for (; headers && *headers; headers++)
        hl = curl_slist_append(hl, *headers);
    hl = curl_slist_append(hl, "Expect:");
    sd_chunked_t ck = {body, len, 0, 1000};
    if (chunked)
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sd_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sd_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body && chunked) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, sd_read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, &ck);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    else
        r->status = -1;
    curl_slist_free_all(hl);
    if (own)
        curl_easy_cleanup(h);
    if (!r->body) {
        r->body = calloc(1, 1);
        r->len = 0;
    }
    return r->status;
}

static SD_UNUSED long sd_http(const char *method, const char *url, const char *const *headers,
                              const void *body, size_t len, sd_resp_t *r)
{
    return sd_http_ex(NULL, method, url, headers, body, len, false, r);
}

static SD_UNUSED void sd_resp_free(sd_resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* GET http://addr/path; the status. */
static SD_UNUSED long sd_get(const char *addr, const char *path, sd_resp_t *r)
{
    char url[600];
    snprintf(url, sizeof url, "http://%s%s", addr, path);
    return sd_http("GET", url, NULL, NULL, 0, r);
}

#endif
