/* stitch/instrument/nats.h — producer and consumer spans for the NATS C
 * client (libnats, nats.c 3.x), with the trace context in NATS message
 * headers (NATS 2.2+ servers).
 *
 * A thin adapter over stitch/instrument/messaging.h: a carrier over a
 * natsMsg's headers plus publish / process / batch helpers that fill the
 * NATS attributes (messaging.system = "nats", messaging.destination.name =
 * the subject, messaging.message.body.size). See messaging.h for the span
 * shapes and docs/instrumentation.md for an example.
 *
 *     natsMsg *m;
 *     natsMsg_Create(&m, "cart.events", NULL, body, len);
 *     natsStatus s = stitch_nats_publish_msg(nc, m, NULL);   // PRODUCER "publish cart.events"
 *     natsMsg_Destroy(m);
 *
 *     static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg) {
 *         stitch_span_t *s = stitch_nats_process_begin(m, NULL);  // CONSUMER "process cart.events"
 *         stitch_scope_t sc = stitch_scope_push(s);
 *         ... handle the message; spans started here are children ...
 *         stitch_scope_pop(sc);
 *         stitch_msg_end(s, NULL, NULL);
 *         natsMsg_Destroy(m);
 *     }
 *
 * Header names: nats.c 3.x keeps header keys case-sensitive; the carrier
 * looks them up without regard to case (as HTTP would), and injects the
 * propagator's lower-case names (traceparent, tracestate, baggage).
 *
 * Thread safety: as nats.c's message headers — one thread per message. */
#ifndef STITCH_INSTRUMENT_NATS_H
#define STITCH_INSTRUMENT_NATS_H

#include <nats/nats.h>

#include "messaging.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STITCH_NATS_SCOPE "stitch.instrument.nats"

/* A carrier over `msg`'s headers: get() finds the idx-th value of a header
 * without regard to the name's case (the pointer is owned by the message
 * and lives as long as it); set() replaces the header (natsMsgHeader_Set;
 * an error is STITCH_EIO); keys() lists the names. Nothing is allocated
 * beyond what nats.c allocates for its header lists. */
STITCH_EXTERN void stitch_nats_carrier(natsMsg *msg, stitch_carrier_t *out);

/* Options; NULL means all defaults. The messaging options' system,
 * destination and body size are filled from the message; the tracer
 * defaults to stitch_global_tracer(STITCH_NATS_SCOPE, ...). Anything set
 * in `msg` (server.address, client id, parent, ...) is used as is. */
typedef struct stitch_nats_opts {
    stitch_msg_opts_t msg;
} stitch_nats_opts_t;

/* PRODUCER span `publish <subject>` + context injected into msg's headers
 * + natsConnection_PublishMsg + end. A publish error sets ERROR with
 * error.type = the natsStatus name (e.g. "NATS_CONNECTION_CLOSED") and
 * natsStatus_GetText as the message. Returns PublishMsg's status
 * (NATS_INVALID_ARG for NULLs). `msg` stays the caller's. */
STITCH_EXTERN natsStatus stitch_nats_publish_msg(natsConnection *nc, natsMsg *msg,
                                                 const stitch_nats_opts_t *opts);

/* The same as two calls, for code that publishes by itself (JetStream's
 * js_PublishMsg, request/reply): begin injects and returns the span (never
 * NULL); end records `status` (NATS_OK: success) and ends it. */
STITCH_EXTERN stitch_span_t *stitch_nats_publish_begin(natsMsg *msg, const stitch_nats_opts_t *opts);
STITCH_EXTERN void stitch_nats_publish_end(stitch_span_t *span, natsStatus status);

/* CONSUMER span `process <subject>` for one received message, child of
 * (and linked to) the message's creation context. End it with
 * stitch_msg_end(). Never NULL. */
STITCH_EXTERN stitch_span_t *stitch_nats_process_begin(natsMsg *msg, const stitch_nats_opts_t *opts);

/* One CONSUMER span for `n` messages handled together (a batch of
 * natsSubscription_NextMsg results, or natsSubscription_Fetch's list):
 * one link per message with a context, messaging.batch.message_count = n.
 * The subject is the options' destination, else the first message's.
 * Never NULL. */
STITCH_EXTERN stitch_span_t *stitch_nats_batch_begin(natsMsg *const *msgs, size_t n,
                                                     const stitch_nats_opts_t *opts);

/* "NATS_TIMEOUT" for NATS_TIMEOUT, ...; "NATS_<number>" for codes it does
 * not know. Static. */
STITCH_EXTERN const char *stitch_nats_status_name(natsStatus s);

#ifdef __cplusplus
}
#endif
#endif
