/* fuzz_sampler_rules: stitch_sampler_rules_parse on the input as rule text
 * (docs/sampling.md). Invariants: a failure has a message and an offset
 * inside the text and no sampler; a success gives a sampler that decides
 * (one of the three decisions) for spans whose name and attributes come
 * from the text itself, and describes itself. The fallback is taken over
 * in both cases, so LeakSanitizer checks that too. */
#include "fuzz_util.h"
#include "stitch/sampler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_cstr(data, size);
    size_t tlen = strlen(text);
    stitch_sampler_t *fallback = (size & 1) ? stitch_sampler_always_off() : NULL;
    stitch_sampler_t *s = (stitch_sampler_t *)1;
    stitch_sampler_parse_error_t err;
    int rc = stitch_sampler_rules_parse(text, fallback, &s, &err);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EPARSE || rc == STITCH_EINVAL || rc == STITCH_ENOMEM);
    if (rc != 0) {
        FUZZ_CHECK(s == NULL && err.code == rc && err.msg != NULL && err.offset <= tlen);
    } else {
        FUZZ_CHECK(s != NULL && stitch_sampler_description(s) != NULL);
        /* a span named after the text's first word, attributes from its words */
        char name[32] = "", w1[32] = "", w2[32] = "";
        if (sscanf(text, "%31s %31s %31s", name, w1, w2) < 1)
            strcpy(name, "op");
        uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        stitch_span_ctx_t parent = {{0}, {0}, STITCH_FLAG_SAMPLED, 1, {0}};
        memcpy(parent.trace_id, tid, 16);
        parent.span_id[7] = 1;
        stitch_attr_t attrs[] = {
            stitch_attr_str(w1[0] ? w1 : "k", w2),
            stitch_attr_int(w2[0] ? w2 : "n", (int64_t)size),
            stitch_attr_double("ratio", 0.5),
            stitch_attr_strn("raw", text, tlen),
        };
        for (int kind = 0; kind <= 5; kind++) {
            stitch_sampling_params_t p = {kind & 1 ? &parent : NULL, NULL, tid, name,
                                          (stitch_span_kind_t)kind, attrs,
                                          (size_t)kind % 5, NULL, 0};
            stitch_decision_t d = stitch_sampler_should_sample(s, &p);
            FUZZ_CHECK(d == STITCH_DROP || d == STITCH_RECORD_ONLY || d == STITCH_RECORD_AND_SAMPLE);
        }
    }
    stitch_sampler_free(s);
    free(text);
    return 0;
}
