/*
 * tools/cloudsim/sim_rng.h - the simulator's seeded random numbers.
 *
 * Every decision that tests want to reproduce (status plans, duplicates,
 * reordering, fault probabilities) draws from a splitmix64 stream derived
 * from the --seed and a per-request sequence number, never from shared
 * state: the same seed and the same sequence of requests give the same
 * decisions, whatever thread handles each request.
 */
#ifndef JANSEVA_SIM_RNG_H
#define JANSEVA_SIM_RNG_H

#include <stdint.h>

/* Next 64 random bits; advances *state. */
static inline uint64_t sim_rng_next(uint64_t *state)
{
    uint64_t z;

    *state += 0x9e3779b97f4a7c15ULL;
    z = *state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static inline double sim_rng_unit(uint64_t *state)
{
    return (double)(sim_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability `p` (p <= 0 never draws true, p >= 1 always). */
static inline int sim_rng_chance(uint64_t *state, double p)
{
    double u = sim_rng_unit(state);

    return p > 0.0 && u < p;
}

/* A bijective 64-bit mix (the splitmix64 finaliser). */
static inline uint64_t sim_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*
 * The state of stream `stream`, item `n` under `seed`. Mixed so that the
 * streams of neighbouring items are unrelated (not shifted copies).
 */
static inline uint64_t sim_rng_for(uint64_t seed, uint64_t stream, uint64_t n)
{
    return sim_rng_mix(seed ^ sim_rng_mix(stream * 0xd1b54a32d192ed03ULL ^ sim_rng_mix(n)));
}

#endif
