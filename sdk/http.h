/* sdk/http.h — the HTTP transport under the OTLP and Zipkin exporters (one
 * POST per export, on libcurl), and the environment helpers both exporters
 * share. Library-internal: nothing outside sdk/ includes it.
 *
 * Invariant: a stitch__http_post() never outlives its deadline — every
 * attempt and every backoff sleep is cut to the time that remains — and it
 * retries only what the OTLP specification calls retryable (429, 502, 503,
 * 504 and failures to reach the server), never a request the server
 * answered otherwise. */
#ifndef STITCH_SDK_HTTP_H
#define STITCH_SDK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct stitch__http stitch__http_t;

typedef struct stitch__http_opts {
    const char *url;          /* http:// or https://; copied */
    const char *content_type; /* e.g. "application/x-protobuf"; copied */
    const char *const *headers; /* extra "Name: value" lines; copied */
    size_t nheaders;
    bool gzip;                /* compress bodies, send Content-Encoding: gzip */
    const char *what;         /* names the exporter in log lines, e.g. "otlp"; static */
    /* TLS, for https:// URLs (the server is always verified). Paths of PEM
     * files, copied; NULL for none. ca_file replaces the system's CA store;
     * client_cert and client_key go together (mTLS). libcurl reads them on
     * each new connection, so a renewed file is picked up on reconnect. */
    const char *ca_file;
    const char *client_cert;
    const char *client_key;
} stitch__http_opts_t;

/* The outcome of a post. `body` is the final answer's body (at most
 * STITCH__HTTP_MAX_RESPONSE bytes kept), owned by the transport and valid
 * until its next post. */
typedef struct stitch__http_result {
    long status;        /* the last HTTP status seen; 0 when none */
    const uint8_t *body;
    size_t body_len;
    unsigned attempts;  /* requests sent, retries included */
} stitch__http_result_t;

#define STITCH__HTTP_MAX_RESPONSE (64 * 1024)

/* 0 and *out set, STITCH_ENOMEM, or STITCH_EIO when libcurl or zlib cannot
 * be set up (logged). */
int stitch__http_new(stitch__http_t **out, const stitch__http_opts_t *opts);
/* POST `body` and wait for the answer, retrying retryable failures with
 * exponential backoff and jitter (or the server's Retry-After) until
 * `deadline_ns` (stitch__mono_ns() clock). 0 when a 2xx answer came back;
 * STITCH_EIO when the server refused the data (non-retryable status, logged
 * with the start of its body) or could not be reached; STITCH_ETIMEDOUT when
 * the deadline came first; STITCH_ESTATE after stitch__http_cancel();
 * STITCH_ENOMEM/STITCH_ELIMIT when compression had no room. `res` may be
 * NULL. Not thread-safe: one post at a time per transport. */
int stitch__http_post(stitch__http_t *h, const uint8_t *body, size_t len, uint64_t deadline_ns,
                      stitch__http_result_t *res);
/* Make the post in progress (on another thread) and every later one give up
 * at once: in-flight transfers are aborted, backoff sleeps end. Used by the
 * exporters' shutdown. Thread-safe. */
void stitch__http_cancel(stitch__http_t *h);
/* In a forked child: forget the parent's connection without touching it
 * (the socket the parent still uses is neither written to nor shut down)
 * and start afresh on the next post. Safe even when the fork interrupted a
 * post in the parent. */
void stitch__http_after_fork_child(stitch__http_t *h);
void stitch__http_free(stitch__http_t *h);
/* Keep a pointer a forked child abandons (memory a half-finished operation
 * of the parent's thread left in an unknown state) reachable, so that it
 * is neither used nor reported as a leak. Only from a child's exporter
 * thread, which is single. NULL is fine. */
void stitch__http_abandon(void *p);

/* ---- environment helpers shared by the exporters ---- */

/* True for an http:// or https:// URL with a host. */
bool stitch__http_url_ok(const char *url);
/* Whether `path` is a readable file holding at least one PEM block
 * ("-----BEGIN "): 0, or STITCH_EINVAL with the reason in `why` ("cannot
 * open it: No such file or directory", "it holds no PEM block", ...). Only
 * a sanity check at set-up: libcurl parses the file when it connects. */
int stitch__http_pem_check(const char *path, char *why, size_t whylen);
/* The TLS files an application gave in code: 0 when each given file passes
 * stitch__http_pem_check and client_cert and client_key come together;
 * else STITCH_EINVAL, logged as an error naming the `what` exporter. */
int stitch__http_tls_check(const char *what, const char *ca_file, const char *client_cert,
                           const char *client_key);
/* A timeout in ms from variable `name`: true and *out set when the variable
 * holds a positive integer; false when unset, or invalid (logged, naming the
 * variable). */
bool stitch__http_env_timeout(const char *name, uint32_t *out);

#endif
