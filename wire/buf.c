/* wire/buf.c — stitch_buf_t, the bounded growable byte buffer every
 * encoder writes into.
 * Invariant: len <= cap, and cap never exceeds max (when max != 0): an
 * append that would pass max fails with STITCH_ELIMIT and leaves the buffer
 * as it was, so a caller can never be made to hold more than it allowed. */
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int stitch_buf_reserve(stitch_buf_t *b, size_t extra)
{
    size_t max = b->max ? b->max : SIZE_MAX;
    if (extra > max - b->len)
        return STITCH_ELIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
    if (ncap > max)
        ncap = max;
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd)
        return STITCH_ENOMEM;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int stitch_buf_append(stitch_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = stitch_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void stitch_buf_free(stitch_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
