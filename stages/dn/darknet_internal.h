/*
 * darknet_internal.h - functions of libdarknet that darknet.h does not
 * declare but the library exports (declared in the headers of Darknet's src/).  Their
 * signatures are those of Debian's darknet 0.0.0+git20180914.61c9d02e; the
 * ones we replace (stages/dn/blas.c) must match them exactly.
 */
#ifndef SUL_DN_DARKNET_INTERNAL_H
#define SUL_DN_DARKNET_INTERNAL_H

#include <darknet.h>

void gemm(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb, float beta,
	  float *c, int ldc);
void gemm_cpu(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
	      float beta, float *c, int ldc);
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride, int pad,
		float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride, int pad,
		float *data_im);
void add_bias(float *output, float *biases, int batch, int n, int size);
void scale_bias(float *output, float *scales, int batch, int n, int size);
void backward_bias(float *bias_updates, float *delta, int batch, int n, int size);
void activate_array(float *x, const int n, const ACTIVATION a);
float activate(float x, ACTIVATION a);
float gradient(float x, ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);
void mean_cpu(float *x, int batch, int filters, int spatial, float *mean);
void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance);
void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size, float *scale_updates);
void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial, float *mean_delta);
void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch, int filters,
			int spatial, float *variance_delta);
void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta, float *variance_delta,
			 int batch, int filters, int spatial, float *delta);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);
void backward_connected_layer(layer l, network net);
char *get_layer_string(LAYER_TYPE a);

#ifdef GPU
/* The CUDA build's (in src/, .h and .cu files); darknet.h declares the memory
 * functions (cuda_make_array, cuda_push_array, cuda_pull_array, ...). */
void gemm_gpu(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
	      float beta, float *c, int ldc);
void im2col_gpu(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *data_col);
void col2im_gpu(float *data_col, int channels, int height, int width, int ksize, int stride, int pad,
		float *data_im);
void add_bias_gpu(float *output, float *biases, int batch, int n, int size);
void scale_bias_gpu(float *output, float *biases, int batch, int n, int size);
void backward_bias_gpu(float *bias_updates, float *delta, int batch, int n, int size);
void activate_array_gpu(float *x, int n, ACTIVATION a);
void gradient_array_gpu(float *x, int n, ACTIVATION a, float *delta);
void forward_batchnorm_layer_gpu(layer l, network net);
void backward_batchnorm_layer_gpu(layer l, network net);
void mul_gpu(int n, float *x, int incx, float *y, int incy);
void pull_convolutional_layer(layer l);
void push_convolutional_layer(layer l);
void pull_connected_layer(layer l);
void push_connected_layer(layer l);
void pull_batchnorm_layer(layer l);
void push_batchnorm_layer(layer l);
#endif

#endif
