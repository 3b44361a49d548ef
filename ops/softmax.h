// Work in progress.
#ifndef NABLA_OPS_SOFTMAX_H_
#define NABLA_OPS_SOFTMAX_H_
#endif
