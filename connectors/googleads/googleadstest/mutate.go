package googleadstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// MinorUnitMicros is the fake's table of minimum currency units in micros:
// budgets and bids must be multiples of it. Currencies without a minor unit
// need whole units (IDR needs multiples of 1,000,000 micros, api-notes
// §2.4); the rest use hundredths.
var MinorUnitMicros = map[string]int64{
	"JPY": 1_000_000, "KRW": 1_000_000, "IDR": 1_000_000, "VND": 1_000_000,
	"CLP": 1_000_000, "ISK": 1_000_000, "UGX": 1_000_000, "PYG": 1_000_000,
}

func unitFor(currency string) int64 {
	if u, ok := MinorUnitMicros[currency]; ok {
		return u
	}
	return 10_000
}

type mutateRequest struct {
	Operations          []json.RawMessage `json:"operations"`
	PartialFailure      bool              `json:"partialFailure,omitempty"`
	ValidateOnly        bool              `json:"validateOnly,omitempty"`
	ResponseContentType string            `json:"responseContentType,omitempty"`
}

type operation struct {
	UpdateMask *string         `json:"updateMask,omitempty"`
	Update     json.RawMessage `json:"update,omitempty"`
	Create     json.RawMessage `json:"create,omitempty"`
	Remove     *string         `json:"remove,omitempty"`
}

var serviceRes = map[string]struct {
	coll    string
	fields  map[string]bool
	wrapper string
}{
	"campaignBudgets": {"campaignBudgets", map[string]bool{"amountMicros": true}, "campaignBudget"},
	"campaigns":       {"campaigns", map[string]bool{"status": true}, "campaign"},
	"adGroups":        {"adGroups", map[string]bool{"cpcBidMicros": true, "status": true}, "adGroup"},
}

var resNameRe = regexp.MustCompile(`^customers/([0-9]+)/([A-Za-z]+)/([0-9]+)$`)

// requestLevel is a mutate error that is not about one operation.
type requestLevel struct {
	msg  string
	errs []AdsError
}

type opOutcome struct {
	resourceName string
	changes      []Change
	apply        func()
	err          *AdsError
}

func (s *Server) handleMutate(w http.ResponseWriter, r *http.Request, version string, a *account, service string) {
	var req mutateRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		s.writeError(w, version, http.StatusBadRequest, "", "Invalid JSON payload received. "+err.Error())
		return
	}
	ops := make([]operation, len(req.Operations))
	for i, raw := range req.Operations {
		if err := decodeStrict(bytes.NewReader(raw), &ops[i]); err != nil {
			s.writeError(w, version, http.StatusBadRequest, "", fmt.Sprintf("Invalid JSON payload received at 'operations[%d]'. %v", i, err))
			return
		}
	}
	body, status, rl, quota, event := s.mutateLocked(a, version, service, req, ops)
	switch {
	case quota:
		s.quotaExhausted(w, version)
		return
	case rl != nil:
		s.writeError(w, version, status, "", rl.msg, rl.errs...)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if event != nil {
		s.mu.Lock()
		fn := s.onMutate
		s.mu.Unlock()
		if fn != nil {
			fn(*event)
		}
	}
}

