// Work in progress.
#ifndef NABLA_OPS_POOL_H_
#define NABLA_OPS_POOL_H_
#endif
