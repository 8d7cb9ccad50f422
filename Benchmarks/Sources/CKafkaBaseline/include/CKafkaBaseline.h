#pragma once
// The C reference the kafka-bench executable compares the Swift wrapper against: librdkafka used
// directly, the way a careful C program would. Each function creates and destroys its own clients,
// runs its own loops and threads, and blocks until done, so Swift calls it from a dedicated thread.
#include <stdint.h>
#include <stddef.h>

/// Where to produce or consume, and the librdkafka properties to use.
typedef struct {
    const char *bootstrap_servers;
    const char *topic;
    int32_t partitions;
    /// NULL-terminated "key", "value", "key", "value", ... list applied to producers.
    const char *const *producer_properties;
    /// Same shape, applied to consumers.
    const char *const *consumer_properties;
} ckb_target;

/// What one measurement did. `error` is empty when it succeeded.
typedef struct {
    /// The timed interval: first produce to last delivery report, or first to last record consumed.
    int64_t elapsed_ns;
    /// CPU time of the whole process (every thread, embedded brokers included) over the same interval.
    int64_t cpu_ns;
    /// Records acknowledged (produce) or received (consume, latency).
    int64_t delivered;
    /// Records that failed or never arrived.
    int64_t failed;
    char error[256];
} ckb_result;

/// CLOCK_MONOTONIC in nanoseconds; both sides stamp and read latency payloads with it.
int64_t ckb_now_ns(void);

/// CPU time consumed so far by the whole process (CLOCK_PROCESS_CPUTIME_ID), in nanoseconds.
int64_t ckb_process_cpu_ns(void);

/// librdkafka's version string, e.g. "2.0.2".
const char *ckb_librdkafka_version(void);

/// Produces `count` records of `payload_size` bytes round-robin over the partitions and waits for
/// every delivery report. A warm-up record per partition (not timed) first connects the producer
/// and obtains its producer id. Returns 0 on success.
int ckb_produce_throughput(const ckb_target *target, int64_t count, int32_t payload_size, ckb_result *result);

/// Reads `expected` records from the beginning of every partition; times first to last record.
int ckb_consume_throughput(const ckb_target *target, int64_t expected, int32_t timeout_ms, ckb_result *result);

/// Sends `rate` records per second for `duration_ms`, each stamped with ckb_now_ns() just before
/// rd_kafka_producev, while a consumer thread polling with rd_kafka_consumer_poll records
/// `now - stamp` per record in `latencies_ns[sequence]` (-1 for records that never arrived).
/// `capacity` must be at least rate * duration_ms / 1000.
int ckb_produce_consume_latency(const ckb_target *target, int32_t rate, int32_t duration_ms, int32_t payload_size,
                                int64_t *latencies_ns, int64_t capacity, ckb_result *result);
