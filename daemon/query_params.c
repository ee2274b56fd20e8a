/* daemon/query_params.c — the value parsers of the query API: Go durations
 * (Jaeger's minDuration=1.5s), decimal integers, RFC 3339 times (Jaeger v3),
 * trace ids of 1 to 32 hex digits, percent-encoded path segments and span
 * kind names. Parameter *names* are the callers' business: a parser says
 * only what is wrong with the value, and the caller puts the name in front.
 * Invariant: nothing here allocates except query_path_decode, and every
 * accepted value is exactly representable in the output type (overflow is
 * an error, never a wrap). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/query_internal.h"

static int why(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        if (n < 0)
            err[0] = '\0'; /* cut messages are fine: they are for people */
    }
    return -1;
}

/* ---- Go durations -------------------------------------------------------------- */

static const struct {
    const char *name;
    uint64_t ns;
} units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", 1000000000ull},
    {"m", 60ull * 1000000000ull},
    {"h", 3600ull * 1000000000ull},
};

int query_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen)
{
    const char *p = s;
    if (*p == '+')
        p++;
    else if (*p == '-')
        return why(err, errlen, "negative duration \"%.64s\"", s);
    if (!strcmp(p, "0")) {
        *ns = 0;
        return 0;
    }
    if (!*p)
        return why(err, errlen, "invalid duration \"%.64s\"", s);
    uint64_t total = 0;
    while (*p) {
        /* number: digits [. digits], at least one digit */
        uint64_t whole = 0, frac = 0, scale = 1;
        bool digits = false, overflow = false;
        while (*p >= '0' && *p <= '9') {
            if (whole > (UINT64_MAX - 9) / 10)
                overflow = true;
            else
                whole = whole * 10 + (uint64_t)(*p - '0');
            digits = true;
            p++;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                if (scale < 1000000000000000000ull) { /* digits past 1e-18 change nothing */
                    frac = frac * 10 + (uint64_t)(*p - '0');
                    scale *= 10;
                }
                digits = true;
                p++;
            }
        }
        if (!digits)
            return why(err, errlen, "invalid duration \"%.64s\" (expected e.g. 100ms, 1.5s, 1h2m)", s);
        const char *u = p;
        while (*p && *p != '.' && (*p < '0' || *p > '9'))
            p++;
        size_t ulen = (size_t)(p - u);
        if (!ulen)
            return why(err, errlen, "missing unit in duration \"%.64s\" (ns, us, ms, s, m, h)", s);
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == ulen && !memcmp(units[i].name, u, ulen))
                unit = units[i].ns;
        if (!unit)
            return why(err, errlen, "unknown unit \"%.*s\" in duration \"%.64s\" (ns, us, ms, s, m, h)",
                       (int)(ulen > 16 ? 16 : ulen), u, s);
        if (overflow || whole > UINT64_MAX / unit)
            return why(err, errlen, "duration \"%.64s\" out of range", s);
        uint64_t v = whole * unit;
        if (frac)
            v += (uint64_t)((double)frac * ((double)unit / (double)scale));
        if (v > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - v) /* Go's limit: ~292 years */
            return why(err, errlen, "duration \"%.64s\" out of range", s);
        total += v;
    }
    *ns = total;
    return 0;
}

/* ---- integers -------------------------------------------------------------------- */

int query_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return why(err, errlen, "\"%.64s\" is not an integer", s);
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return why(err, errlen, "\"%.64s\" is not an integer", s);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return why(err, errlen, "%.64s is out of range [%lld, %lld]", s, (long long)min,
                   (long long)max);
    *out = (int64_t)v;
    return 0;
}

/* ---- RFC 3339 times ---------------------------------------------------------------- */

static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int query_parse_rfc3339(const char *s, uint64_t *ns, char *err, size_t errlen)
{
    int y, mo, d, h, mi, sec;
    const char *p = s;
    if (strlen(s) < 20 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) ||
        p[7] != '-' || digits(p + 8, 2, &d) || (p[10] != 'T' && p[10] != 't') ||
        digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &mi) || p[16] != ':' ||
        digits(p + 17, 2, &sec))
        return why(err, errlen, "\"%.64s\" is not an RFC 3339 time (e.g. 2024-05-01T12:00:00.5Z)", s);
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return why(err, errlen, "\"%.64s\": date or time field out of range", s);
    p += 19;
    uint64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                nd++;
            }
            p++;
        }
        if (!nd)
            return why(err, errlen, "\"%.64s\": empty fraction of a second", s);
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return why(err, errlen, "\"%.64s\": bad UTC offset (Z or +hh:mm)", s);
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return why(err, errlen, "\"%.64s\": missing UTC offset (Z or +hh:mm)", s);
    }
    if (*p)
        return why(err, errlen, "\"%.64s\": unexpected text after the time", s);
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs < 0)
        return why(err, errlen, "\"%.64s\" is before 1970-01-01T00:00:00Z", s);
    if ((uint64_t)secs > (UINT64_MAX - frac) / 1000000000ull)
        return why(err, errlen, "\"%.64s\" out of range", s);
    *ns = (uint64_t)secs * 1000000000ull + frac;
    return 0;
}

/* ---- ids, paths, kinds -------------------------------------------------------------- */

int query_parse_trace_id(const char *s, size_t len, uint8_t out[16], char *err, size_t errlen)
{
    if (len == 0 || len > 32)
        return why(err, errlen, "trace id must be 1 to 32 hex digits, got %zu characters", len);
    char hex[32];
    memset(hex, '0', 32);
    memcpy(hex + 32 - len, s, len);
    if (stitch_trace_id_parse(hex, 32, out))
        return why(err, errlen, "\"%.*s\" is not a hex trace id", (int)(len > 40 ? 40 : len), s);
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *query_path_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0) { /* not an escape: a '%' the server already decoded */
            *o++ = '%';
            continue;
        }
        if (hi == 0 && lo == 0) {
            free(out);
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

static const char *const kind_names[] = {NULL, "internal", "server", "client", "producer", "consumer"};

int query_parse_kind(const char *s)
{
    if (!s || !*s)
        return -1;
    if (!strncasecmp(s, "SPAN_KIND_", 10))
        s += 10;
    for (int k = 1; k <= 5; k++)
        if (!strcasecmp(s, kind_names[k]))
            return k;
    return -2;
}

const char *query_kind_name(int kind)
{
    return kind >= 1 && kind <= 5 ? kind_names[kind] : "internal";
}
