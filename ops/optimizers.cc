#include "ops/optimizers.h"
