package drift

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// benchValue is the k-th value of a splitmix64 stream mapped to (0,1); the
// python side of bench/drift.sh computes the same stream with numpy, so
// both time the same data.
func benchValue(k uint64) float64 {
	z := (k + 1) * 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return (float64(z>>11) + 0.5) / (1 << 53)
}

// benchData returns feature f's reference and current columns: exponential
// with scale f+1, the current one stretched by 5%.
func benchData(rows, features int) (ref, cur [][]float64) {
	ref, cur = make([][]float64, features), make([][]float64, features)
	for f := range features {
		ref[f], cur[f] = make([]float64, rows), make([]float64, rows)
		for i := range rows {
			ref[f][i] = -math.Log(benchValue(uint64(f*rows+i))) * float64(f+1)
			cur[f][i] = -math.Log(benchValue(uint64((f+features)*rows+i))) * float64(f+1) * 1.05
		}
	}
	return ref, cur
}

// BenchmarkPSIKS1Mx20 times PSI and KS of 20 features over 1,000,000
// reference and 1,000,000 current rows each, building the references too,
// features spread over the available cores.
func BenchmarkPSIKS1Mx20(b *testing.B) {
	ref, cur := benchData(1_000_000, 20)
	cfg := DefaultConfig()
	b.ResetTimer()
	for range b.N {
		out := make([]Result, len(ref))
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for f := range next {
					out[f] = CompareNumeric(cfg, "x", NewNumeric(ref[f]), cur[f])
				}
			})
		}
		for f := range ref {
			next <- f
		}
		close(next)
		wg.Wait()
	}
}

// BenchmarkPSIKSPrepared1Mx20 is BenchmarkPSIKS1Mx20 with the references
// built once outside the timer, as the monitor does for a production
// version: what one day's check costs.
func BenchmarkPSIKSPrepared1Mx20(b *testing.B) {
	ref, cur := benchData(1_000_000, 20)
	refs := make([]*Numeric, len(ref))
	for f := range ref {
		refs[f] = NewNumeric(ref[f])
	}
	cfg := DefaultConfig()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for f := range next {
					_ = CompareNumeric(cfg, "x", refs[f], cur[f])
				}
			})
		}
		for f := range refs {
			next <- f
		}
		close(next)
		wg.Wait()
	}
}
