print("kafka-bench: not written yet")
