/* gen_proto_seeds: writes the OTLP protobuf seeds of fuzz_otlp_proto with
 * the project's own encoder: each OTLP/JSON file given is decoded and
 * re-encoded as protobuf into <outdir>/<basename>.pb. Run by hand when the
 * JSON seeds change:
 *   build-fuzz/fuzz/gen_proto_seeds tests/fuzz/corpus/otlp_proto \
 *       tests/fuzz/corpus/otlp_json/js_exporter.json ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode.h"
#include "wire/wire.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s outdir file.json...\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t in[1 << 20];
        size_t n = fread(in, 1, sizeof in, f);
        fclose(f);
        stitch_wire_batch_t b;
        stitch_wire_batch_init(&b, 0);
        stitch_wire_error_t err;
        int rc = stitch_wire_otlp_json_decode(&b, in, n, &err);
        if (rc != 0) {
            fprintf(stderr, "%s: %d %s\n", argv[i], rc, err.msg);
            return 1;
        }
        const stitch_span_data_t *ptrs[64];
        size_t ns = b.nspans < 64 ? b.nspans : 64;
        for (size_t k = 0; k < ns; k++)
            ptrs[k] = &b.spans[k];
        stitch_buf_t out = STITCH_BUF_INIT(0);
        if (stitch_wire_otlp_proto_encode(ptrs, ns, &out) != 0)
            return 1;
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%.*s.pb", argv[1], (int)strcspn(base, "."), base) >=
            (int)sizeof path)
            return 1;
        FILE *o = fopen(path, "wb");
        if (!o || fwrite(out.data, 1, out.len, o) != out.len || fclose(o) != 0) {
            perror(path);
            return 1;
        }
        stitch_buf_free(&out);
        stitch_wire_batch_free(&b);
    }
    return 0;
}
