/* tests/integration/log_capture.h — the SDK's log lines, captured so a test
 * can assert what stitch told the user. Install with
 * stitch_set_logger(logger, NULL); clear by setting loglen = 0 and
 * logbuf[0] = 0 under no concurrent logging. One capture per test program
 * (static state). */
#ifndef STITCH_TEST_LOG_CAPTURE_H
#define STITCH_TEST_LOG_CAPTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "stitch/stitch.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

/* each line as "LEVEL message\n"; lines past the buffer are dropped */
static void logger(void *arg, stitch_log_level_t level, const char *msg)
{
    (void)arg;
    pthread_mutex_lock(&log_mu);
    int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%d %s\n", (int)level, msg);
    if (n > 0 && (size_t)n < sizeof logbuf - loglen)
        loglen += (size_t)n;
    pthread_mutex_unlock(&log_mu);
}

static bool log_has(const char *needle)
{
    pthread_mutex_lock(&log_mu);
    bool r = strstr(logbuf, needle) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

#endif
