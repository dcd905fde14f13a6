package googleads

import (
	"fmt"
	"strconv"
)

// i64 decodes a proto3 JSON int64: normally a string ("2500000000"), but a
// number is accepted too, as proto3 parsers do.
type i64 int64

func (v *i64) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1] // digits need no unescaping
	}
	s := string(b)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 field: %q is not an integer", s)
	}
	*v = i64(n)
	return nil
}

// row is a GoogleAdsRow in proto3 JSON. Absent fields are their zero
// values (proto3 omits defaults), which is exactly what Go's decoder leaves.
type row struct {
	Customer struct {
		ID           i64    `json:"id"`
		TimeZone     string `json:"timeZone"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"customer"`
	Campaign struct {
		ResourceName        string `json:"resourceName"`
		ID                  i64    `json:"id"`
		Name                string `json:"name"`
		Status              string `json:"status"`
		BiddingStrategyType string `json:"biddingStrategyType"`
		CampaignBudget      string `json:"campaignBudget"`
	} `json:"campaign"`
	CampaignBudget struct {
		ResourceName     string `json:"resourceName"`
		AmountMicros     i64    `json:"amountMicros"`
		ExplicitlyShared bool   `json:"explicitlyShared"`
		ReferenceCount   i64    `json:"referenceCount"`
		Status           string `json:"status"`
	} `json:"campaignBudget"`
	AdGroup struct {
		ResourceName string `json:"resourceName"`
		ID           i64    `json:"id"`
		Status       string `json:"status"`
		CpcBidMicros i64    `json:"cpcBidMicros"`
	} `json:"adGroup"`
	AdGroupAd struct {
		ResourceName string `json:"resourceName"`
		Status       string `json:"status"`
		Ad           struct {
			ID i64 `json:"id"`
		} `json:"ad"`
		PolicySummary struct {
			ApprovalStatus     string `json:"approvalStatus"`
			ReviewStatus       string `json:"reviewStatus"`
			PolicyTopicEntries []struct {
				Topic string `json:"topic"`
				Type  string `json:"type"`
			} `json:"policyTopicEntries"`
		} `json:"policySummary"`
	} `json:"adGroupAd"`
	Segments struct {
		Date string `json:"date"`
		Hour int    `json:"hour"`
	} `json:"segments"`
	Metrics struct {
		CostMicros  i64     `json:"costMicros"`
		Clicks      i64     `json:"clicks"`
		Impressions i64     `json:"impressions"`
		Conversions float64 `json:"conversions"`
	} `json:"metrics"`
}
