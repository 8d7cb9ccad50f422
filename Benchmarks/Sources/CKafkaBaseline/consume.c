#include "common.h"

#include <string.h>

int ckb_consume_throughput(const ckb_target *target, int64_t expected, int32_t timeout_ms, ckb_result *result) {
    memset(result, 0, sizeof *result);
    rd_kafka_t *consumer = ckb_new_assigned_consumer(target, result);
    if (consumer == NULL) return -1;
    int64_t deadline = ckb_now_ns() + (int64_t)timeout_ms * 1000000;
    int64_t first = 0;
    int64_t last = 0;
    int64_t cpu_first = 0;
    // Touch every payload so the loop does what a real reader must at least do.
    uint64_t checksum = 0;
    while (result->delivered < expected && ckb_now_ns() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (message == NULL) continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            last = ckb_now_ns();
            // The process CPU clock is a system call, not vDSO: read it at the ends only.
            if (result->delivered == 0) {
                first = last;
                cpu_first = ckb_process_cpu_ns();
            }
            result->delivered++;
            if (message->len > 0) checksum += ((const unsigned char *)message->payload)[message->len - 1];
        }
        rd_kafka_message_destroy(message);
    }
    result->elapsed_ns = last - first;
    result->cpu_ns = ckb_process_cpu_ns() - cpu_first;
    result->failed = expected - result->delivered;
    if (result->delivered < expected) {
        ckb_fail(result, "timed out: %lld of %lld records (checksum %llu)", (long long)result->delivered,
                 (long long)expected, (unsigned long long)checksum);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return result->error[0] == 0 ? 0 : -1;
}
