package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// decodeSecret returns the HMAC key of a Standard Webhooks secret: the
// base64 decoding of what follows whsec_.
func decodeSecret(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}

// SignStandard returns the Standard Webhooks webhook-signature value for
// one message: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
func SignStandard(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignJWT returns FusionAuth's X-FusionAuth-Signature-JWT for body: a JWS
// whose only claim, request_body_sha256, is the standard base64 of the
// body's SHA-256, signed with the key's secret (its UTF-8 bytes).
func SignJWT(k *Key, body []byte) (string, error) {
	var h func() hash.Hash
	switch k.Algorithm {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return "", fmt.Errorf("key %s: algorithm %q cannot sign", k.ID, k.Algorithm)
	}
	sum := sha256.Sum256(body)
	header := `{"alg":"` + k.Algorithm + `","typ":"JWT","kid":` + strconv.Quote(k.Kid) + `}`
	claims := `{"request_body_sha256":"` + base64.StdEncoding.EncodeToString(sum[:]) + `"}`
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(h, []byte(k.Secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}
