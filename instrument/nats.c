/* NATS adapter (stitch/instrument/nats.h): a carrier over natsMsg headers
 * and the NATS attributes; the span shapes come from messaging.c.
 *
 * Invariant: the carrier never keeps what nats.c hands out beyond one
 * callback, except value pointers, which nats.c owns for the message's
 * lifetime; the key/value arrays nats.c allocates are freed before each
 * callback returns. */
#include "stitch/instrument/nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the carrier --------------------------------------------------------------- */

static const char *nats_get(void *self, const char *name, size_t idx, size_t *len)
{
    natsMsg *m = self;
    const char **keys = NULL;
    int nkeys = 0;
    if (natsMsgHeader_Keys(m, &keys, &nkeys) != NATS_OK)
        return NULL;
    const char *found = NULL;
    for (int i = 0; i < nkeys && !found; i++) {
        if (strcasecmp(keys[i], name) != 0)
            continue;
        const char **vals = NULL;
        int nvals = 0;
        if (natsMsgHeader_Values(m, keys[i], &vals, &nvals) != NATS_OK)
            continue;
        if (idx < (size_t)nvals)
            found = vals[idx] ? vals[idx] : "";
        else
            idx -= (size_t)nvals;
        free((void *)vals);
    }
    free((void *)keys);
    if (found)
        *len = strlen(found);
    return found;
}

static int nats_set(void *self, const char *name, const char *value)
{
    natsMsg *m = self;
    /* Remove any other spelling of the name first: a receiver must not see
     * both "traceparent" and "Traceparent". */
    const char **keys = NULL;
    int nkeys = 0;
    if (natsMsgHeader_Keys(m, &keys, &nkeys) == NATS_OK) {
        for (int i = 0; i < nkeys; i++)
            if (strcasecmp(keys[i], name) == 0 && strcmp(keys[i], name) != 0)
                (void)natsMsgHeader_Delete(m, keys[i]);
        free((void *)keys);
    }
    natsStatus s = natsMsgHeader_Set(m, name, value);
    return s == NATS_OK ? 0 : s == NATS_NO_MEMORY ? STITCH_ENOMEM : STITCH_EIO;
}

static void nats_keys(void *self, void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    natsMsg *m = self;
    const char **keys = NULL;
    int nkeys = 0;
    if (natsMsgHeader_Keys(m, &keys, &nkeys) != NATS_OK)
        return;
    for (int i = 0; i < nkeys; i++)
        fn(arg, keys[i], strlen(keys[i]));
    free((void *)keys);
}

void stitch_nats_carrier(natsMsg *msg, stitch_carrier_t *out)
{
    out->self = msg;
    out->get = nats_get;
    out->set = nats_set;
    out->keys = nats_keys;
}

/* ---- names ------------------------------------------------------------------------ */

const char *stitch_nats_status_name(natsStatus s)
{
    switch (s) {
    case NATS_OK: return "NATS_OK";
    case NATS_ERR: return "NATS_ERR";
    case NATS_PROTOCOL_ERROR: return "NATS_PROTOCOL_ERROR";
    case NATS_IO_ERROR: return "NATS_IO_ERROR";
    case NATS_CONNECTION_CLOSED: return "NATS_CONNECTION_CLOSED";
    case NATS_NO_SERVER: return "NATS_NO_SERVER";
    case NATS_STALE_CONNECTION: return "NATS_STALE_CONNECTION";
    case NATS_CONNECTION_DISCONNECTED: return "NATS_CONNECTION_DISCONNECTED";
    case NATS_CONNECTION_AUTH_FAILED: return "NATS_CONNECTION_AUTH_FAILED";
    case NATS_NOT_PERMITTED: return "NATS_NOT_PERMITTED";
    case NATS_INVALID_SUBJECT: return "NATS_INVALID_SUBJECT";
    case NATS_INVALID_ARG: return "NATS_INVALID_ARG";
    case NATS_ILLEGAL_STATE: return "NATS_ILLEGAL_STATE";
    case NATS_SLOW_CONSUMER: return "NATS_SLOW_CONSUMER";
    case NATS_MAX_PAYLOAD: return "NATS_MAX_PAYLOAD";
    case NATS_NO_MEMORY: return "NATS_NO_MEMORY";
    case NATS_TIMEOUT: return "NATS_TIMEOUT";
    case NATS_NO_SERVER_SUPPORT: return "NATS_NO_SERVER_SUPPORT";
    case NATS_DRAINING: return "NATS_DRAINING";
    case NATS_NO_RESPONDERS: return "NATS_NO_RESPONDERS";
    default: break;
    }
    /* Rare codes: a stable name from the number, in a per-thread buffer so
     * the result stays valid while the caller uses it. */
    static _Thread_local char buf[24];
    if (snprintf(buf, sizeof buf, "NATS_%d", (int)s) >= (int)sizeof buf)
        return "_OTHER";
    return buf;
}

