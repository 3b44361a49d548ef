// Work in progress.
#ifndef NABLA_OPS_CONV_H_
#define NABLA_OPS_CONV_H_
#endif
