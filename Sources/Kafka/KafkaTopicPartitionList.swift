import CRdKafka

/// Converts between the Swift partition lists and `rd_kafka_topic_partition_list_t`.
enum KafkaTopicPartitionList {
    typealias Native = UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// The caller destroys the list with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ partitions: [KafkaTopicPartition]) -> Native {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        for partition in partitions {
            let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            element.pointee.offset = partition.offset.native
        }
        return list
    }

    static func read(_ list: Native) -> [KafkaTopicPartition] {
        let count = Int(list.pointee.cnt)
        var result: [KafkaTopicPartition] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            let element = list.pointee.elems[index]
            result.append(
                KafkaTopicPartition(
                    topic: String(cString: element.topic),
                    partition: element.partition,
                    offset: KafkaOffset(native: element.offset)
                )
            )
        }
        return result
    }

    /// Per-partition errors of a list returned by librdkafka, if any.
    static func firstError(_ list: Native, ignoring ignored: [rd_kafka_resp_err_t] = []) -> KafkaError? {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err.rawValue != 0, !ignored.contains(element.err) {
                return KafkaError(element.err, "partition \(String(cString: element.topic))[\(element.partition)]")
            }
        }
        return nil
    }
}
