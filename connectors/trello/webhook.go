package trello

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"
)

// WebhookEvent is what a verified delivery tells the daemon: enough to
// decide whether to run the approvals poll now.
type WebhookEvent struct {
	ActionID, Type   string
	BoardID, CardID  string
	ListAfter, Label string // list id a card moved to; label name added
	By               string // username of the member who acted
	At               time.Time
}

// WebhookOptions configure a WebhookHandler.
type WebhookOptions struct {
	// Secret is the Trello app's OAuth secret (it signs deliveries).
	Secret string
	// CallbackURL exactly as registered with Trello, query string included:
	// it is part of the signed message.
	CallbackURL string
	// MaxBody bounds a delivery (default 1 MiB).
	MaxBody int64
	// Notify receives each verified event once (deduplicated by action id).
	// It must not block; hand the event to a buffered channel.
	Notify func(WebhookEvent)
	Logger *zap.Logger
}

// WebhookHandler verifies Trello deliveries: X-Trello-Webhook must equal
// base64(HMAC-SHA1(secret, body + callbackURL)). It answers HEAD with 200
// (Trello's validation at registration) and rejects everything else with
// 401. Polling stays the default; the handler only shortens the wait.
type WebhookHandler struct {
	opts WebhookOptions
	log  *zap.Logger

	mu   sync.Mutex
	seen map[string]bool
	ring []string
	next int
}

const webhookDedupe = 1024

// NewWebhookHandler validates opts.
func NewWebhookHandler(opts WebhookOptions) (*WebhookHandler, error) {
	if opts.Secret == "" {
		return nil, errors.New("trello: webhook secret is empty (set the Trello app's OAuth secret)")
	}
	u, err := url.Parse(opts.CallbackURL)
	if opts.CallbackURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("trello: webhook callback URL %q must be the absolute http(s) URL registered with Trello", opts.CallbackURL)
	}
	if opts.Notify == nil {
		return nil, errors.New("trello: webhook needs a Notify function")
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxBody < 0 {
		return nil, fmt.Errorf("trello: webhook max body %d must be positive", opts.MaxBody)
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &WebhookHandler{opts: opts, log: opts.Logger, seen: map[string]bool{}, ring: make([]string, webhookDedupe)}, nil
}

// Signature computes the X-Trello-Webhook value for body.
func Signature(secret string, body []byte, callbackURL string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	mac.Write([]byte(callbackURL))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBody+1))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > h.opts.MaxBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Trello-Webhook"))
	want := hmac.New(sha1.New, []byte(h.opts.Secret))
	want.Write(body)
	want.Write([]byte(h.opts.CallbackURL))
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		h.log.Warn("trello webhook with a bad signature rejected", zap.String("remote", r.RemoteAddr))
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var d struct {
		Action struct {
			ID            string    `json:"id"`
			Type          string    `json:"type"`
			Date          time.Time `json:"date"`
			MemberCreator struct {
				Username string `json:"username"`
			} `json:"memberCreator"`
			Data struct {
				Board     struct{ ID string }   `json:"board"`
				Card      struct{ ID string }   `json:"card"`
				ListAfter struct{ ID string }   `json:"listAfter"`
				Label     struct{ Name string } `json:"label"`
			} `json:"data"`
		} `json:"action"`
	}
	if err := json.Unmarshal(body, &d); err != nil || d.Action.ID == "" {
		http.Error(w, "not a Trello delivery", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	if !h.firstTime(d.Action.ID) {
		return // Trello resends; each action counts once
	}
	h.opts.Notify(WebhookEvent{
		ActionID: d.Action.ID, Type: d.Action.Type, BoardID: d.Action.Data.Board.ID, CardID: d.Action.Data.Card.ID,
		ListAfter: d.Action.Data.ListAfter.ID, Label: d.Action.Data.Label.Name, By: d.Action.MemberCreator.Username, At: d.Action.Date,
	})
}

func (h *WebhookHandler) firstTime(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[id] {
		return false
	}
	if old := h.ring[h.next]; old != "" {
		delete(h.seen, old)
	}
	h.ring[h.next] = id
	h.next = (h.next + 1) % len(h.ring)
	h.seen[id] = true
	return true
}
