/* stitch/instrument/messaging.h — broker-independent producer and consumer
 * spans, and a generic header-list carrier, for message brokers.
 *
 * OpenTelemetry's messaging conventions (semantic-conventions
 * docs/messaging/messaging-spans.md): a PRODUCER span `publish {destination}`
 * whose context — the message's *creation context* — travels in the message's
 * headers; on the other side a CONSUMER span `process {destination}` per
 * message, or one for a batch with a link to each message's creation context.
 * Attributes: messaging.system, messaging.destination.name,
 * messaging.operation.name, messaging.operation.type (send | process |
 * receive), messaging.batch.message_count, messaging.message.id,
 * messaging.message.body.size, messaging.client.id,
 * messaging.consumer.group.name, server.address, server.port, error.type.
 *
 * This file knows nothing of any broker. A broker adapter (instrument/nats.c
 * is one) is a carrier over the broker's message headers plus a few lines
 * calling the functions below; docs/instrumentation.md shows how to write
 * one for AMQP, MQTT 5 or Kafka. A broker whose headers are easier to fill
 * from a list than through get/set callbacks can use stitch_msg_headers_t:
 * inject into the list, then copy the list into the native message.
 *
 * Thread safety: the functions are thread-safe; a span, a carrier and a
 * header list are used by one thread at a time. */
#ifndef STITCH_INSTRUMENT_MESSAGING_H
#define STITCH_INSTRUMENT_MESSAGING_H

#include "../context.h"
#include "../propagation.h"
#include "../trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The instrumentation scope of the default tracer. */
#define STITCH_MSG_SCOPE "stitch.instrument.messaging"

/* What a messaging span is about. Zero-initialise it and set what you know;
 * every string is copied into the span, none is kept. */
typedef struct stitch_msg_opts {
    /* NULL: stitch_global_tracer(STITCH_MSG_SCOPE, STITCH_VERSION_STRING).
     * Borrowed for the call. */
    stitch_tracer_t *tracer;
    /* NULL: stitch_propagator_default() (OTEL_PROPAGATORS). Borrowed. */
    const stitch_propagator_t *propagator;
    /* messaging.system ("nats", "rabbitmq", "kafka", "mqtt"...); required. */
    const char *system;
    /* messaging.destination.name (subject, topic, queue); the span name's
     * second word. NULL: none (the span is named by the operation alone). */
    const char *destination;
    /* messaging.operation.name and the span name's first word. NULL:
     * "publish" for producers, "process" for consumers. */
    const char *operation;
    /* Parent of a PRODUCER span or of a batch's CONSUMER span. NULL: the
     * thread's current context. (A single message's CONSUMER span has the
     * message's creation context as parent; see stitch_msg_process_begin.) */
    const stitch_ctx_t *parent;
    const char *server_address;   /* server.address, or NULL */
    int server_port;              /* server.port, or 0 */
    const char *client_id;        /* messaging.client.id, or NULL */
    const char *consumer_group;   /* messaging.consumer.group.name, or NULL */
    const char *message_id;       /* messaging.message.id (single message), or NULL */
    /* messaging.message.body.size (single message), when body_size_known. */
    size_t body_size;
    bool body_size_known;
} stitch_msg_opts_t;

/* ---- producer ------------------------------------------------------------ */

/* Start the PRODUCER span `{operation} {destination}` (operation type
 * "send") and inject its context into the message's headers through
 * `headers` (its `set` callback must not be NULL). Call it just before
 * handing the message to the broker, then stitch_msg_end() once the broker
 * call returned. Never returns NULL (an unsampled span still injects its
 * context). A carrier error is not an error of the publish: the message
 * then leaves without context, and the span carries an event saying so. */
STITCH_EXTERN stitch_span_t *stitch_msg_publish_begin(const stitch_msg_opts_t *o,
                                                      const stitch_carrier_t *headers);

