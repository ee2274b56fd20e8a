/* cli/main.c — the `stitch` command: global flags and dispatch to one
 * subcommand group per file (headers.c; query.c for trace, search and
 * services). Invariant: every path ends in an exit code
 * from cli.h; usage errors go to stderr with status 2. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "stitch/common.h"

struct group {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct group groups[] = {
    {"trace", "draw a trace as a waterfall", cli_trace},
    {"search", "find traces by service, operation, tags, duration", cli_search},
    {"services", "list services, or one service's operations", cli_services},
    {"headers", "decode trace-context headers (W3C, B3, Jaeger, baggage)", cli_headers},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: stitch [--help] [--version] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        fprintf(out, "  %-10s %s\n", groups[i].name, groups[i].summary);
    fprintf(out, "\nRun 'stitch <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("stitch %s\n", stitch_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (!strcmp(cmd, groups[i].name))
            return groups[i].run(argc - 1, argv + 1);
    fprintf(stderr, "stitch: unknown %s '%s'\n", cmd[0] == '-' ? "option" : "command", cmd);
    usage(stderr);
    return CLI_USAGE;
}
