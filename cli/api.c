/* cli/api.c — the query commands' HTTP client: libcurl for one GET,
 * jansson for the answer. Invariant: bodies are read into a bounded buffer
 * (a trace of 50,000 spans is ~30 MB of JSON; 512 MiB is refused), and every
 * failure is one line on stderr. A token goes only to the --server URL
 * (redirects are not followed), and https servers are always verified. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/api.h"
#include "cli/cli.h"

#define MAX_BODY ((size_t)512 << 20)

void cli_common_init(cli_common_t *c)
{
    const char *env = getenv("STITCH_SERVER");
    c->server = env && *env ? env : CLI_DEFAULT_SERVER;
    c->json = false;
    c->color = -1;
    const char *tok = getenv("STITCH_TOKEN");
    c->token = tok && *tok ? tok : NULL;
    c->token_from = "STITCH_TOKEN";
    const char *ca = getenv("STITCH_CACERT");
    c->cacert = ca && *ca ? ca : NULL;
}

/* A token must fit in one header line. NULL when fine, else why not. */
static const char *token_problem(const char *t)
{
    if (!*t)
        return "is empty";
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return *p == '\n' ? "spans more than one line" : "holds a control character";
    return NULL;
}

/* --token-file: the file's content, surrounding whitespace and the final
 * newline dropped. 0, or -1 after printing why. */
