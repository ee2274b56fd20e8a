/* sdk/http.c — the HTTP transport of the OTLP and Zipkin exporters: one
 * libcurl easy handle per exporter, reused so the connection stays alive,
 * an optional gzip step into a reused buffer, and the retry policy of the
 * OTLP specification ("Retryable Response Codes", "OTLP/HTTP Throttling").
 *
 * Retry policy: only 429, 502, 503, 504 and failures to reach the server
 * (resolve, connect, send, receive, an attempt cut by its timeout while the
 * export still has time) are retried; anything else the server answered is
 * final. Waits grow exponentially with jitter (1 s, x1.5, at most 5 s,
 * +-20%, like the OpenTelemetry Java exporter's defaults), at most
 * MAX_ATTEMPTS requests; a Retry-After on 429/503 replaces the computed
 * wait. Invariant: no attempt and no wait extends past the export's
 * deadline — when the next wait would, the export gives up right away, so
 * the caller (the batch processor's thread) gets control back early.
 *
 * TLS: an https:// server is always verified (peer and host name), against
 * the CA file given or else the system's store; there is no switch to turn
 * verification off. Failing TLS set-ups (an untrusted or mismatched server
 * certificate, an unreadable client key) are not retried: they do not heal
 * by waiting. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sdk/http.h"
#include "sdk/internal.h"
#include "wire/wire.h"

#define MAX_ATTEMPTS 5
#define BACKOFF_INITIAL_MS 1000.0
#define BACKOFF_MULTIPLIER 1.5
#define BACKOFF_MAX_MS 5000.0
#define BACKOFF_JITTER 0.2
#define GZIP_MAX (96u * 1024 * 1024)     /* compressed body bound (inputs are <= 64 MB) */
#define LOG_INTERVAL_NS (30ull * 1000000000ull) /* repeated failures: one line per interval */
#define BODY_SNIPPET 200                  /* bytes of a refusal's body put in the log */

struct stitch__http {
    CURL *curl;               /* NULL until the first post (and after a fork) */
    struct curl_slist *hdrs;
    char *url;
    char *ca_file, *client_cert, *client_key; /* NULL: none */
    const char *what;
    bool gzip;
    bool z_ok;
    z_stream z;               /* deflate state, reset per body */
    stitch_buf_t zbuf;        /* the compressed body */
    stitch_buf_t resp;        /* the answer's body (first STITCH__HTTP_MAX_RESPONSE bytes) */
    atomic_bool cancel;
    atomic_bool busy;         /* inside a post: a fork now leaves the handle mid-transfer */
    pthread_mutex_t mu;       /* with cv: the interruptible backoff sleep */
    pthread_cond_t cv;
    uint64_t rng;             /* jitter */
    uint64_t log_next_ns;     /* rate limit of failure lines */
    uint64_t log_suppressed;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- libcurl set-up ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    stitch__http_t *h = arg;
    size_t n = size * nmemb;
    size_t room = STITCH__HTTP_MAX_RESPONSE - h->resp.len;
    /* Past the cap the rest is read and discarded: the connection stays usable. */
    if (room && stitch_buf_append(&h->resp, p, n < room ? n : room) != 0)
        return 0; /* out of memory: abort this transfer */
    return n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    stitch__http_t *h = arg;
    return atomic_load_explicit(&h->cancel, memory_order_relaxed) ? 1 : 0;
}

static int make_handle(stitch__http_t *h)
{
    CURL *c = curl_easy_init();
    if (!c)
        return STITCH_ENOMEM;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, h->url);
    SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for resolver timeouts: we run on any thread */
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_HTTPHEADER, h->hdrs);
    SET(CURLOPT_USERAGENT, "stitch/" STITCH_VERSION_STRING " (C; OTLP and Zipkin exporter)");
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, h);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, h);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_ERRORBUFFER, h->errbuf);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* a gzip-compressed answer is decoded by curl */
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_MAXCONNECTS, 1L);     /* one endpoint: one connection to keep */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_SSL_VERIFYPEER, 1L); /* libcurl's defaults, stated: never off */
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file) {
        SET(CURLOPT_CAINFO, h->ca_file);
        SET(CURLOPT_CAPATH, (char *)NULL); /* the given CAs only, not the system's too */
    }
    if (h->client_cert) {
        SET(CURLOPT_SSLCERT, h->client_cert);
        SET(CURLOPT_SSLKEY, h->client_key);
    }