func (s *Server) mutateLocked(a *account, version, service string, req mutateRequest, ops []operation) ([]byte, int, *requestLevel, bool, *MutateEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.ValidateOnly {
		s.calls.ValidateOnly++
	} else {
		s.calls.Mutate++
		s.calls.MutateOperations += len(ops)
	}
	switch {
	case len(ops) == 0:
		return nil, http.StatusBadRequest, &requestLevel{msg: "Request contains an invalid argument.", errs: []AdsError{
			reqErr("fieldError", "REQUIRED", "The required field was not present: operations."),
		}}, false, nil
	case len(ops) > MaxMutateOperations:
		return nil, http.StatusBadRequest, &requestLevel{msg: "Request contains an invalid argument.", errs: []AdsError{
			reqErr("requestError", "TOO_MANY_MUTATE_OPERATIONS", fmt.Sprintf("Too many mutate operations: %d, the limit is %d.", len(ops), MaxMutateOperations)),
		}}, false, nil
	}
	cost := len(ops)
	if req.ValidateOnly && s.opts.FreeValidateOnly {
		cost = 0
	}
	if cost > 0 && !s.chargeLocked(cost) {
		s.calls.Rejected++
		return nil, 0, nil, true, nil
	}
	outcomes := make([]opOutcome, len(ops))
	var errs []AdsError
	for i, op := range ops {
		o, rl := s.validateOp(a, service, i, op)
		if rl != nil {
			return nil, http.StatusBadRequest, rl, false, nil
		}
		outcomes[i] = o
		if o.err != nil {
			errs = append(errs, *o.err)
		}
	}
	if len(errs) > 0 && !req.PartialFailure {
		return nil, http.StatusBadRequest, &requestLevel{msg: "Request contains an invalid argument.", errs: errs}, false, nil
	}
	resp := map[string]any{}
	if len(errs) > 0 {
		s.seq++
		resp["partialFailureError"] = map[string]any{
			"code":    3,
			"message": fmt.Sprintf("%d operation(s) failed.", len(errs)),
			"details": []any{s.failure(version, errs, "fake-req-"+strconv.Itoa(s.seq))},
		}
	}
	if req.ValidateOnly {
		b, _ := json.Marshal(resp)
		return b, http.StatusOK, nil, false, nil
	}
	event := &MutateEvent{Customer: a.ID, Service: service}
	results := make([]map[string]any, len(ops))
	for i, o := range outcomes {
		results[i] = map[string]any{}
		if o.err != nil {
			continue
		}
		o.apply()
		event.Changes = append(event.Changes, o.changes...)
		results[i]["resourceName"] = o.resourceName
		if req.ResponseContentType == "MUTABLE_RESOURCE" {
			results[i][serviceRes[service].wrapper] = s.mutableResource(a, service, o.resourceName)
		}
	}
	resp["results"] = results
	b, _ := json.Marshal(resp)
	if len(event.Changes) == 0 {
		event = nil
	}
	return b, http.StatusOK, nil, false, event
}

func (s *Server) mutableResource(a *account, service, name string) map[string]any {
	m := resNameRe.FindStringSubmatch(name)
	id, _ := strconv.ParseInt(m[3], 10, 64)
	out := map[string]any{"resourceName": name, "id": itoa(id)}
	switch service {
	case "campaignBudgets":
		out["amountMicros"] = itoa(a.budgets[id].AmountMicros)
	case "campaigns":
		out["status"] = a.campaigns[id].Status
	case "adGroups":
		out["status"] = a.adGroups[id].Status
		out["cpcBidMicros"] = itoa(a.adGroups[id].CPCBidMicros)
	}
	return out
}

// parseInt64 reads a proto3 JSON int64 (string or number).
func parseInt64(raw json.RawMessage) (int64, bool) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		v, err := strconv.ParseInt(str, 10, 64)
		return v, err == nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		v, err := n.Int64()
		return v, err == nil
	}
	return 0, false
}

func opErr(i int, category, code, msg, field string) *AdsError {
	return &AdsError{Category: category, Code: code, Message: msg, OpIndex: i, Field: field}
}

