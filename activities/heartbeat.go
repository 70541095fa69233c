package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatWhile heartbeats every few seconds until stopped, so a worker
// that dies mid-step is noticed within the heartbeat timeout.
func heartbeatWhile(ctx context.Context, phase string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			activity.RecordHeartbeat(ctx, fmt.Sprintf("%s for %s", phase, time.Since(start).Round(time.Second)))
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
