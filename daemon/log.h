/* daemon/log.h — stitchd's log: one logfmt line per event on stderr,
 *   ts=2024-05-01T10:00:00.123Z level=info component=http msg="listening" listener=otlp-http addr=127.0.0.1:4318
 * Lines are written with one write(2) each, so threads never interleave
 * inside a line. Values that may hold spaces or quotes go through
 * st_log_q(), which quotes and escapes them. */
#ifndef STITCHD_LOG_H
#define STITCHD_LOG_H

#include <stddef.h>

typedef enum st_log_level {
    ST_LOG_DEBUG = 0,
    ST_LOG_INFO = 1,
    ST_LOG_WARN = 2,
    ST_LOG_ERROR = 3,
} st_log_level_t;

/* Lines below `level` are dropped. Default: info. */
void st_log_set_level(st_log_level_t level);
/* "debug", "info", "warn", "error" → 0; else -1. */
int st_log_parse_level(const char *s, st_log_level_t *out);
int st_log_enabled(st_log_level_t level);

/* msg is written quoted; `kv` (printf format, may be NULL) carries the
 * rest of the line as key=value pairs. */
void st_log(st_log_level_t level, const char *component, const char *msg, const char *kv, ...)
    __attribute__((format(printf, 4, 5)));

/* `s` quoted and escaped for a logfmt value ("a \"b\""), cut to fit
 * `buf` (n >= 3); returns buf. */
const char *st_log_q(char *buf, size_t n, const char *s);

#endif