#undef SET
    if (rc != CURLE_OK) {
        stitch__log(STITCH_LOG_ERROR, "%s exporter: libcurl set-up failed: %s", h->what,
                    curl_easy_strerror(rc));
        curl_easy_cleanup(c);
        return STITCH_EIO;
    }
    h->curl = c;
    return STITCH_OK;
}

static int append_header(stitch__http_t *h, const char *line)
{
    struct curl_slist *n = curl_slist_append(h->hdrs, line);
    if (!n)
        return STITCH_ENOMEM;
    h->hdrs = n;
    return STITCH_OK;
}

int stitch__http_new(stitch__http_t **out, const stitch__http_opts_t *o)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        stitch__log(STITCH_LOG_ERROR, "%s exporter: curl_global_init failed: %s", o->what,
                    curl_easy_strerror(global_rc));
        return STITCH_EIO;
    }
    stitch__http_t *h = calloc(1, sizeof *h);
    if (!h)
        return STITCH_ENOMEM;
    h->what = o->what ? o->what : "http";
    h->gzip = o->gzip;
    h->zbuf = (stitch_buf_t)STITCH_BUF_INIT(GZIP_MAX);
    h->resp = (stitch_buf_t)STITCH_BUF_INIT(STITCH__HTTP_MAX_RESPONSE);
    h->rng = (uint64_t)stitch__mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)h;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = STITCH_OK;
    char ct[256];
    int n = snprintf(ct, sizeof ct, "Content-Type: %s", o->content_type);
    if (!(h->url = strdup(o->url)) || (o->ca_file && !(h->ca_file = strdup(o->ca_file))) ||
        (o->client_cert && !(h->client_cert = strdup(o->client_cert))) ||
        (o->client_key && !(h->client_key = strdup(o->client_key))))
        rc = STITCH_ENOMEM;
    else if (!h->client_cert != !h->client_key)
        rc = STITCH_EINVAL; /* the callers check; a half pair would fail every handshake */
    else if (n < 0 || (size_t)n >= sizeof ct)
        rc = STITCH_EINVAL;
    else
        rc = append_header(h, ct);
    /* Expect: 100-continue would cost a round trip on large batches. */
    if (!rc)
        rc = append_header(h, "Expect:");
    if (!rc && h->gzip)
        rc = append_header(h, "Content-Encoding: gzip");
    for (size_t i = 0; !rc && i < o->nheaders; i++)
        rc = append_header(h, o->headers[i]);
    if (!rc && h->gzip) {
        /* windowBits 15 + 16: a gzip wrapper rather than zlib's. Level 1:
         * measured with bench_pipeline --gzip, zlib's default level (6) cost
         * ~2 µs of exporter CPU per span and capped the pipeline near 500k
         * spans/s; span batches are repetitive enough that level 1 keeps
         * most of the ratio. */
        if (deflateInit2(&h->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            stitch__log(STITCH_LOG_ERROR, "%s exporter: zlib deflateInit2 failed", h->what);
            rc = STITCH_EIO;
        } else {
            h->z_ok = true;
        }
    }
    if (!rc)
        rc = make_handle(h);
    if (rc) {
        stitch__http_free(h);
        return rc;
    }
    *out = h;
    return STITCH_OK;
}

void stitch__http_free(stitch__http_t *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->hdrs);
    if (h->z_ok)
        deflateEnd(&h->z);
    stitch_buf_free(&h->zbuf);
    stitch_buf_free(&h->resp);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->ca_file);
    free(h->client_cert);
    free(h->client_key);
    free(h);
}

void stitch__http_cancel(stitch__http_t *h)
{
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->cancel, true);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void *abandoned[32];
static size_t nabandoned;

void stitch__http_abandon(void *p)
{
    if (p && nabandoned < sizeof abandoned / sizeof abandoned[0])
        abandoned[nabandoned++] = p;
}