/* ---- consumer --------------------------------------------------------------- */

/* Read a message's creation context from its headers into `out`
 * (overwritten; release it with stitch_ctx_release). 0, or STITCH_ENOTFOUND
 * when the message carries none. `o` may be NULL (default propagator). */
STITCH_EXTERN int stitch_msg_extract(const stitch_msg_opts_t *o, const stitch_carrier_t *headers,
                                     stitch_ctx_t *out);

/* Start the CONSUMER span `{operation} {destination}` (operation type
 * "process") for one message pushed to the application: its parent is the
 * message's creation context, so the trace continues across the broker,
 * and it also links to that context (what the conventions ask of every
 * consumer span). A message without context gets a span whose parent is
 * o->parent (NULL: the current context) and no link. Make it current
 * (stitch_scope_push) while handling the message; end it with
 * stitch_msg_end(). Never returns NULL. */
STITCH_EXTERN stitch_span_t *stitch_msg_process_begin(const stitch_msg_opts_t *o,
                                                      const stitch_carrier_t *headers);

/* Start one CONSUMER span for a batch of `n` messages (`carriers[i]` reads
 * message i's headers): operation type "receive" when o->operation is
 * "receive", else "process"; parent o->parent (NULL: the current context);
 * one link per message that carries a creation context (past the link limit,
 * OTEL_SPAN_LINK_COUNT_LIMIT, links are dropped and counted); and
 * messaging.batch.message_count = n. Never returns NULL. */
STITCH_EXTERN stitch_span_t *stitch_msg_batch_begin(const stitch_msg_opts_t *o,
                                                    const stitch_carrier_t *carriers, size_t n);

/* ---- both ------------------------------------------------------------------- */

/* End a span from the functions above. `error_type` NULL: success (status
 * left UNSET). Otherwise the status is ERROR with `message` (may be NULL)
 * and error.type = error_type (a low-cardinality class, e.g. the broker's
 * status name). `s` is invalid afterwards. NULL is fine. */
STITCH_EXTERN void stitch_msg_end(stitch_span_t *s, const char *error_type, const char *message);

/* ---- a generic header list ---------------------------------------------------- */

/* One header; name and value need not be NUL-terminated (Kafka header
 * values are byte strings). */
typedef struct stitch_msg_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} stitch_msg_header_t;

/* A list of headers behind a carrier. Either a read-only *view* of an array
 * the caller owns (what a consumer got from the broker), or an *owned* list
 * the propagator writes into (what a producer copies into its message).
 * Names are compared without regard to case; get(name, idx) returns the
 * idx-th header of that name, in list order. */
typedef struct stitch_msg_headers {
    stitch_msg_header_t *items;
    size_t count;
    size_t cap;       /* 0 for a view */
    bool owned;       /* items and their strings are ours (set copies) */
} stitch_msg_headers_t;

#define STITCH_MSG_HEADERS_INIT {NULL, 0, 0, false}

/* Make `hs` a read-only view of items[0..n); nothing is copied, so `items`
 * and the strings must outlive the extract. Overwrites `hs` without freeing. */
STITCH_EXTERN void stitch_msg_headers_view(stitch_msg_headers_t *hs,
                                           const stitch_msg_header_t *items, size_t n);
/* A carrier over `hs` (borrowed; must outlive the carrier's use). On an
 * owned list (STITCH_MSG_HEADERS_INIT) set() replaces every header of that
 * name and appends the new one, copying both strings (STITCH_ENOMEM); on a
 * view set() fails with STITCH_ESTATE. */
STITCH_EXTERN void stitch_msg_headers_carrier(stitch_msg_headers_t *hs, stitch_carrier_t *out);
/* Free what an owned list holds and reset it to empty; a view is just
 * reset. */
STITCH_EXTERN void stitch_msg_headers_free(stitch_msg_headers_t *hs);

#ifdef __cplusplus
}
#endif
#endif
