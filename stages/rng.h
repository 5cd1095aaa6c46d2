/*
 * rng.h - the seeded random numbers of stage kinds (xoshiro256**, seeded
 * through splitmix64): the same seed gives the same stream on every machine,
 * so results are deterministic for a seed.  Not a kind.
 */
#ifndef SUL_RNG_H
#define SUL_RNG_H

#include <stdint.h>

struct sul_rng {
	uint64_t s[4];
};

void sul_rng_seed(struct sul_rng *r, uint64_t seed);
uint64_t sul_rng_next(struct sul_rng *r);
/* Uniform in [0, 1). */
double sul_rng_uniform(struct sul_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t sul_rng_below(struct sul_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double sul_rng_normal(struct sul_rng *r);

#endif