void stitch__http_after_fork_child(stitch__http_t *h)
{
    /* The parent's exporter thread may have held the lock at fork time. */
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->rng ^= (uint64_t)getpid() << 17;
    h->log_next_ns = 0;
    h->log_suppressed = 0;
    if (atomic_load(&h->busy)) {
        /* The fork caught a post in the middle (libcurl's locks and
         * resolver state, a buffer being grown): nothing it was using can be
         * trusted. Abandon the handle and the buffers; the child loses a
         * little memory and keeps one inherited descriptor. */
        stitch__http_abandon(h->curl);
        stitch__http_abandon(h->resp.data);
        stitch__http_abandon(h->zbuf.data);
        h->curl = NULL;
        h->resp = (stitch_buf_t)STITCH_BUF_INIT(STITCH__HTTP_MAX_RESPONSE);
        h->zbuf = (stitch_buf_t)STITCH_BUF_INIT(GZIP_MAX);
        atomic_store(&h->busy, false);
        return;
    }
    stitch_buf_reset(&h->resp);
    if (!h->curl)
        return;
    /* curl_easy_cleanup would close the kept-alive connection, and for TLS
     * first write a close_notify on the socket the parent still uses. Point
     * the child's copy of that descriptor at /dev/null first, so whatever
     * the clean-up writes goes nowhere and the parent's stream is intact.
     * (Closing the child's descriptor alone sends nothing: the parent
     * still holds the socket.) */
    curl_socket_t s = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(h->curl, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK && s != CURL_SOCKET_BAD) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            if (dup2(nul, s) < 0) {
                /* leave the handle behind rather than risk the parent's stream */
                close(nul);
                stitch__http_abandon(h->curl);
                h->curl = NULL;
                return;
            }
            close(nul);
        }
    }
    curl_easy_cleanup(h->curl);
    h->curl = NULL;
}

/* ---- the pieces of a post ---- */

