// Work in progress.
#ifndef NABLA_OPS_METRICS_H_
#define NABLA_OPS_METRICS_H_
#endif
