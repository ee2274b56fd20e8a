/* propagation/text.c — character classes and percent-coding shared by the
 * header formats (baggage values, Jaeger's URL-encoded headers).
 * Invariant: tables are constant data; nothing here allocates. */
#include <string.h>

#include "propagation/internal.h"

/* RFC 7230 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA. */
bool stitch__is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

#define R2(a) [a] = 1, [a + 1] = 1
#define R4(a) R2(a), R2(a + 2)
#define R8(a) R4(a), R4(a + 4)
#define R16(a) R8(a), R8(a + 8)
/* W3C baggage-octet (%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E) minus
 * '%', which must itself be encoded: what may go on the wire literally. */
const uint8_t stitch__baggage_octet[256] = {
    [0x21] = 1, [0x23] = 1, [0x24] = 1, R4(0x26), [0x2a] = 1, [0x2b] = 1,
    R8(0x2d), R4(0x35), [0x39] = 1, [0x3a] = 1,
    R16(0x3c), R16(0x4c), /* 0x3c..0x5b */
    R16(0x5d), R16(0x6d), /* 0x5d..0x7c */
    [0x7d] = 1, [0x7e] = 1,
};
#undef R2
#undef R4
#undef R8
#undef R16

long stitch__pct_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '%') {
            out[o++] = in[i];
            continue;
        }
        if (i + 2 >= n)
            return -1;
        uint8_t byte;
        if (stitch__unhex(in + i + 1, 1, &byte, false) != STITCH_OK)
            return -1;
        out[o++] = (char)byte;
        i += 2;
    }
    return (long)o;
}

size_t stitch__pct_encode(const char *in, size_t n, const uint8_t keep[256], char *out,
                          size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (keep[c]) {
            if (o < cap)
                out[o] = (char)c;
            o++;
        } else {
            if (o + 3 <= cap) {
                out[o] = '%';
                out[o + 1] = hx[c >> 4];
                out[o + 2] = hx[c & 15];
            }
            o += 3;
        }
    }
    return o;
}
