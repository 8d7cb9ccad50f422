#include "common.h"

#include <stdlib.h>
#include <string.h>

int ckb_produce_throughput(const ckb_target *target, int64_t count, int32_t payload_size, ckb_result *result) {
    memset(result, 0, sizeof *result);
    ckb_delivery_counts counts = {0};
    rd_kafka_t *producer = ckb_new_client(RD_KAFKA_PRODUCER, target, target->producer_properties, &counts, result);
    if (producer == NULL) return -1;
    unsigned char *payload = malloc((size_t)payload_size);
    memset(payload, 'x', (size_t)payload_size);
    int status = -1;
    if (ckb_warm_up(producer, target, result) != 0) goto done;
    counts = (ckb_delivery_counts){0};

    int64_t start = ckb_now_ns();
    int64_t cpu_start = ckb_process_cpu_ns();
    for (int64_t index = 0; index < count;) {
        rd_kafka_resp_err_t error = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(target->topic), RD_KAFKA_V_PARTITION((int32_t)(index % target->partitions)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(payload, (size_t)payload_size), RD_KAFKA_V_END);
        if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
            index++;
            // Serving delivery reports now and then keeps the callback work spread out without
            // paying a queue lock per record.
            if ((index & 1023) == 0) rd_kafka_poll(producer, 0);
        } else if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            // queue.buffering.max.messages reached: delivery reports make room.
            rd_kafka_poll(producer, 1);
        } else {
            ckb_fail(result, "produce: %s", rd_kafka_err2str(error));
            goto done;
        }
    }
    if (rd_kafka_flush(producer, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ckb_fail(result, "flush timed out with %d records in flight", rd_kafka_outq_len(producer));
    }
    result->elapsed_ns = ckb_now_ns() - start;
    result->cpu_ns = ckb_process_cpu_ns() - cpu_start;
    result->delivered = counts.delivered;
    result->failed = count - counts.delivered;
    status = result->error[0] == 0 ? 0 : -1;
done:
    free(payload);
    rd_kafka_destroy(producer);
    return status;
}
