// Work in progress.
#ifndef NABLA_OPS_LOSSES_H_
#define NABLA_OPS_LOSSES_H_
#endif
