// Work in progress.
#ifndef NABLA_OPS_OPTIMIZERS_H_
#define NABLA_OPS_OPTIMIZERS_H_
#endif
