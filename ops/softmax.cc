#include "ops/softmax.h"
