#include "ops/losses.h"
