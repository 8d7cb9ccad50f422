#include "CKafkaBaseline.h"
