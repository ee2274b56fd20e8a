/* cli/cli.h — what the files of the `stitch` command share: one entry
 * point per subcommand group (cli/<group>.c) and the exit-code convention.
 * Invariant: a group returns its exit code and prints only to the FILE*s it
 * is given conventions for: results on stdout, diagnostics on stderr. */
#ifndef STITCH_CLI_H
#define STITCH_CLI_H

#include <stdio.h>

enum {
    CLI_OK = 0,       /* the command did what was asked and found something */
    CLI_NOTHING = 1,  /* it ran, but found nothing (e.g. no valid context) */
    CLI_USAGE = 2,    /* bad arguments or input the command cannot read */
    CLI_ERROR = 3,    /* the command could not do its work (server down, out of memory) */
    CLI_DENIED = 4,   /* the server refused the request (401/403: no or a wrong token) */
};

/* argv[0] is the group's name ("headers"). */
int cli_headers(int argc, char **argv);
void cli_headers_usage(FILE *out);

/* The query commands (cli/query.c), reading stitchd's query API. */
int cli_trace(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_services(int argc, char **argv);

#endif