static double rand01(stitch__http_t *h)
{
    /* splitmix64: jitter only needs to spread clients apart */
    uint64_t z = (h->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* Sleep until `until_ns` (monotonic), or less when cancelled. */
static void sleep_until(stitch__http_t *h, uint64_t until_ns)
{
    struct timespec ts;
    pthread_mutex_lock(&h->mu);
    while (!atomic_load(&h->cancel)) {
        uint64_t now = stitch__mono_ns();
        if (now >= until_ns)
            break;
        /* stitch__mono_ns() is CLOCK_MONOTONIC-based; convert the wait to
         * an absolute time on that clock */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t left = until_ns - now;
        ts.tv_sec += (time_t)(left / 1000000000ull);
        ts.tv_nsec += (long)(left % 1000000000ull);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
    }
    pthread_mutex_unlock(&h->mu);
}

/* Gzip `len` bytes of `body` into h->zbuf. */
static int compress_body(stitch__http_t *h, const uint8_t *body, size_t len)
{
    if (len > UINT32_MAX || deflateReset(&h->z) != Z_OK)
        return STITCH_ELIMIT;
    uLong bound = deflateBound(&h->z, (uLong)len);
    stitch_buf_reset(&h->zbuf);
    int rc = stitch_buf_reserve(&h->zbuf, bound);
    if (rc)
        return rc;
    h->z.next_in = (Bytef *)(uintptr_t)body;
    h->z.avail_in = (uInt)len;
    h->z.next_out = h->zbuf.data;
    h->z.avail_out = (uInt)bound;
    if (deflate(&h->z, Z_FINISH) != Z_STREAM_END)
        return STITCH_EIO;
    h->zbuf.len = bound - h->z.avail_out;
    return STITCH_OK;
}

/* A failure line, at most one per LOG_INTERVAL_NS (a collector that is down
 * would otherwise produce one per batch), saying how many were held back. */
static void log_failure(stitch__http_t *h, const char *fmt, ...) STITCH_PRINTF(2, 3);
static void log_failure(stitch__http_t *h, const char *fmt, ...)
{
    uint64_t now = stitch__mono_ns();
    if (h->log_next_ns && now < h->log_next_ns) {
        h->log_suppressed++;
        return;
    }
    h->log_next_ns = now + LOG_INTERVAL_NS;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (h->log_suppressed)
        stitch__log(STITCH_LOG_ERROR, "%s (and %llu similar failures before)", msg,
                    (unsigned long long)h->log_suppressed);
    else
        stitch__log(STITCH_LOG_ERROR, "%s", msg);
    h->log_suppressed = 0;
}

/* The start of a body as printable text for a log line. */
static void snippet(const stitch_buf_t *b, char *out, size_t outlen)
{
    size_t n = b->len < outlen - 1 ? b->len : outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b->data[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    out[n] = '\0';
}

static bool retryable_status(long s)
{
    return s == 429 || s == 502 || s == 503 || s == 504;
}

static bool retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: /* a kept-alive connection the server had closed */
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

/* For a TLS failure, what the user can do about it (" (…)"), else "". */
static void tls_hint(const stitch__http_t *h, CURLcode cc, char *out, size_t outlen)
{
    out[0] = '\0';
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
        if (h->ca_file)
            snprintf(out, outlen, " (the server's certificate was checked against the CA file "
                     "%s, and the host name against the URL)", h->ca_file);
        else
            snprintf(out, outlen, " (the server's certificate was checked against the system's "
                     "CA store; for a private CA set the exporter's CA file%s)",
                     strcmp(h->what, "otlp") == 0 ? ", e.g. OTEL_EXPORTER_OTLP_CERTIFICATE" : "");
        break;
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(out, outlen, " (cannot use the CA file %s)", h->ca_file ? h->ca_file : "(system)");
        break;
    case CURLE_SSL_CERTPROBLEM:
        snprintf(out, outlen, " (cannot use the client certificate %s with key %s)",
                 h->client_cert ? h->client_cert : "-", h->client_key ? h->client_key : "-");
        break;
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(out, outlen, " (the TLS handshake failed%s)",
                 h->client_cert ? "; the server may have refused the client certificate"
                                : "; the server may require a client certificate");
        break;
    default:
        break;
    }
}

static int post(stitch__http_t *h, const uint8_t *body, size_t len, uint64_t deadline_ns,
                stitch__http_result_t *res);

int stitch__http_post(stitch__http_t *h, const uint8_t *body, size_t len, uint64_t deadline_ns,
                      stitch__http_result_t *res)
{
    stitch__http_result_t dummy;
    if (!res)
        res = &dummy;
    *res = (stitch__http_result_t){0, NULL, 0, 0};
    atomic_store(&h->busy, true);
    int rc = post(h, body, len, deadline_ns, res);
    atomic_store(&h->busy, false);
    return rc;
}

static int post(stitch__http_t *h, const uint8_t *body, size_t len, uint64_t deadline_ns,
                stitch__http_result_t *res)
{
    stitch_buf_reset(&h->resp);
    if (atomic_load(&h->cancel))
        return STITCH_ESTATE;
    if (h->gzip) {
        int rc = compress_body(h, body, len);
        if (rc) {
            stitch__log(STITCH_LOG_ERROR, "%s exporter: cannot gzip a %zu-byte body: %s", h->what,
                        len, stitch_strerror(rc));
            return rc;
        }
        body = h->zbuf.data;
        len = h->zbuf.len;
    }
    if (!h->curl) {
        int rc = make_handle(h);
        if (rc)
            return rc;
    }
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);

    char why[CURL_ERROR_SIZE + 64] = "";
    for (unsigned attempt = 1;; attempt++) {
        uint64_t now = stitch__mono_ns();
        if (now >= deadline_ns) {
            log_failure(h, "%s exporter: export to %s timed out after %u attempt(s)%s%s", h->what,
                        h->url, attempt - 1, why[0] ? "; last: " : "", why);
            return STITCH_ETIMEDOUT;
        }
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(left_ms > LONG_MAX ? LONG_MAX : left_ms));
        stitch_buf_reset(&h->resp);
        h->errbuf[0] = '\0';
        CURLcode cc = curl_easy_perform(h->curl);
        res->attempts = attempt;
        long status = 0;
        curl_off_t retry_after = -1;
        if (cc == CURLE_OK) {
            curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
            res->status = status;
            res->body = h->resp.data;
            res->body_len = h->resp.len;
            if (status >= 200 && status < 300) {
                h->log_next_ns = 0; /* the next failure is news again */
                return STITCH_OK;
            }
            if (!retryable_status(status)) {
                char snip[BODY_SNIPPET + 1];
                snippet(&h->resp, snip, sizeof snip);
                log_failure(h, "%s exporter: %s answered %ld; the data is dropped (not retryable): %s",
                            h->what, h->url, status, snip[0] ? snip : "(empty body)");
                return STITCH_EIO;
            }
            /* curl parses both forms (delta-seconds, HTTP-date); 0 = absent */
            if ((status == 429 || status == 503) &&
                (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &retry_after) != CURLE_OK ||
                 retry_after <= 0))
                retry_after = -1;
            snprintf(why, sizeof why, "HTTP %ld", status);
        } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
            return STITCH_ESTATE; /* cancelled by shutdown */
        } else if (!retryable_curl(cc)) {
            char hint[300];
            tls_hint(h, cc, hint, sizeof hint);
            log_failure(h, "%s exporter: POST %s failed: %s%s", h->what, h->url,
                        h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc), hint);
            return STITCH_EIO;
        } else {
            snprintf(why, sizeof why, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
        }
        if (attempt >= MAX_ATTEMPTS) {
            log_failure(h, "%s exporter: export to %s failed after %u attempts; last: %s", h->what,
                        h->url, attempt, why);
            return STITCH_EIO;
        }
        double wait_ms;
        if (retry_after >= 0) {
            wait_ms = (double)retry_after * 1000.0;
        } else {
            wait_ms = BACKOFF_INITIAL_MS;
            for (unsigned i = 1; i < attempt && wait_ms < BACKOFF_MAX_MS; i++)
                wait_ms *= BACKOFF_MULTIPLIER;
            if (wait_ms > BACKOFF_MAX_MS)
                wait_ms = BACKOFF_MAX_MS;
            wait_ms *= 1.0 - BACKOFF_JITTER + 2.0 * BACKOFF_JITTER * rand01(h);
        }
        now = stitch__mono_ns();
        uint64_t wait_ns = (uint64_t)(wait_ms * 1e6);
        if (now >= deadline_ns || wait_ns >= deadline_ns - now) {
            log_failure(h, "%s exporter: export to %s gave up after %u attempt(s): %s; the next "
                        "retry (in %.1f s) would pass the export timeout", h->what, h->url, attempt,
                        why, wait_ms / 1000.0);
            return STITCH_ETIMEDOUT;
        }
        stitch__log(STITCH_LOG_DEBUG, "%s exporter: %s; retrying in %.1f s", h->what, why,
                    wait_ms / 1000.0);
        sleep_until(h, now + wait_ns);
        if (atomic_load(&h->cancel))
            return STITCH_ESTATE;
    }
}

