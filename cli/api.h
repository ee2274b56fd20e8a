/* cli/api.h — how the `stitch` query commands talk to stitchd: one GET on
 * the Jaeger-compatible query API (docs/http-api.md), the JSON it answers,
 * and the options every query command shares (--server, --json, --color).
 * Invariant: on failure nothing is returned and a one-line reason has been
 * written to stderr, prefixed with the command's name. */
#ifndef STITCH_CLI_API_H
#define STITCH_CLI_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:16686"

typedef struct cli_common {
    const char *server; /* base URL, default CLI_DEFAULT_SERVER or $STITCH_SERVER */
    bool json;          /* print the API's JSON instead of text */
    int color;          /* -1 auto (stdout is a terminal, NO_COLOR unset), 0 never, 1 always */
} cli_common_t;

void cli_common_init(cli_common_t *c);

/* If argv[*i] is one of the shared options, consume it (and its value) and
 * return 1; return 0 if it is not; -1 after printing a usage error. */
int cli_common_option(cli_common_t *c, const char *cmd, int argc, char **argv, int *i);

/* GET server + path (path starts with '/' and is already URL-encoded).
 * Returns the parsed body and sets *status; NULL after printing why (network
 * error, not JSON). A 4xx/5xx with a JSON body is returned, not printed. */
json_t *cli_api_get(const cli_common_t *c, const char *cmd, const char *path, long *status);

/* The message of a Jaeger v1 error envelope ({"errors":[{"msg":…}]}), or
 * NULL. */
const char *cli_api_error(const json_t *body);

/* Percent-encode s for a query string; malloc'd, NULL when out of memory. */
char *cli_url_encode(const char *s);

/* Whether to colour stdout. */
bool cli_use_color(const cli_common_t *c);

#endif
