#pragma once
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stddef.h>

/// Produces one message to an explicit partition. `rd_kafka_producev` is variadic and
/// cannot be called from Swift, so the wrapper goes through this function.
/// On success ownership of `headers` passes to librdkafka; on failure it stays with the caller.
rd_kafka_resp_err_t chat_kafka_produce(rd_kafka_t *rk,
                                       const char *topic,
                                       int32_t partition,
                                       const void *key, size_t key_len,
                                       const void *value, size_t value_len,
                                       rd_kafka_headers_t *headers,
                                       int64_t timestamp_ms,
                                       void *opaque);

/// The opaque pointer passed with a message to `chat_kafka_produce`, as seen in its delivery report.
static inline void *chat_kafka_message_opaque(const rd_kafka_message_t *message) {
    return message->_private;
}
