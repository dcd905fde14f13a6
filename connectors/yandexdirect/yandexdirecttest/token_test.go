package yandexdirecttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/adpacer/adpacer/connectors/yandexdirect/yandexdirecttest"
)

type tokenResp struct {
	status int
	Access string `json:"access_token"`
	Next   string `json:"refresh_token"`
	TTL    int64  `json:"expires_in"`
	Type   string `json:"token_type"`
	Error  string `json:"error"`
}

// refresh posts a refresh-token grant; basic sends the client credentials
// as HTTP Basic instead of in the form.
func refresh(t *testing.T, f *yandexdirecttest.Server, rt, secret string, basic bool) tokenResp {
	t.Helper()
	id, _ := f.OAuthClient()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if !basic {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, f.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(id, secret)
	}
	resp, err := f.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := tokenResp{status: resp.StatusCode}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("token endpoint body %q: %v", b, err)
	}
	return out
}

// api-notes §1.11: the refresh-token grant, rotation (the old refresh
// token is dead), client authentication in the form or as Basic, and the
// issued access token working on the API until it expires (then 53).
func TestFakeTokenEndpointRotates(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{AccessTokenTTL: time.Hour})
	e.fake.AddRefreshToken("1:initial", token)
	_, secret := e.fake.OAuthClient()

	r := refresh(t, e.fake, "1:initial", secret, false)
	if r.status != 200 || r.Access == "" || r.Next == "" || r.Next == "1:initial" || r.TTL != 3600 || r.Type != "bearer" {
		t.Fatalf("refresh: %+v", r)
	}
	if e.fake.RefreshTokenValid("1:initial") || !e.fake.RefreshTokenValid(r.Next) {
		t.Fatal("the refresh token did not rotate")
	}
	if again := refresh(t, e.fake, "1:initial", secret, false); again.status != 400 || again.Error != "invalid_grant" {
		t.Fatalf("reusing a rotated refresh token: %+v", again)
	}
	get := `{"method":"get","params":{"SelectionCriteria":{},"FieldNames":["Id"]}}`
	hdr := map[string]string{"Authorization": "Bearer " + r.Access, "Client-Login": login}
	if resp := post(t, e.fake.URL()+"/json/v5/campaigns", hdr, get); resp.code() != 0 || resp.header.Get("Units-Used-Login") != login {
		t.Fatalf("issued token on the API: %d %s", resp.code(), resp.body)
	}
	if n := e.fake.TokenUses(r.Access); n != 1 {
		t.Fatalf("token uses = %d, want 1", n)
	}

	r2 := refresh(t, e.fake, r.Next, secret, true)
	if r2.status != 200 || r2.Access == r.Access || r2.Next == r.Next {
		t.Fatalf("Basic-auth refresh: %+v", r2)
	}
	e.clock.Advance(time.Hour)
	if resp := post(t, e.fake.URL()+"/json/v5/campaigns", hdr, get); resp.code() != 53 {
		t.Fatalf("expired access token: code %d, want 53", resp.code())
	}

	e.fake.RevokeRefreshToken(r2.Next)
	if r := refresh(t, e.fake, r2.Next, secret, false); r.status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("revoked grant: %+v", r)
	}
}

func TestFakeTokenEndpointRejects(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{})
	e.fake.AddRefreshToken("1:rt", token)
	id, secret := e.fake.OAuthClient()
	if r := refresh(t, e.fake, "1:rt", "wrong", false); r.status != 400 || r.Error != "invalid_client" {
		t.Fatalf("wrong secret in the form: %+v", r)
	}
	if r := refresh(t, e.fake, "1:rt", "wrong", true); r.status != 401 || r.Error != "invalid_client" {
		t.Fatalf("wrong secret as Basic: %+v", r)
	}
	if r := refresh(t, e.fake, "1:unknown", secret, false); r.status != 400 || r.Error != "invalid_grant" {
		t.Fatalf("unknown refresh token: %+v", r)
	}
	post := func(ct, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.fake.TokenURL(), strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := e.fake.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Error
	}
	creds := "&client_id=" + id + "&client_secret=" + secret
	if st, code := post("application/json", `{"grant_type":"refresh_token","refresh_token":"1:rt"}`); st != 400 || code != "invalid_request" {
		t.Fatalf("JSON body: %d %s", st, code)
	}
	if st, code := post("application/x-www-form-urlencoded", "grant_type=authorization_code&code=x"+creds); st != 400 || code != "unsupported_grant_type" {
		t.Fatalf("authorization_code: %d %s", st, code)
	}
	if !e.fake.RefreshTokenValid("1:rt") {
		t.Fatal("a refused request consumed the refresh token")
	}
	resp, err := e.fake.HTTPClient().Get(e.fake.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /token: %d", resp.StatusCode)
	}
}

// The tolerant variants: a refresh token kept across refreshes, and an
// access token returned unchanged while it still has a long life.
func TestFakeTokenEndpointOptions(t *testing.T) {
	e := newEnv(t, yandexdirecttest.Options{KeepRefreshTokens: true, AccessTokenTTL: 90 * 24 * time.Hour, ReuseAccessTokenAbove: 30 * 24 * time.Hour})
	e.fake.AddRefreshToken("1:rt", token)
	_, secret := e.fake.OAuthClient()
	a := refresh(t, e.fake, "1:rt", secret, false)
	e.clock.Advance(24 * time.Hour)
	b := refresh(t, e.fake, "1:rt", secret, false)
	if a.Next != "1:rt" || b.Next != "1:rt" || b.Access != a.Access || b.TTL != 89*24*3600 {
		t.Fatalf("kept tokens: %+v then %+v", a, b)
	}
	e.clock.Advance(60 * 24 * time.Hour) // 29 days left: below the reuse threshold
	if c := refresh(t, e.fake, "1:rt", secret, false); c.Access == a.Access || c.TTL != 90*24*3600 {
		t.Fatalf("near expiry a new access token is due: %+v", c)
	}
}
