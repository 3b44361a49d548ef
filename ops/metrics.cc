#include "ops/metrics.h"
