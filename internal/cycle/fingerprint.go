package cycle

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/adpacer/adpacer"
)

func fingerprint(key string, sev adpacer.Severity, body string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + string(sev) + "\x00" + body))
	return hex.EncodeToString(sum[:8])
}
