#include "ops/conv.h"
