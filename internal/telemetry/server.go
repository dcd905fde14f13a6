package telemetry

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// DefaultMaxHeartbeatAge is how stale the main-loop heartbeat may be before
// /healthz fails. The scheduler beats every 10 s, so this tolerates a long
// GC pause or a CPU-starved node but not a wedged loop.
const DefaultMaxHeartbeatAge = 2 * time.Minute

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Listen is host:port; "127.0.0.1:0" picks a free port (tests).
	Listen    string
	Gatherer  prometheus.Gatherer // required
	Heartbeat *Heartbeat          // required
	// MaxHeartbeatAge: 0 means DefaultMaxHeartbeatAge.
	MaxHeartbeatAge time.Duration
	Readiness       *Readiness // required
	Logger          *zap.Logger
	// Token protects handlers mounted with HandlePrivate. It is required
	// when Listen is not a loopback address. The probes and /metrics stay
	// open: kubelets and Prometheus scrape them without credentials, and
	// they carry no secrets.
	Token string
}

// Server serves /metrics, /healthz and /readyz plus handlers other packages
// mount (the status page, webhooks).
type Server struct {
	opts ServerOptions
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	log  *zap.Logger
}

// NewServer validates the options and builds the server; call Listen then
// Serve.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Gatherer == nil || opts.Heartbeat == nil || opts.Readiness == nil {
		return nil, errors.New("telemetry: server needs a Gatherer, a Heartbeat and a Readiness")
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen address %q: %w", opts.Listen, err)
	}
	if !isLoopback(host) && opts.Token == "" {
		return nil, fmt.Errorf("telemetry: listen address %q is reachable from other machines: set http.status_token_file", opts.Listen)
	}
	if opts.MaxHeartbeatAge <= 0 {
		opts.MaxHeartbeatAge = DefaultMaxHeartbeatAge
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: log.Named("http")}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:          zap.NewStdLog(s.log),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false,
	}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handle mounts an unauthenticated handler (net/http ServeMux patterns,
// e.g. "POST /webhooks/trello", which authenticates itself).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandlePrivate mounts a handler behind the bearer token when one is
// configured (always when listening beyond loopback).
func (s *Server) HandlePrivate(pattern string, h http.Handler) {
	if s.opts.Token != "" {
		h = RequireBearer(s.opts.Token, h)
	}
	s.mux.Handle(pattern, h)
}

// Handler returns the mux, for tests that drive it with httptest.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds the address, so a port clash fails start-up rather than
// the first scrape.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("telemetry: listen on %s: %w", s.opts.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves until Shutdown; it returns nil after a clean Shutdown.
func (s *Server) Serve() error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.log.Info("serving telemetry", zap.String("addr", s.Addr()))
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("telemetry: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends; then it closes the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		if s.ln != nil {
			_ = s.ln.Close()
		}
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	if s.ln != nil {
		_ = s.ln.Close() // Serve never ran: the listener is still ours.
	}
	return nil
}

type healthBody struct {
	Status              string  `json:"status"`
	HeartbeatAgeSeconds float64 `json:"heartbeat_age_seconds"`
	MaxAgeSeconds       float64 `json:"max_age_seconds"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	age := s.opts.Heartbeat.Age()
	body := healthBody{Status: "ok", HeartbeatAgeSeconds: age.Seconds(), MaxAgeSeconds: s.opts.MaxHeartbeatAge.Seconds()}
	code := http.StatusOK
	if age > s.opts.MaxHeartbeatAge {
		body.Status = "main loop stalled"
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, body)
}

type readyBody struct {
	Ready      bool              `json:"ready"`
	Conditions []ConditionStatus `json:"conditions"`
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ready, conds := s.opts.Readiness.Status()
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, readyBody{Ready: ready, Conditions: conds})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// RequireBearer wraps h so only requests with "Authorization: Bearer
// <token>" reach it. The comparison is constant-time over hashes, so
// neither the token's content nor its length leaks through timing.
func RequireBearer(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="adpacer"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <http.status_token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
