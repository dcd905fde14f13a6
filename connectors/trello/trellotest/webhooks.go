package trellotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

type webhook struct {
	ID, IDModel, Description, CallbackURL, Token string
	Active                                       bool
	ConsecutiveFailures                          int
	FirstFail                                    *time.Time
}

func (s *Server) webhookJSON(w *webhook) map[string]any {
	var first any
	if w.FirstFail != nil {
		first = fmtTime(*w.FirstFail)
	}
	return map[string]any{"id": w.ID, "idModel": w.IDModel, "description": w.Description, "callbackURL": w.CallbackURL,
		"active": w.Active, "consecutiveFailures": w.ConsecutiveFailures, "firstConsecutiveFailDate": first}
}

// Sign computes X-Trello-Webhook: base64(HMAC-SHA1(secret, body+callbackURL)).
func Sign(secret string, body []byte, callbackURL string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	mac.Write([]byte(callbackURL))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// createWebhook validates, sends the HEAD check without holding the lock,
// then stores the webhook (api-notes §4.3: anything but 200 refuses it).
func (s *Server) createWebhook(r *http.Request, token string) response {
	q := r.URL.Query()
	cb, idModel := q.Get("callbackURL"), q.Get("idModel")
	u, err := url.Parse(cb)
	if cb == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("callbackURL")
	}
	s.mu.Lock()
	_, isBoard := s.boards[idModel]
	_, isCard := s.cards[idModel]
	_, isList := s.lists[idModel]
	dup := false
	for _, w := range s.hooks {
		dup = dup || (w.Token == token && w.CallbackURL == cb && w.IDModel == idModel)
	}
	s.mu.Unlock()
	if !isBoard && !isCard && !isList {
		return invalid("idModel")
	}
	if dup {
		return bad("A webhook with that callback, model, and token already exists")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, cb, nil)
	if err != nil {
		return invalid("callbackURL")
	}
	resp, err := s.opts.CallbackClient.Do(req)
	if err != nil {
		return bad("URL (" + cb + ") did not return 200 status code, got error")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bad(fmt.Sprintf("URL (%s) did not return 200 status code, got %d", cb, resp.StatusCode))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &webhook{ID: s.newID(), IDModel: idModel, Description: q.Get("description"), CallbackURL: cb, Token: token, Active: true}
	s.hooks[w.ID] = w
	return ok(s.webhookJSON(w))
}

func (s *Server) routeWebhook(m, id string, q url.Values) response {
	w := s.hooks[id]
	if w == nil {
		return notFound()
	}
	switch m {
	case http.MethodGet:
		return ok(s.webhookJSON(w))
	case http.MethodDelete:
		delete(s.hooks, id)
		return ok(map[string]any{"_value": nil})
	case http.MethodPut:
		if v := q.Get("active"); v != "" {
			w.Active = v == "true"
		}
		return ok(s.webhookJSON(w))
	}
	return notFound()
}

func (s *Server) listWebhooks(token string) response {
	out := []map[string]any{}
	for _, w := range s.hooks {
		if w.Token == token {
			out = append(out, s.webhookJSON(w))
		}
	}
	return ok(out)
}

// Webhooks returns the registered webhooks (for tests).
func (s *Server) Webhooks() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, w := range s.hooks {
		out = append(out, s.webhookJSON(w))
	}
	return out
}

type delivery struct {
	hookID, callback string
	body             []byte
}

// deliverer posts signed deliveries from one goroutine owned by the Server.
type deliverer struct {
	s      *Server
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []delivery
	busy   bool
	closed bool
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

func newDeliverer(s *Server) *deliverer {
	d := &deliverer{s: s, done: make(chan struct{})}
	d.cond = sync.NewCond(&d.mu)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	go d.run()
	return d
}

// queueFor enqueues deliveries of a for every active webhook on its board
// or card. Called with s.mu held.
func (d *deliverer) queueFor(a *action) {
	for _, w := range d.s.hooks {
		if !w.Active || (w.IDModel != a.BoardID && w.IDModel != a.CardID) {
			continue
		}
		var model any
		if c := d.s.cards[w.IDModel]; c != nil {
			model = d.s.cardJSON(c, cardDefault, false)
		} else if b := d.s.boards[w.IDModel]; b != nil {
			model = d.s.boardJSON(b, boardDefault)
		}
		body, err := json.Marshal(map[string]any{"action": d.s.actionJSON(a), "model": model})
		if err != nil {
			continue
		}
		d.mu.Lock()
		d.queue = append(d.queue, delivery{hookID: w.ID, callback: w.CallbackURL, body: body})
		d.cond.Broadcast()
		d.mu.Unlock()
	}
}

func (d *deliverer) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && !d.closed {
			d.cond.Wait()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		job := d.queue[0]
		d.queue = d.queue[1:]
		d.busy = true
		d.mu.Unlock()

		okDelivered := false
		for range d.s.opts.DeliveryAttempts {
			if d.send(job) {
				okDelivered = true
				break
			}
		}
		d.s.mu.Lock()
		if w := d.s.hooks[job.hookID]; w != nil {
			if okDelivered {
				w.ConsecutiveFailures, w.FirstFail = 0, nil
			} else {
				w.ConsecutiveFailures++
				if w.FirstFail == nil {
					t := d.s.now()
					w.FirstFail = &t
				}
			}
		}
		d.s.mu.Unlock()

		d.mu.Lock()
		d.busy = false
		d.cond.Broadcast()
		d.mu.Unlock()
	}
}

func (d *deliverer) send(job delivery) bool {
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.callback, bytes.NewReader(job.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Trello-Webhook", Sign(d.s.opts.Secret, job.body, job.callback))
	resp, err := d.s.opts.CallbackClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Flush blocks until every queued delivery has been attempted.
func (s *Server) Flush() {
	d := s.deliv
	d.mu.Lock()
	defer d.mu.Unlock()
	for (len(d.queue) > 0 || d.busy) && !d.closed {
		d.cond.Wait()
	}
}

func (d *deliverer) close() {
	d.mu.Lock()
	d.closed = true
	d.cond.Broadcast()
	d.mu.Unlock()
	d.cancel()
	<-d.done
}
