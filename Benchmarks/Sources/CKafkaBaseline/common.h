#pragma once
#include "CKafkaBaseline.h"
#include <librdkafka/rdkafka.h>

/// Payload layout shared with the Swift side: sequence number, then send stamp, both host-endian.
enum { CKB_HEADER_SIZE = 16 };
#define CKB_WARMUP_SEQUENCE UINT64_MAX

void ckb_fail(ckb_result *result, const char *format, ...);

/// A client configured with `properties` and this library's delivery callback (producers) or
/// consumer defaults (consumers); NULL with `result->error` set on failure.
rd_kafka_t *ckb_new_client(rd_kafka_type_t type, const ckb_target *target, const char *const *properties,
                           void *opaque, ckb_result *result);

/// Counts delivery reports into the `ckb_delivery_counts` passed as the client's opaque.
typedef struct {
    int64_t delivered;
    int64_t failed;
} ckb_delivery_counts;

/// Produces one warm-up record per partition and flushes, so timing starts on a connected
/// producer that has its producer id and the topic's metadata.
int ckb_warm_up(rd_kafka_t *producer, const ckb_target *target, ckb_result *result);

/// A consumer assigned to every partition of the target from the beginning.
rd_kafka_t *ckb_new_assigned_consumer(const ckb_target *target, ckb_result *result);

void ckb_write_header(unsigned char *payload, uint64_t sequence, int64_t stamp_ns);
void ckb_read_header(const unsigned char *payload, uint64_t *sequence, int64_t *stamp_ns);
