#pragma once
// Placeholder: filled in by the Kafka benchmark work.
