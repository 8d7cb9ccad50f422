import CRdKafka

extension KafkaProducer {
    /// Loads the cluster's topic metadata (partitions and leaders) into the producer now.
    ///
    /// librdkafka learns a topic's partitions lazily: the first record produced to a topic waits
    /// in an unassigned queue until a Metadata round trip (and its retry interval) completes, which
    /// on a fresh process held the first second of chat messages for 0.5-1 s. Topics created
    /// afterwards still work; they pay that first wait once. Asks for all topics rather than by name
    /// so that a cluster allowing auto-creation does not create a topic that was only looked up.
    /// - Throws: `KafkaError` when no broker answered within `timeout`.
    public func loadTopicMetadata(timeout: Duration) async throws {
        let core = self.core
        try await KafkaBlockingCalls.run {
            // Borrowed for the call: a close meanwhile destroys the client only after it.
            let loaded: Void? = try core.withBorrowedHandle { handle in
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let result = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, timeout.milliseconds)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                    throw KafkaError(result, "producer: cannot read topic metadata")
                }
                rd_kafka_metadata_destroy(metadata)
            }
            if loaded == nil { throw KafkaError.closed("producer") }
        }
    }
}
