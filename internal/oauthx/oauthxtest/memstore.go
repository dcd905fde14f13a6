// Package oauthxtest has an in-memory oauthx.TokenStore for the connectors'
// token contract tests.
package oauthxtest

import (
	"context"
	"sync"

	"github.com/adpacer/adpacer"
	"github.com/adpacer/adpacer/store"
)

// MemStore is an oauthx.TokenStore in memory. OnSave, when set, runs
// before a token is stored and may refuse it (a failing disk).
type MemStore struct {
	OnSave func(adpacer.OAuthToken) error

	mu    sync.Mutex
	toks  map[string]adpacer.OAuthToken
	saves int
}

// LoadToken implements oauthx.TokenStore.
func (m *MemStore) LoadToken(_ context.Context, name string) (adpacer.OAuthToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.toks[name]
	if !ok {
		return adpacer.OAuthToken{}, store.ErrNotFound
	}
	return t, nil
}

// SaveToken implements oauthx.TokenStore.
func (m *MemStore) SaveToken(_ context.Context, name string, t adpacer.OAuthToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.OnSave != nil {
		if err := m.OnSave(t); err != nil {
			return err
		}
	}
	if m.toks == nil {
		m.toks = map[string]adpacer.OAuthToken{}
	}
	m.toks[name] = t
	m.saves++
	return nil
}

// Saves is how many tokens were stored.
func (m *MemStore) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}
