/*
 * fmapeak.c - the machine's measured peak single-precision rate, for
 * bench/darknet.sh's "% of peak": every thread runs independent fused
 * multiply-adds on the widest vectors the CPU has (AVX-512, else AVX2+FMA,
 * else SSE without FMA) for about a second, and the total rate is
 * printed.  Measured rather than computed from /proc/cpuinfo's clock,
 * which under a hypervisor is the nominal one: boost clocks made oneDNN's
 * convolutions run "above" that figure.
 *
 * usage: fmapeak THREADS          prints "fmapeak: N GFLOP/s (ISA, T threads)"
 */
#pragma GCC optimize("fp-contract=fast")

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12   /* independent accumulators: covers FMA latency x units */
#define ITERS 4000000L

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Each runs CHAINS x ITERS vector multiply-adds; returns a value that
 * depends on all of them, so that none is optimized away. */
#define KERNEL(name, type, attr)                                                                                  \
	__attribute__((target(attr), noinline)) static float name(float seed)                                    \
	{                                                                                                         \
		type acc[CHAINS], m, a;                                                                           \
		float s = 0;                                                                                      \
		long i;                                                                                           \
		int c, j;                                                                                         \
		for (j = 0; j < (int)(sizeof(type) / sizeof(float)); j++) {                                       \
			m[j] = 0.999999f;                                                                         \
			a[j] = seed * 1e-6f;                                                                      \
		}                                                                                                 \
		for (c = 0; c < CHAINS; c++)                                                                      \
			acc[c] = a * (float)c;                                                                    \
		for (i = 0; i < ITERS; i++)                                                                       \
			_Pragma("GCC unroll 16") for (c = 0; c < CHAINS; c++)                                     \
				acc[c] = acc[c] * m + a;                                                          \
		for (c = 0; c < CHAINS; c++)                                                                      \
			for (j = 0; j < (int)(sizeof(type) / sizeof(float)); j++)                                 \
				s += acc[c][j];                                                                   \
		return s;                                                                                         \
	}

KERNEL(run512, v16, "avx512f")
KERNEL(run256, v8, "avx2,fma")
KERNEL(run128, v4, "sse2")

int main(int argc, char **argv)
{
	int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : omp_get_num_procs(), lanes;
	float (*run)(float);
	const char *isa;
	volatile float sink = 0;
	double t0, secs, flops_per;

	if (threads < 1) {
		fprintf(stderr, "usage: fmapeak THREADS\n");
		return 2;
	}
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		run = run512, lanes = 16, isa = "avx512", flops_per = 2;
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		run = run256, lanes = 8, isa = "avx2+fma", flops_per = 2;
	} else {
		run = run128, lanes = 4, isa = "sse", flops_per = 2;  /* a multiply and an add */
	}
	omp_set_num_threads(threads);
#pragma omp parallel
	sink += run(1.0f);  /* warm-up: clocks up */
	t0 = now();
#pragma omp parallel
	{
		float r = run((float)omp_get_thread_num());
#pragma omp atomic
		sink += r;
	}
	secs = now() - t0;
	printf("fmapeak: %.1f GFLOP/s (%s, %d threads)\n",
	       (double)threads * ITERS * CHAINS * lanes * flops_per / secs * 1e-9, isa, threads);
	return sink == 12345.0f;  /* never; keeps sink alive */
}