/* ---- spans ------------------------------------------------------------------------- */

/* The messaging options for `msg`: the caller's, with the NATS system, the
 * subject and the body size filled in where the caller left them empty. */
static stitch_msg_opts_t opts_for(natsMsg *msg, const stitch_nats_opts_t *o)
{
    stitch_msg_opts_t m = {0};
    if (o)
        m = o->msg;
    if (!m.system)
        m.system = "nats";
    if (!m.tracer)
        m.tracer = stitch_global_tracer(STITCH_NATS_SCOPE, STITCH_VERSION_STRING);
    if (msg) {
        if (!m.destination)
            m.destination = natsMsg_GetSubject(msg);
        if (!m.body_size_known) {
            int len = natsMsg_GetDataLength(msg);
            if (len >= 0) {
                m.body_size = (size_t)len;
                m.body_size_known = true;
            }
        }
    }
    return m;
}

stitch_span_t *stitch_nats_publish_begin(natsMsg *msg, const stitch_nats_opts_t *opts)
{
    stitch_msg_opts_t m = opts_for(msg, opts);
    stitch_carrier_t c;
    if (msg)
        stitch_nats_carrier(msg, &c);
    return stitch_msg_publish_begin(&m, msg ? &c : NULL);
}

void stitch_nats_publish_end(stitch_span_t *span, natsStatus status)
{
    if (status == NATS_OK)
        stitch_msg_end(span, NULL, NULL);
    else
        stitch_msg_end(span, stitch_nats_status_name(status), natsStatus_GetText(status));
}

natsStatus stitch_nats_publish_msg(natsConnection *nc, natsMsg *msg, const stitch_nats_opts_t *opts)
{
    if (!nc || !msg)
        return NATS_INVALID_ARG;
    stitch_span_t *s = stitch_nats_publish_begin(msg, opts);
    natsStatus st = natsConnection_PublishMsg(nc, msg);
    stitch_nats_publish_end(s, st);
    return st;
}

stitch_span_t *stitch_nats_process_begin(natsMsg *msg, const stitch_nats_opts_t *opts)
{
    stitch_msg_opts_t m = opts_for(msg, opts);
    stitch_carrier_t c;
    if (msg)
        stitch_nats_carrier(msg, &c);
    return stitch_msg_process_begin(&m, msg ? &c : NULL);
}

stitch_span_t *stitch_nats_batch_begin(natsMsg *const *msgs, size_t n, const stitch_nats_opts_t *opts)
{
    stitch_msg_opts_t m = opts_for(NULL, opts);
    if (!m.destination && n && msgs[0])
        m.destination = natsMsg_GetSubject(msgs[0]);
    stitch_carrier_t stack[16];
    stitch_carrier_t *cs = n <= 16 ? stack : calloc(n, sizeof *cs);
    if (!cs)
        return stitch_msg_batch_begin(&m, NULL, 0);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (msgs[i])
            stitch_nats_carrier(msgs[i], &cs[k++]);
    stitch_span_t *s = stitch_msg_batch_begin(&m, cs, k);
    if (k != n) /* the count is of messages handled, NULL slots are not messages */
        (void)stitch_span_set_int(s, "messaging.batch.message_count", (int64_t)k);
    if (cs != stack)
        free(cs);
    return s;
}
