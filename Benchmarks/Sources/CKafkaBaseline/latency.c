#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/// State shared between the producing thread and the consumer thread.
typedef struct {
    rd_kafka_t *consumer;
    int64_t *latencies_ns;
    int64_t capacity;
    atomic_int stop;
    atomic_llong warmups;
    atomic_llong received;
} reader;

static void *read_loop(void *argument) {
    reader *state = argument;
    while (!atomic_load(&state->stop)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(state->consumer, 100);
        if (message == NULL) continue;
        int64_t now = ckb_now_ns();
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->len >= CKB_HEADER_SIZE) {
            uint64_t sequence;
            int64_t stamp;
            ckb_read_header(message->payload, &sequence, &stamp);
            if (sequence == CKB_WARMUP_SEQUENCE) {
                atomic_fetch_add(&state->warmups, 1);
            } else if (sequence < (uint64_t)state->capacity && state->latencies_ns[sequence] < 0) {
                state->latencies_ns[sequence] = now - stamp;
                atomic_fetch_add(&state->received, 1);
            }
        }
        rd_kafka_message_destroy(message);
    }
    return NULL;
}

/// Sleeps until `deadline_ns` on the clock the stamps use, absorbing early wake-ups.
static void sleep_until(int64_t deadline_ns) {
    struct timespec deadline = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) != 0) {
    }
}

/// Polls `value` every millisecond until it reaches `target` or `timeout_ms` passes.
static int wait_for(atomic_llong *value, int64_t target, int64_t timeout_ms, rd_kafka_t *producer) {
    int64_t deadline = ckb_now_ns() + timeout_ms * 1000000;
    while (atomic_load(value) < target) {
        if (ckb_now_ns() > deadline) return -1;
        rd_kafka_poll(producer, 1);
    }
    return 0;
}

int ckb_produce_consume_latency(const ckb_target *target, int32_t rate, int32_t duration_ms, int32_t payload_size,
                                int64_t *latencies_ns, int64_t capacity, ckb_result *result) {
    memset(result, 0, sizeof *result);
    int64_t total = (int64_t)rate * duration_ms / 1000;
    if (rate <= 0 || total > capacity || payload_size < CKB_HEADER_SIZE) {
        ckb_fail(result, "invalid arguments: rate %d for %d ms into %lld slots, payload %d bytes", rate, duration_ms,
                 (long long)capacity, payload_size);
        return -1;
    }
    for (int64_t index = 0; index < capacity; index++) latencies_ns[index] = -1;

    reader state = {.latencies_ns = latencies_ns, .capacity = capacity};
    state.consumer = ckb_new_assigned_consumer(target, result);
    if (state.consumer == NULL) return -1;
    ckb_delivery_counts counts = {0};
    rd_kafka_t *producer = ckb_new_client(RD_KAFKA_PRODUCER, target, target->producer_properties, &counts, result);
    if (producer == NULL) {
        rd_kafka_destroy(state.consumer);
        return -1;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, read_loop, &state);
    unsigned char *payload = malloc((size_t)payload_size);
    memset(payload, 'x', (size_t)payload_size);

    // Timing starts once the consumer has fetched a record of every partition: connected and at the end.
    if (ckb_warm_up(producer, target, result) != 0) goto done;
    if (wait_for(&state.warmups, target->partitions, 30000, producer) != 0) {
        ckb_fail(result, "consumer did not see the warm-up records");
        goto done;
    }

    int64_t interval_ns = 1000000000 / rate;
    int64_t start = ckb_now_ns() + 1000000;
    for (int64_t sequence = 0; sequence < total; sequence++) {
        sleep_until(start + sequence * interval_ns);
        ckb_write_header(payload, (uint64_t)sequence, ckb_now_ns());
        rd_kafka_resp_err_t error = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(target->topic), RD_KAFKA_V_PARTITION((int32_t)(sequence % target->partitions)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(payload, (size_t)payload_size), RD_KAFKA_V_END);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ckb_fail(result, "produce: %s", rd_kafka_err2str(error));
            goto done;
        }
        rd_kafka_poll(producer, 0);
    }
    result->elapsed_ns = ckb_now_ns() - start;
    rd_kafka_flush(producer, 30000);
    if (wait_for(&state.received, total, 10000, producer) != 0) {
        ckb_fail(result, "%lld of %lld records never arrived", (long long)(total - atomic_load(&state.received)),
                 (long long)total);
    }
done:
    atomic_store(&state.stop, 1);
    pthread_join(thread, NULL);
    result->delivered = atomic_load(&state.received);
    result->failed = total - result->delivered;
    free(payload);
    rd_kafka_destroy(producer);
    rd_kafka_consumer_close(state.consumer);
    rd_kafka_destroy(state.consumer);
    return result->error[0] == 0 ? 0 : -1;
}