static int read_token_file(cli_common_t *c, const char *cmd, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "stitch %s: cannot read --token-file %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    size_t n = fread(c->token_buf, 1, sizeof c->token_buf, f);
    bool err = ferror(f) != 0;
    int e = errno;
    fclose(f);
    if (err) {
        fprintf(stderr, "stitch %s: cannot read --token-file %s: %s\n", cmd, path, strerror(e));
        return -1;
    }
    if (n == sizeof c->token_buf) {
        fprintf(stderr, "stitch %s: --token-file %s is over %d bytes; is it a token?\n", cmd, path,
                CLI_TOKEN_MAX - 1);
        return -1;
    }
    c->token_buf[n] = '\0';
    char *b = c->token_buf, *e2 = c->token_buf + n;
    while (b < e2 && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'))
        b++;
    while (e2 > b && (e2[-1] == ' ' || e2[-1] == '\t' || e2[-1] == '\n' || e2[-1] == '\r'))
        e2--;
    *e2 = '\0';
    const char *why = token_problem(b);
    if (why) {
        fprintf(stderr, "stitch %s: the token in --token-file %s %s\n", cmd, path, why);
        return -1;
    }
    c->token = b;
    c->token_from = "--token-file";
    return 0;
}

int cli_common_option(cli_common_t *c, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--json")) {
        c->json = true;
        return 1;
    }
    if (!strcmp(a, "--server") || !strncmp(a, "--server=", 9) || !strcmp(a, "--color") ||
        !strncmp(a, "--color=", 8) || !strcmp(a, "--token-file") ||
        !strncmp(a, "--token-file=", 13) || !strcmp(a, "--cacert") || !strncmp(a, "--cacert=", 9)) {
        const char *eq = strchr(a, '=');
        const char *v;
        if (eq)
            v = eq + 1;
        else if (*i + 1 < argc)
            v = argv[++*i];
        else {
            fprintf(stderr, "stitch %s: %s needs a value\n", cmd, a);
            return -1;
        }
        if (!strncmp(a, "--token-file", 12))
            return read_token_file(c, cmd, v) ? -1 : 1;
        if (!strncmp(a, "--cacert", 8)) {
            if (access(v, R_OK) != 0) {
                fprintf(stderr, "stitch %s: cannot read --cacert %s: %s\n", cmd, v, strerror(errno));
                return -1;
            }
            c->cacert = v;
            return 1;
        }
        if (!strncmp(a, "--server", 8)) {
            if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
                fprintf(stderr, "stitch %s: --server wants an http:// or https:// URL, not '%s'\n",
                        cmd, v);
                return -1;
            }
            c->server = v;
        } else if (!strcmp(v, "auto")) {
            c->color = -1;
        } else if (!strcmp(v, "always")) {
            c->color = 1;
        } else if (!strcmp(v, "never")) {
            c->color = 0;
        } else {
            fprintf(stderr, "stitch %s: --color wants auto, always or never, not '%s'\n", cmd, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

bool cli_use_color(const cli_common_t *c)
{
    if (c->color >= 0)
        return c->color == 1;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb"))
        return false;
    return isatty(STDOUT_FILENO);
}

struct body {
    char *p;
    size_t n, cap;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->n + n + 1 > MAX_BODY) {
        b->too_big = true;
        return 0;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

/* For a TLS failure, what to do about it. */
static const char *tls_hint(const cli_common_t *c, CURLcode rc)
{
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
        return c->cacert ? " (stitchd's certificate was checked against --cacert)"
                         : " (for a certificate from a private CA, pass --cacert FILE)";
    if (rc == CURLE_SSL_CACERT_BADFILE)
        return " (cannot use the --cacert file)";
    return "";
}

json_t *cli_api_get(const cli_common_t *c, const char *cmd, const char *path, long *status)
{
    size_t slen = strlen(c->server);
    while (slen && c->server[slen - 1] == '/')
        slen--;
    size_t ulen = slen + strlen(path) + 1;
    char *url = malloc(ulen);
    CURL *h = curl_easy_init();
    if (!url || !h) {
        fprintf(stderr, "stitch %s: out of memory\n", cmd);
        free(url);
        curl_easy_cleanup(h);
        return NULL;
    }
    memcpy(url, c->server, slen);
    strcpy(url + slen, path);

    *status = 0;
    const char *why = c->token ? token_problem(c->token) : NULL;
    if (why) { /* only $STITCH_TOKEN gets here unchecked */
        fprintf(stderr, "stitch %s: the token in %s %s\n", cmd, c->token_from, why);
        *status = CLI_STATUS_USAGE;
        free(url);
        curl_easy_cleanup(h);
        return NULL;
    }
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    if (c->token) {
        size_t alen = strlen(c->token) + sizeof "Authorization: Bearer ";
        auth = malloc(alen);
        if (auth)
            snprintf(auth, alen, "Authorization: Bearer %s", c->token);
        struct curl_slist *l = auth ? curl_slist_append(NULL, auth) : NULL;
        if (!l) {
            fprintf(stderr, "stitch %s: out of memory\n", cmd);
            free(auth);
            free(url);
            curl_easy_cleanup(h);
            return NULL;
        }
        hdrs = l;
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    }
    if (c->cacert) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
        curl_easy_setopt(h, CURLOPT_CAPATH, (char *)NULL); /* that CA only */
    }
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");

    struct body b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "stitch-cli");
    CURLcode rc = curl_easy_perform(h);
    json_t *out = NULL;
    if (rc != CURLE_OK) {
        if (b.too_big)
            fprintf(stderr, "stitch %s: the answer from %s is over %zu MiB\n", cmd, url,
                    MAX_BODY >> 20);
        else
            fprintf(stderr, "stitch %s: cannot reach stitchd at %s: %s%s\n", cmd, c->server,
                    errbuf[0] ? errbuf : curl_easy_strerror(rc), tls_hint(c, rc));
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (*status == 401 || *status == 403) {
        json_t *eb = json_loadb(b.p ? b.p : "", b.n, 0, NULL);
        const char *msg = eb ? cli_api_error(eb) : NULL;
        if (*status == 403)
            fprintf(stderr, "stitch %s: stitchd refused the request: forbidden (HTTP 403)%s%s\n",
                    cmd, msg ? ": " : "", msg ? msg : "");
        else if (!c->token)
            fprintf(stderr, "stitch %s: stitchd refused the request: unauthorized — pass "
                    "--token-file or STITCH_TOKEN\n", cmd);
        else
            fprintf(stderr, "stitch %s: stitchd refused the request: unauthorized — it did not "
                    "accept the token from %s\n", cmd, c->token_from);
        json_decref(eb);
        goto done;
    }
    json_error_t jerr;
    out = json_loadb(b.p ? b.p : "", b.n, 0, &jerr);
    if (!out)
        fprintf(stderr, "stitch %s: %s answered HTTP %ld that is not JSON (%s)\n", cmd, url,
                *status, jerr.text);
done:
    free(b.p);
    free(url);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(auth);
    return out;
}

int cli_api_exit_code(long status)
{
    if (status == 401 || status == 403)
        return CLI_DENIED;
    return status == CLI_STATUS_USAGE ? CLI_USAGE : CLI_ERROR;
}

const char *cli_api_error(const json_t *body)
{
    json_t *errs = json_object_get(body, "errors");
    json_t *first = json_array_get(errs, 0);
    const char *msg = json_string_value(json_object_get(first, "msg"));
    if (msg)
        return msg;
    /* the v3 / plain shapes */
    json_t *e = json_object_get(body, "error");
    if (json_is_string(e))
        return json_string_value(e);
    return json_string_value(json_object_get(e, "message"));
}

char *cli_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
