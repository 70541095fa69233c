package gate

import "testing"

// BenchmarkGateStatistics measures what one gate computes on a holdout of
// 1,000,000 rows: DeLong's test and a paired bootstrap of 1,000 resamples.
func BenchmarkGateStatistics(b *testing.B) {
	p := sample(1, 1_000_000, 0.5, 0.6)
	b.ResetTimer()
	for b.Loop() {
		if _, err := PairedDeLong(p.Y, p.Challenger, p.Production); err != nil {
			b.Fatal(err)
		}
		if _, err := Bootstrap(p, BootstrapConfig{Resamples: 1000, Seed: 1, Confidence: 0.95}); err != nil {
			b.Fatal(err)
		}
	}
}
