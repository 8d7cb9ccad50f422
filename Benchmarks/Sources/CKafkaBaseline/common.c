#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ckb_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int64_t ckb_process_cpu_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

const char *ckb_librdkafka_version(void) {
    return rd_kafka_version_str();
}

void ckb_fail(ckb_result *result, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(result->error, sizeof result->error, format, arguments);
    va_end(arguments);
}

static void count_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    ckb_delivery_counts *counts = opaque;
    // Called only from rd_kafka_poll / rd_kafka_flush on the producing thread: no atomics needed.
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        counts->delivered++;
    } else {
        counts->failed++;
    }
}

static int set_property(rd_kafka_conf_t *conf, const char *key, const char *value, ckb_result *result) {
    char reason[256];
    if (rd_kafka_conf_set(conf, key, value, reason, sizeof reason) != RD_KAFKA_CONF_OK) {
        ckb_fail(result, "invalid property %s=%s: %s", key, value, reason);
        return -1;
    }
    return 0;
}

rd_kafka_t *ckb_new_client(rd_kafka_type_t type, const ckb_target *target, const char *const *properties,
                           void *opaque, ckb_result *result) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set_property(conf, "bootstrap.servers", target->bootstrap_servers, result) != 0) goto fail;
    for (const char *const *entry = properties; entry != NULL && entry[0] != NULL; entry += 2) {
        if (entry[1] == NULL) {
            ckb_fail(result, "property %s has no value", entry[0]);
            goto fail;
        }
        if (set_property(conf, entry[0], entry[1], result) != 0) goto fail;
    }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, count_delivery);
    rd_kafka_conf_set_opaque(conf, opaque);
    char reason[256];
    rd_kafka_t *client = rd_kafka_new(type, conf, reason, sizeof reason);
    if (client == NULL) {
        ckb_fail(result, "rd_kafka_new: %s", reason);
        goto fail;
    }
    return client;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int ckb_warm_up(rd_kafka_t *producer, const ckb_target *target, ckb_result *result) {
    unsigned char payload[CKB_HEADER_SIZE];
    ckb_write_header(payload, CKB_WARMUP_SEQUENCE, ckb_now_ns());
    for (int32_t partition = 0; partition < target->partitions; partition++) {
        rd_kafka_resp_err_t error = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(target->topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(payload, sizeof payload), RD_KAFKA_V_END);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ckb_fail(result, "warm-up produce: %s", rd_kafka_err2str(error));
            return -1;
        }
    }
    if (rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ckb_fail(result, "warm-up flush timed out");
        return -1;
    }
    return 0;
}

rd_kafka_t *ckb_new_assigned_consumer(const ckb_target *target, ckb_result *result) {
    rd_kafka_t *consumer = ckb_new_client(RD_KAFKA_CONSUMER, target, target->consumer_properties, NULL, result);
    if (consumer == NULL) return NULL;
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(target->partitions);
    for (int32_t partition = 0; partition < target->partitions; partition++) {
        rd_kafka_topic_partition_list_add(list, target->topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t error = rd_kafka_assign(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ckb_fail(result, "assign: %s", rd_kafka_err2str(error));
        rd_kafka_destroy(consumer);
        return NULL;
    }
    return consumer;
}

void ckb_write_header(unsigned char *payload, uint64_t sequence, int64_t stamp_ns) {
    memcpy(payload, &sequence, sizeof sequence);
    memcpy(payload + sizeof sequence, &stamp_ns, sizeof stamp_ns);
}

void ckb_read_header(const unsigned char *payload, uint64_t *sequence, int64_t *stamp_ns) {
    memcpy(sequence, payload, sizeof *sequence);
    memcpy(stamp_ns, payload + sizeof *sequence, sizeof *stamp_ns);
}
