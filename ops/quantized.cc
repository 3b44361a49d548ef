#include "ops/quantized.h"