/* ---- environment helpers ---- */

bool stitch__http_url_ok(const char *url)
{
    size_t skip;
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    const char *host = url + skip;
    if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#')
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

int stitch__http_pem_check(const char *path, char *why, size_t whylen)
{
    /* O_NONBLOCK: a FIFO must not hang the set-up; only regular files pass */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open it: %s", strerror(errno));
        return STITCH_EINVAL;
    }
    struct stat st = {0};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "cannot read it: %s",
                 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
        close(fd);
        return STITCH_EINVAL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read it: %s", strerror(errno));
        close(fd);
        return STITCH_EINVAL;
    }
    /* look for "-----BEGIN " anywhere, across read boundaries, in the first
     * 16 MiB (a CA bundle is well under 1 MiB) */
    static const char mark[] = "-----BEGIN ";
    size_t matched = 0, seen = 0;
    bool found = false;
    int c;
    errno = 0;
    while (!found && seen++ < (16u << 20) && (c = getc(f)) != EOF) {
        if (c == mark[matched])
            matched++;
        else
            matched = c != '-' ? 0 : matched == 5 ? 5 : 1; /* a longer run of dashes */
        found = matched == sizeof mark - 1;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) { /* e.g. EISDIR */
        snprintf(why, whylen, "cannot read it: %s", strerror(err));
        return STITCH_EINVAL;
    }
    if (!found) {
        snprintf(why, whylen, "it holds no PEM block (\"-----BEGIN ...\")");
        return STITCH_EINVAL;
    }
    return STITCH_OK;
}

int stitch__http_tls_check(const char *what, const char *ca_file, const char *client_cert,
                           const char *client_key)
{
    const char *names[] = {"CA file", "client certificate", "client key"};
    const char *paths[] = {ca_file, client_cert, client_key};
    for (int i = 0; i < 3; i++) {
        char why[200];
        if (paths[i] && stitch__http_pem_check(paths[i], why, sizeof why) != STITCH_OK) {
            stitch__log(STITCH_LOG_ERROR, "%s exporter: %s %s: %s", what, names[i], paths[i], why);
            return STITCH_EINVAL;
        }
    }
    if (!client_cert != !client_key) {
        stitch__log(STITCH_LOG_ERROR, "%s exporter: a client %s without a client %s; mutual TLS "
                    "needs both", what, client_cert ? "certificate" : "key",
                    client_cert ? "key" : "certificate");
        return STITCH_EINVAL;
    }
    return STITCH_OK;
}

bool stitch__http_env_timeout(const char *name, uint32_t *out)
{
    const char *s = stitch__getenv(name);
    if (!s)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || s[0] < '0' || s[0] > '9' || v == 0 || v > UINT32_MAX) {
        stitch__log(STITCH_LOG_WARN, "%s=\"%s\" is not a timeout in milliseconds; ignoring it",
                    name, s);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}
