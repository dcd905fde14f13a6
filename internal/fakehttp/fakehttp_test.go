package fakehttp

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

func TestCallsCountConcurrently(t *testing.T) {
	var c Calls
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Add("mass_action")
			}
		}()
	}
	c.Add("token")
	wg.Wait()
	if c.Of("mass_action") != 800 || c.Of("token") != 1 || c.Of("other") != 0 {
		t.Fatalf("counts %v", c.All())
	}
	all := c.All()
	all["token"] = 99 // a copy: the counter keeps 1
	if c.Of("token") != 1 {
		t.Fatal("All returned the live map")
	}
	c.Reset()
	if len(c.All()) != 0 {
		t.Fatalf("after Reset: %v", c.All())
	}
}

func TestListener(t *testing.T) {
	var l Listener
	if l.URL() != "" {
		t.Fatal("URL before Serve")
	}
	l.Close() // no listener: no-op
	l.Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer l.Close()
	resp, err := l.Client().Get(l.URL() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
}
