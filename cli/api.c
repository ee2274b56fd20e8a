/* cli/api.c — the query commands' HTTP client: libcurl for one GET,
 * jansson for the answer. Invariant: bodies are read into a bounded buffer
 * (a trace of 50,000 spans is ~30 MB of JSON; 512 MiB is refused), and every
 * failure is one line on stderr. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/api.h"

#define MAX_BODY ((size_t)512 << 20)

void cli_common_init(cli_common_t *c)
{
    const char *env = getenv("STITCH_SERVER");
    c->server = env && *env ? env : CLI_DEFAULT_SERVER;
    c->json = false;
    c->color = -1;
}

int cli_common_option(cli_common_t *c, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--json")) {
        c->json = true;
        return 1;
    }
    if (!strcmp(a, "--server") || !strncmp(a, "--server=", 9) || !strcmp(a, "--color") ||
        !strncmp(a, "--color=", 8)) {
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
            fprintf(stderr, "stitch %s: cannot reach stitchd at %s: %s\n", cmd, c->server,
                    errbuf[0] ? errbuf : curl_easy_strerror(rc));
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    json_error_t jerr;
    out = json_loadb(b.p ? b.p : "", b.n, 0, &jerr);
    if (!out)
        fprintf(stderr, "stitch %s: %s answered HTTP %ld that is not JSON (%s)\n", cmd, url,
                *status, jerr.text);
done:
    free(b.p);
    free(url);
    curl_easy_cleanup(h);
    return out;
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
