/* daemon/log.c — logfmt lines on stderr (see log.h).
 * Invariant: a line is formatted into a stack buffer and written with a
 * single write(2); a line too long for the buffer is cut, never split. */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = ST_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void st_log_set_level(st_log_level_t level) { atomic_store(&min_level, (int)level); }

int st_log_enabled(st_log_level_t level) { return (int)level >= atomic_load(&min_level); }

int st_log_parse_level(const char *s, st_log_level_t *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (st_log_level_t)i;
            return 0;
        }
    if (!strcmp(s, "warning")) {
        *out = ST_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *st_log_q(char *buf, size_t n, const char *s)
{
    size_t o = 0;
    buf[o++] = '"';
    for (; s && *s && o + 3 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = ' ';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

void st_log(st_log_level_t level, const char *component, const char *msg, const char *kv, ...)
{
    if (!st_log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char qmsg[512];
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s component=%s msg=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level], component,
                     st_log_q(qmsg, sizeof qmsg, msg));
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 2;
    if (kv && *kv) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, kv);
        int m = vsnprintf(line + len, sizeof line - 1 - len, kv, ap);
        va_end(ap);
        if (m > 0)
            len += (size_t)m < sizeof line - 1 - len ? (size_t)m : sizeof line - 2 - len;
    }
    line[len++] = '\n';
    /* one write per line; a short write on stderr is not worth a retry loop */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
