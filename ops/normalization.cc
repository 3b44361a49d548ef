#include "ops/normalization.h"
