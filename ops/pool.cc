#include "ops/pool.h"