// validateOp checks one operation and prepares its change; a non-nil
// requestLevel means the request as a whole is malformed.
func (s *Server) validateOp(a *account, service string, i int, op operation) (opOutcome, *requestLevel) {
	def := serviceRes[service]
	var out opOutcome
	set := 0
	for _, present := range []bool{op.Update != nil, op.Create != nil, op.Remove != nil} {
		if present {
			set++
		}
	}
	switch {
	case set != 1:
		return out, &requestLevel{msg: fmt.Sprintf("Invalid operations[%d]: exactly one of create, update or remove must be set.", i)}
	case op.Create != nil:
		return out, &requestLevel{msg: "googleadstest: create operations are not modelled by the fake."}
	}
	name := ""
	if op.Remove != nil {
		name = *op.Remove
	} else {
		var upd map[string]json.RawMessage
		if err := json.Unmarshal(op.Update, &upd); err != nil {
			return out, &requestLevel{msg: fmt.Sprintf("Invalid JSON payload received at 'operations[%d].update'.", i)}
		}
		if rawName, ok := upd["resourceName"]; ok {
			_ = json.Unmarshal(rawName, &name)
		}
		if name == "" {
			out.err = opErr(i, "fieldError", "REQUIRED", "The required field was not present: resource_name.", "update")
			return out, nil
		}
		if op.UpdateMask == nil || strings.TrimSpace(*op.UpdateMask) == "" {
			out.err = opErr(i, "fieldMaskError", "FIELD_MASK_MISSING", "The field mask must be provided for update operations.", "update_mask")
			return out, nil
		}
		var paths []string
		for _, p := range strings.Split(*op.UpdateMask, ",") {
			p = camel(strings.TrimSpace(p))
			if !def.fields[p] {
				out.err = opErr(i, "fieldMaskError", "FIELD_NOT_FOUND", fmt.Sprintf("The field mask contained an invalid field: '%s'.", p), "update_mask")
				return out, nil
			}
			paths = append(paths, p)
		}
		out.resourceName = name
		if rl := s.prepareUpdate(a, service, i, name, paths, upd, &out); rl != nil {
			return out, rl
		}
		return out, nil
	}
	out.resourceName = name
	s.prepareRemove(a, service, i, name, &out)
	return out, nil
}

// lookup resolves a resource name of the service inside the account.
func lookup(a *account, service, name string, i int) (int64, *AdsError) {
	m := resNameRe.FindStringSubmatch(name)
	if m == nil || m[2] != serviceRes[service].coll {
		return 0, opErr(i, "requestError", "BAD_RESOURCE_ID", fmt.Sprintf("Resource name '%s' is malformed for %s.", name, service), "update")
	}
	id, _ := strconv.ParseInt(m[3], 10, 64)
	exists := false
	if m[1] == a.ID {
		switch service {
		case "campaignBudgets":
			exists = a.budgets[id] != nil
		case "campaigns":
			exists = a.campaigns[id] != nil
		case "adGroups":
			exists = a.adGroups[id] != nil
		}
	}
	if !exists {
		return 0, opErr(i, "mutateError", "RESOURCE_NOT_FOUND", fmt.Sprintf("The requested resource '%s' was not found.", name), "update")
	}
	return id, nil
}

func removedErr(i int) *AdsError {
	return opErr(i, "operationAccessDeniedError", "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE", "Mutates are not allowed for the requested resource because it was removed.", "update")
}

