package sim

import "math"

// The simulator draws every random number from a counter-based generator:
// a stream is seeded by hashing (run seed, purpose, campaign, tick) and then
// stepped with splitmix64. Draws therefore do not depend on the order in
// which anything else was drawn, so every policy sees exactly the same
// traffic, prices and noise for a campaign and tick ("common random
// numbers"), and the comparison between policies is paired and fair.

// Stream purposes; each keeps draws for one concern independent of the others.
const (
	purposeDayNoise uint64 = iota + 1
	purposeTick
	purposeConversion
	purposeRestate
	purposeLag
	purposeOutage
	purposeWrite
	purposeKappa
	purposeGenerate
	purposePrior
	purposeBootstrap
)

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is a splitmix64 stream; the zero value is a valid (fixed) stream.
type rng struct{ s uint64 }

func newRNG(seed, purpose, a, b uint64) rng {
	h := mix64(seed ^ 0x9e3779b97f4a7c15)
	h = mix64(h ^ purpose*0x632be59bd9b4e019)
	h = mix64(h ^ (a+1)*0x85ebca77c2b2ae63)
	h = mix64(h ^ (b+1)*0xc2b2ae3d27d4eb4f)
	return rng{s: h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// open returns a uniform number in (0, 1).
func (r *rng) open() float64 { return (float64(r.next()>>11) + 0.5) / (1 << 53) }

// norm returns a standard normal deviate (Box-Muller, one of the pair).
func (r *rng) norm() float64 {
	u1, u2 := r.open(), r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// poisson draws from Poisson(mean): multiplication method for small means,
// a rounded normal approximation above 30 where its error is negligible for
// our purposes.
func (r *rng) poisson(mean float64) int64 {
	switch {
	case mean <= 0 || math.IsNaN(mean):
		return 0
	case mean < 30:
		l := math.Exp(-mean)
		var k int64
		p := 1.0
		for {
			p *= r.float()
			if p <= l {
				return k
			}
			k++
		}
	default:
		v := math.Round(mean + math.Sqrt(mean)*r.norm())
		if v < 0 {
			return 0
		}
		return int64(v)
	}
}

// binomial draws successes of n trials with probability p.
func (r *rng) binomial(n int64, p float64) int64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if n <= 64 {
		var k int64
		for i := int64(0); i < n; i++ {
			if r.float() < p {
				k++
			}
		}
		return k
	}
	m := float64(n) * p
	v := math.Round(m + math.Sqrt(m*(1-p))*r.norm())
	return int64(math.Max(0, math.Min(float64(n), v)))
}

// phi is the standard normal CDF.
func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
