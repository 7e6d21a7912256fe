package memory_test

import (
	"testing"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/pubsub/bustest"
	"github.com/maniwani/maniwani/pubsub/memory"
)

func TestBus(t *testing.T) {
	bustest.RunInBubble(t, func(t *testing.T) maniwani.Bus {
		b := memory.New(memory.Config{
			HistoryLen:       bustest.HistoryLen,
			Visibility:       bustest.Visibility,
			MaxDeliveries:    bustest.MaxDeliveries,
			SubscriberBuffer: bustest.SubscriberBuffer,
		})
		t.Cleanup(func() { b.Close() })
		return b
	})
}
