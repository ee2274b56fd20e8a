/* daemon/otlp_resp.c — ExportTraceServiceResponse and google.rpc.Status,
 * protobuf and JSON (otlp_resp.h). Two tiny messages, written by hand.
 * Invariant: the output always parses with wire/otlp_response.c's decoder
 * (tested in tests/integration/test_stitchd.c through the SDK). */
#include "daemon/otlp_resp.h"

#include <string.h>

#include "wire/internal.h"

static int pb_varint(stitch_buf_t *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    return stitch_buf_append(b, t, n);
}

static int pb_string(stitch_buf_t *b, unsigned field, const char *s)
{
    size_t n = strlen(s);
    int rc = pb_varint(b, (uint64_t)field << 3 | 2);
    if (!rc)
        rc = pb_varint(b, n);
    if (!rc)
        rc = stitch_buf_append(b, s, n);
    return rc;
}

int stitchd_otlp_export_response(stitch_buf_t *out, bool json, int64_t rejected, const char *msg)
{
    if (!msg)
        msg = "";
    if (json) {
        if (rejected <= 0 && !*msg)
            return STITCH_WIRE_LIT(out, "{}");
        /* proto3 JSON writes int64 as a string */
        int rc = STITCH_WIRE_LIT(out, "{\"partialSuccess\":{\"rejectedSpans\":\"");
        if (!rc)
            rc = stitch_wire_i64(out, rejected);
        if (!rc)
            rc = STITCH_WIRE_LIT(out, "\",\"errorMessage\":");
        if (!rc)
            rc = stitch_wire_json_str(out, msg, strlen(msg));
        if (!rc)
            rc = STITCH_WIRE_LIT(out, "}}");
        return rc;
    }
    if (rejected <= 0 && !*msg)
        return 0;
    stitch_buf_t inner = STITCH_BUF_INIT(0);
    int rc = 0;
    if (rejected > 0) {
        rc = pb_varint(&inner, 1 << 3 | 0);
        if (!rc)
            rc = pb_varint(&inner, (uint64_t)rejected);
    }
    if (!rc && *msg)
        rc = pb_string(&inner, 2, msg);
    if (!rc)
        rc = pb_varint(out, 1 << 3 | 2);
    if (!rc)
        rc = pb_varint(out, inner.len);
    if (!rc)
        rc = stitch_buf_append(out, inner.data, inner.len);
    stitch_buf_free(&inner);
    return rc;
}

int stitchd_otlp_status(stitch_buf_t *out, bool json, int code, const char *msg)
{
    if (!msg)
        msg = "";
    if (json) {
        int rc = STITCH_WIRE_LIT(out, "{\"code\":");
        if (!rc)
            rc = stitch_wire_i64(out, code);
        if (!rc)
            rc = STITCH_WIRE_LIT(out, ",\"message\":");
        if (!rc)
            rc = stitch_wire_json_str(out, msg, strlen(msg));
        if (!rc)
            rc = STITCH_WIRE_LIT(out, "}");
        return rc;
    }
    int rc = 0;
    if (code) {
        rc = pb_varint(out, 1 << 3 | 0);
        if (!rc) /* int32: negative values would be sign-extended to 10 bytes */
            rc = pb_varint(out, (uint64_t)(int64_t)code);
    }
    if (!rc && *msg)
        rc = pb_string(out, 2, msg);
    return rc;
}
