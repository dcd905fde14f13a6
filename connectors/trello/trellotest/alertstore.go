package trellotest

import (
	"context"
	"sort"
	"sync"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// MemoryAlertStore is an in-memory trello.AlertStore for tests and the
// demo. Its zero value is ready to use.
type MemoryAlertStore struct {
	mu     sync.Mutex
	states map[string]adpacer.AlertState
	puts   int
}

// GetAlert returns store.ErrNotFound for an unknown key.
func (m *MemoryAlertStore) GetAlert(_ context.Context, key string) (adpacer.AlertState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[key]
	if !ok {
		return adpacer.AlertState{}, store.ErrNotFound
	}
	return st, nil
}

// PutAlert upserts by key.
func (m *MemoryAlertStore) PutAlert(_ context.Context, st adpacer.AlertState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[string]adpacer.AlertState{}
	}
	m.states[st.Key] = st
	m.puts++
	return nil
}

// ListAlerts returns all states ordered by key.
func (m *MemoryAlertStore) ListAlerts(_ context.Context) ([]adpacer.AlertState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]adpacer.AlertState, 0, len(m.states))
	for _, st := range m.states {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Puts counts writes (tests check that quiet cycles do not write).
func (m *MemoryAlertStore) Puts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts
}
