// Package fakehttp is what the in-repo fake API servers share: the
// loopback listener a test talks to (a demo mounts the same handler on its
// own server instead) and per-route request counters, which "do nothing"
// tests read to prove a cycle sent no write.
package fakehttp

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Listener is a fake's optional loopback server. The zero value has none.
type Listener struct {
	srv *httptest.Server
}

// Serve starts h on a loopback listener.
func (l *Listener) Serve(h http.Handler) { l.srv = httptest.NewServer(h) }

// URL is the base URL to give a client (no path); empty when not serving.
func (l *Listener) URL() string {
	if l.srv == nil {
		return ""
	}
	return l.srv.URL
}

// Client is an http.Client for the listener (its connections are closed
// with it); http.DefaultClient when not serving.
func (l *Listener) Client() *http.Client {
	if l.srv == nil {
		return http.DefaultClient
	}
	return l.srv.Client()
}

// Close stops the listener, if any.
func (l *Listener) Close() {
	if l.srv != nil {
		l.srv.Close()
	}
}

// Calls counts requests per route. It is safe for concurrent use; the zero
// value is ready.
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// Add counts one request to route.
func (c *Calls) Add(route string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[route]++
}

// Of is the count of one route.
func (c *Calls) Of(route string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[route]
}

// All is a copy of every counter.
func (c *Calls) All() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	maps.Copy(out, c.n)
	return out
}

// Reset zeroes the counters.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}
