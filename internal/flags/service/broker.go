package service

import "sync"

// subscriberBuffer is how many events a subscriber may lag before it is dropped; a dropped OFREP stream
// reconnects and re-fetches, so dropping is safe and keeps one slow client from holding up the rest.
const subscriberBuffer = 64

type subscriber struct {
	environment string
	ch          chan Event
}

type broker struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

func (b *broker) subscribe(environment string) (<-chan Event, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := &subscriber{environment: environment, ch: make(chan Event, subscriberBuffer)}
	if b.closed {
		close(sub.ch)
		return sub.ch, func() {}
	}
	if b.subs == nil {
		b.subs = map[*subscriber]struct{}{}
	}
	b.subs[sub] = struct{}{}
	return sub.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[sub]; ok {
			delete(b.subs, sub)
			close(sub.ch)
		}
	}
}

func (b *broker) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sub := range b.subs {
		if sub.environment != "" && sub.environment != ev.Environment {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			delete(b.subs, sub)
			close(sub.ch)
		}
	}
}

func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for sub := range b.subs {
		close(sub.ch)
	}
	b.subs = nil
}
