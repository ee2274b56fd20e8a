/* examples/export_demo.c — the two-line setup: stitch_init_from_env() reads
 * the OpenTelemetry environment (OTEL_TRACES_EXPORTER,
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...), and the spans this
 * program records are delivered when it exits normally. */
#include <stitch/export.h>
#include <stitch/stitch.h>

int main(void)
{
    stitch_init_from_env(NULL);
    stitch_tracer_t *tracer = stitch_global_tracer("export-demo", "1.0");

    stitch_span_opts_t server = {.kind = STITCH_SPAN_KIND_SERVER};
    stitch_span_t *req = stitch_span_start(tracer, "checkout", &server);
    stitch_span_set_str(req, "http.request.method", "POST");
    stitch_scope_t scope = stitch_scope_push(req);

    stitch_span_t *stock = stitch_span_start(tracer, "reserve stock", NULL);
    stitch_span_set_int(stock, "cart.items", 3);
    stitch_span_end(stock);

    stitch_span_opts_t client = {.kind = STITCH_SPAN_KIND_CLIENT};
    stitch_span_t *pay = stitch_span_start(tracer, "charge card", &client);
    stitch_span_set_str(pay, "payment.provider", "acme");
    stitch_span_end(pay);

    stitch_scope_pop(scope);
    stitch_span_set_int(req, "http.response.status_code", 200);
    stitch_span_end(req);
    return 0; /* the exit handler delivers the spans */
}
