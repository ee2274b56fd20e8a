/* examples/quickstart.c — the README's example: a server span with a
 * child span, printed by the console processor. */
#include <stitch/stitch.h>

int main(void)
{
    stitch_provider_t *provider;
    if (stitch_provider_new(&provider, NULL) != 0) /* the OTEL_* environment applies */
        return 1;
    stitch_provider_add_processor(provider, stitch_console_processor_new(stdout));
    stitch_tracer_t *tracer = stitch_tracer(provider, "shop", "1.0");

    stitch_span_opts_t server = {.kind = STITCH_SPAN_KIND_SERVER};
    stitch_span_t *req = stitch_span_start(tracer, "POST /cart/add", &server);
    stitch_span_set_str(req, "http.request.method", "POST");
    stitch_scope_t scope = stitch_scope_push(req); /* spans started now are its children */

    stitch_span_t *db = stitch_span_start(tracer, "SELECT products", NULL);
    stitch_span_set_str(db, "db.query.text", "SELECT * FROM products WHERE id = ?");
    stitch_span_end(db);

    stitch_scope_pop(scope);
    stitch_span_set_int(req, "http.response.status_code", 200);
    stitch_span_end(req);
    stitch_provider_free(provider); /* flushes and shuts down the processors */
    return 0;
}
