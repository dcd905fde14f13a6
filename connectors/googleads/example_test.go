package googleads_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adpacer/adpacer/connectors"
	"github.com/adpacer/adpacer/connectors/googleads"
	"github.com/adpacer/adpacer/internal/httpx"
	"github.com/adpacer/adpacer/internal/oauthx"
	"github.com/adpacer/adpacer/internal/oauthx/oauthxtest"
	"github.com/adpacer/adpacer/pacing"
)

// Wiring as the daemon does it: one operation budget per Google Cloud
// project shared by every customer's client, a refresh-token source that
// persists rotations, and the client used both as AdSource and Actuator.
func Example() {
	reg := prometheus.NewRegistry()
	budget, err := googleads.NewOperationBudget(2_880, time.Now, reg) // Explorer access
	if err != nil {
		panic(err)
	}
	tokens, err := oauthx.New(oauthx.Config{
		Name: "google_ads", ClientID: "client-id", ClientSecret: "secret",
		TokenURL: "https://oauth2.googleapis.com/token", RefreshToken: "1//refresh",
		Store: &oauthxtest.MemStore{},
	})
	if err != nil {
		panic(err)
	}
	client, err := googleads.New(googleads.Options{
		CustomerID:      "123-456-7890",
		LoginCustomerID: "111-222-3333", // the agency's manager account
		TokenSource:     tokens,
		Budget:          budget,
		Registerer:      reg,
		HTTP:            httpx.Options{Timeout: 60 * time.Second, MaxAttempts: 4},
	})
	if err != nil {
		panic(err)
	}
	var src connectors.AdSource = client
	var act pacing.Actuator = client
	_ = func(ctx context.Context) {
		_, _ = src.Pull(ctx, connectors.AdPullRequest{Now: time.Now(), StatsFrom: "2026-11-01"})
		_, _ = act.Apply(ctx, nil, pacing.ApplyOptions{DryRun: true})
	}
	fmt.Println(client.CustomerID(), budget.Remaining())
	// Output: 1234567890 2880
}
