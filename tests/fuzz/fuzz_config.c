/* fuzz_config: stitchd's configuration — the YAML file of `--config` (every
 * flag's key, lists and sections, and the `tail_sampling:` section with the
 * OpenTelemetry Collector's schema), and the value parsers behind flags
 * (durations, sizes, addresses).
 *
 * Invariants: the loader either accepts or says why, and never exits or
 * aborts; a refused tail_sampling section comes with a message naming the
 * file; an accepted one frees cleanly; a duration or size that parses is
 * not changed by parsing its own printout. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/sampling.h"
#include "fuzz_util.h"

static char path[64];
static int devnull, saved_stderr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/stitch-fuzz-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    /* the loader reports on stderr: silenced around it (below), as thousands
     * of messages a second would only slow the run; libFuzzer keeps stderr */
    devnull = open("/dev/null", O_WRONLY);
    saved_stderr = dup(2);
    if (devnull < 0 || saved_stderr < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    /* the tail_sampling section alone, from memory */
    sampling_cfg_t *sc = NULL;
    char err[512] = "";
    int rc = sampling_cfg_from_text(&sc, (const char *)data, size, "fuzz.yaml", err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0)
        sampling_cfg_free(sc);
    else
        FUZZ_CHECK(strstr(err, "fuzz.yaml") != NULL);

    /* the whole file through the loader, as `stitchd --config FILE` reads
     * it (loading starts nothing) */
    FILE *f = fopen(path, "w");
    FUZZ_CHECK(f != NULL);
    fwrite(data, 1, size, f);
    fclose(f);
    char *argv[] = {"stitchd", "--config", path, NULL};
    stitchd_config_t c;
    memset(&c, 0, sizeof c);
    fflush(stderr);
    dup2(devnull, 2);
    rc = stitchd_config_load(&c, 3, argv);
    fflush(stderr);
    dup2(saved_stderr, 2);
    FUZZ_CHECK(rc == STITCHD_CONFIG_RUN || rc == STITCHD_CONFIG_EXIT_OK || rc == STITCHD_CONFIG_EXIT_USAGE);
    stitchd_config_free(&c);

    /* the value parsers on the input as one string */
    char *s = fz_cstr(data, size);
    uint64_t v, v2;
    if (stitchd_parse_duration(s, &v) == 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lluns", (unsigned long long)v);
        FUZZ_CHECK(stitchd_parse_duration(buf, &v2) == 0 && v2 == v);
    }
    if (stitchd_parse_size(s, &v) == 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        FUZZ_CHECK(stitchd_parse_size(buf, &v2) == 0 && v2 == v);
    }
    stitchd_addr_t a;
    (void)stitchd_parse_addr(s, &a);
    free(s);
    return 0;
}