func (s *Server) prepareUpdate(a *account, service string, i int, name string, paths []string, upd map[string]json.RawMessage, out *opOutcome) *requestLevel {
	id, e := lookup(a, service, name, i)
	if e != nil {
		out.err = e
		return nil
	}
	if rej, ok := a.rejects[name]; ok {
		rej.OpIndex = i
		out.err = &rej
		return nil
	}
	unit := unitFor(a.Currency)
	readInt := func(field, snake string) (int64, *requestLevel) {
		raw, ok := upd[field]
		if !ok {
			return 0, nil // proto3: an absent field in the mask means its default, zero
		}
		v, ok := parseInt64(raw)
		if !ok {
			return 0, &requestLevel{msg: fmt.Sprintf("Invalid value at 'operations[%d].update.%s' (TYPE_INT64), %s", i, snake, string(raw))}
		}
		return v, nil
	}
	readStatus := func() (string, *requestLevel) {
		var st string
		if raw, ok := upd["status"]; ok {
			if err := json.Unmarshal(raw, &st); err != nil {
				return "", &requestLevel{msg: fmt.Sprintf("Invalid value at 'operations[%d].update.status', %s", i, string(raw))}
			}
		}
		switch st {
		case "ENABLED", "PAUSED", "REMOVED", "":
			return st, nil
		}
		return "", &requestLevel{msg: fmt.Sprintf("Invalid value at 'operations[%d].update.status' (type.googleapis.com/google.ads.googleads.v26.enums.Status), %q", i, st)}
	}
	switch service {
	case "campaignBudgets":
		b := a.budgets[id]
		if b.Status == "REMOVED" {
			out.err = removedErr(i)
			return nil
		}
		amount, rl := readInt("amountMicros", "amount_micros")
		if rl != nil {
			return rl
		}
		min := a.MinDailyBudgetMicros
		if min < unit {
			min = unit
		}
		switch {
		case amount < min:
			e := opErr(i, "rangeError", "TOO_LOW", "Too low.", "amount_micros")
			e.Extra = map[string]any{"budgetPerDayMinimumErrorDetails": map[string]any{
				"currencyCode": a.Currency, "budgetPerDayMinimumMicros": itoa(min),
				"minimumBudgetAmountMicros": itoa(min), "failedBudgetAmountMicros": itoa(amount),
			}}
			out.err = e
			return nil
		case amount%unit != 0:
			out.err = opErr(i, "campaignBudgetError", "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT", fmt.Sprintf("The budget amount must be a multiple of the minimum currency unit (%d micros for %s).", unit, a.Currency), "amount_micros")
			return nil
		}
		old := b.AmountMicros
		out.changes = []Change{{ResourceName: name, Field: "amountMicros", Old: itoa(old), New: itoa(amount)}}
		out.apply = func() { b.AmountMicros = amount }
	case "campaigns":
		c := a.campaigns[id]
		if c.Status == "REMOVED" {
			out.err = removedErr(i)
			return nil
		}
		st, rl := readStatus()
		if rl != nil {
			return rl
		}
		if st == "" || st == "REMOVED" {
			out.err = opErr(i, "fieldError", "INVALID_VALUE", "Status must be ENABLED or PAUSED in an update; use a remove operation to remove.", "status")
			return nil
		}
		out.changes = []Change{{ResourceName: name, Field: "status", Old: c.Status, New: st}}
		out.apply = func() { c.Status = st }
	case "adGroups":
		g := a.adGroups[id]
		if g.Status == "REMOVED" {
			out.err = removedErr(i)
			return nil
		}
		var applies []func()
		for _, p := range paths {
			switch p {
			case "cpcBidMicros":
				bid, rl := readInt("cpcBidMicros", "cpc_bid_micros")
				if rl != nil {
					return rl
				}
				switch {
				case bid < unit:
					out.err = opErr(i, "biddingError", "BID_TOO_SMALL", "Bid is below the minimum.", "cpc_bid_micros")
					return nil
				case bid%unit != 0:
					out.err = opErr(i, "biddingError", "BID_TOO_MANY_FRACTIONAL_DIGITS", fmt.Sprintf("Bid must be a multiple of %d micros for %s.", unit, a.Currency), "cpc_bid_micros")
					return nil
				case bid > 100_000*1_000_000:
					out.err = opErr(i, "biddingError", "BID_TOO_BIG", "Bid is above the maximum.", "cpc_bid_micros")
					return nil
				}
				out.changes = append(out.changes, Change{ResourceName: name, Field: "cpcBidMicros", Old: itoa(g.CPCBidMicros), New: itoa(bid)})
				applies = append(applies, func() { g.CPCBidMicros = bid })
			case "status":
				st, rl := readStatus()
				if rl != nil {
					return rl
				}
				if st == "" || st == "REMOVED" {
					out.err = opErr(i, "fieldError", "INVALID_VALUE", "Status must be ENABLED or PAUSED in an update.", "status")
					return nil
				}
				out.changes = append(out.changes, Change{ResourceName: name, Field: "status", Old: g.Status, New: st})
				applies = append(applies, func() { g.Status = st })
			}
		}
		out.apply = func() {
			for _, f := range applies {
				f()
			}
		}
	}
	return nil
}

func (s *Server) prepareRemove(a *account, service string, i int, name string, out *opOutcome) {
	id, e := lookup(a, service, name, i)
	if e != nil {
		out.err = e
		return
	}
	var status *string
	switch service {
	case "campaignBudgets":
		status = &a.budgets[id].Status
	case "campaigns":
		status = &a.campaigns[id].Status
	case "adGroups":
		status = &a.adGroups[id].Status
	}
	if *status == "REMOVED" {
		out.err = removedErr(i)
		return
	}
	out.changes = []Change{{ResourceName: name, Field: "status", Old: *status, New: "REMOVED"}}
	out.apply = func() { *status = "REMOVED" }
}
