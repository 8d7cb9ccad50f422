import Kafka
import ServiceLifecycle

/// Closes the producer (flushing what is in flight) when the node shuts down.
struct ProducerService: Service {
    let producer: KafkaProducer

    func run() async throws {
        try? await gracefulShutdown()
        await producer.close()
    }
}
