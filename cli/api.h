/* cli/api.h — how the `stitch` query commands talk to stitchd: one GET on
 * the Jaeger-compatible query API (docs/http-api.md), the JSON it answers,
 * and the options every query command shares (--server, --json, --color,
 * --token-file, --cacert). Invariant: on failure nothing is returned and a
 * one-line reason has been written to stderr, prefixed with the command's
 * name; cli_api_exit_code() turns the failure into the exit code. */
#ifndef STITCH_CLI_API_H
#define STITCH_CLI_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:16686"

#define CLI_TOKEN_MAX 8192

/* The shared options and exit codes, for each query command's --help. */
#define CLI_AUTH_HELP \
    "  --token-file FILE  send the token in FILE as \"Authorization: Bearer ...\"\n" \
    "                     (default: $STITCH_TOKEN)\n" \
    "  --cacert FILE      PEM CA certificate(s) to verify an https:// server with\n" \
    "                     (default: $STITCH_CACERT, else the system's CA store)\n" \
    "\n" \
    "exit status: 0 found, 1 nothing found, 2 usage error, 3 stitchd unreachable\n" \
    "or failing, 4 stitchd refused the request (401/403: no or a wrong token)\n"

typedef struct cli_common {
    const char *server; /* base URL, default CLI_DEFAULT_SERVER or $STITCH_SERVER */
    bool json;          /* print the API's JSON instead of text */
    int color;          /* -1 auto (stdout is a terminal, NO_COLOR unset), 0 never, 1 always */
    /* sent as "Authorization: Bearer <token>": --token-file's first line, or
     * $STITCH_TOKEN; NULL: none. token_from names where it came from. */
    const char *token;
    const char *token_from;
    char token_buf[CLI_TOKEN_MAX];
    const char *cacert; /* PEM CA file for https servers: --cacert or $STITCH_CACERT; NULL: system */
} cli_common_t;

/* A failure of cli_api_get that is the user's to fix (a bad token in
 * $STITCH_TOKEN): *status is set to this, and the exit code is CLI_USAGE. */
#define CLI_STATUS_USAGE (-2)

void cli_common_init(cli_common_t *c);

/* If argv[*i] is one of the shared options, consume it (and its value) and
 * return 1; return 0 if it is not; -1 after printing a usage error. */
int cli_common_option(cli_common_t *c, const char *cmd, int argc, char **argv, int *i);

/* GET server + path (path starts with '/' and is already URL-encoded).
 * Returns the parsed body and sets *status; NULL after printing why (network
 * or TLS error, 401/403 — "stitchd refused the request: unauthorized" —,
 * not JSON), *status then being the HTTP status (0: no answer). Any other
 * 4xx/5xx with a JSON body is returned, not printed. */
json_t *cli_api_get(const cli_common_t *c, const char *cmd, const char *path, long *status);

/* The exit code for a NULL from cli_api_get with this *status: CLI_DENIED
 * for 401/403, CLI_USAGE for CLI_STATUS_USAGE, else CLI_ERROR. */
int cli_api_exit_code(long status);

/* The message of a Jaeger v1 error envelope ({"errors":[{"msg":…}]}), or
 * NULL. */
const char *cli_api_error(const json_t *body);

/* Percent-encode s for a query string; malloc'd, NULL when out of memory. */
char *cli_url_encode(const char *s);

/* Whether to colour stdout. */
bool cli_use_color(const cli_common_t *c);

#endif
