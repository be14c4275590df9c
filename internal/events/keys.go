package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Key is an HMAC signing key for FusionAuth's webhook JWT. Only HMAC keys
// are kept: they are all webhook signing needs; asymmetric algorithms are
// refused with a clear 400.
type Key struct {
	ID        uuid.UUID
	Name      string
	Algorithm string // HS256, HS384 or HS512
	Kid       string
	// Secret is the HMAC key (its UTF-8 bytes sign); shown only by
	// generate and import.
	Secret  string
	Issuer  string
	Created time.Time
	Updated time.Time
}

// Type is FusionAuth's key type.
func (k *Key) Type() string { return "HMAC" }

var hmacAlgorithms = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

func validateKey(k *Key, needSecret bool) error {
	e := &errs.Error{Kind: errs.Invalid}
	k.Name = strings.TrimSpace(k.Name)
	if k.Name == "" {
		e.Add("blank", "key.name", "You must specify the [key.name] property.")
	}
	if k.Algorithm == "" {
		e.Add("blank", "key.algorithm", "You must specify the [key.algorithm] property.")
	} else if _, ok := hmacAlgorithms[k.Algorithm]; !ok {
		e.Add("invalid", "key.algorithm", "heed keeps HMAC keys only: the [key.algorithm] property must be HS256, HS384 or HS512.")
	}
	if needSecret && k.Secret == "" {
		e.Add("blank", "key.secret", "You must specify the [key.secret] property to import an HMAC key.")
	}
	return e.OrNil()
}

// GenerateKey makes a random HMAC key of the algorithm's size.
func (s *Service) GenerateKey(ctx context.Context, k Key) (*Key, error) {
	if err := validateKey(&k, false); err != nil {
		return nil, err
	}
	b := make([]byte, hmacAlgorithms[k.Algorithm])
	_, _ = rand.Read(b)
	k.Secret = base64.StdEncoding.EncodeToString(b)
	return s.storeKey(ctx, k)
}

// ImportKey stores an HMAC key with a known secret.
func (s *Service) ImportKey(ctx context.Context, k Key) (*Key, error) {
	if err := validateKey(&k, true); err != nil {
		return nil, err
	}
	return s.storeKey(ctx, k)
}

func (s *Service) storeKey(ctx context.Context, k Key) (out *Key, err error) {
	defer errs.Wrap(&err, "storeKey")
	if k.ID == uuid.Nil {
		k.ID = uuid.New()
	}
	if k.Kid == "" {
		k.Kid = strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		k.Created = tx.Now()
		k.Updated = k.Created
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, name, algorithm, key_type, kid, secret, issuer, created, updated)
			VALUES (?, ?, ?, 'HMAC', ?, ?, ?, ?, ?)`, k.ID.String(), k.Name, k.Algorithm, k.Kid, k.Secret, k.Issuer, k.Created, k.Updated)
		if db.IsUniqueViolation(err) {
			if _, gerr := getKey(ctx, tx, k.ID); gerr == nil {
				return errs.Coded("duplicate", "keyId", "A key with id [%s] already exists.", k.ID)
			}
			return errs.Coded("duplicate", "key.name", "A key with this name or kid already exists.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// UpdateKey renames a key (FusionAuth lets only the name change).
func (s *Service) UpdateKey(ctx context.Context, id uuid.UUID, name string) (out *Key, err error) {
	defer errs.Wrap(&err, "UpdateKey(%s)", id)
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errs.Coded("blank", "key.name", "You must specify the [key.name] property.")
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE signing_keys SET name = ?, updated = ? WHERE id = ?`, name, tx.Now(), id.String())
		if db.IsUniqueViolation(err) {
			return errs.Coded("duplicate", "key.name", "A key with name [%s] already exists.", name)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("key not found")
		}
		out, err = getKey(ctx, tx, id)
		return err
	})
	if out != nil {
		out.Secret = ""
	}
	return out, err
}

// DeleteKey removes a key no webhook signs with.
func (s *Service) DeleteKey(ctx context.Context, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "DeleteKey(%s)", id)
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		return deleteUnused(ctx, tx, id, "signing_keys", "key", `SELECT COUNT(*) FROM webhooks WHERE signing_key_id = ?`,
			func(users int) error {
				return errs.Coded("inUse", "keyId", "The key is used by %d webhook(s) to sign; change them first.", users)
			})
	})
}

// GetKey returns a key without its secret.
func (s *Service) GetKey(ctx context.Context, id uuid.UUID) (*Key, error) {
	k, err := getKey(ctx, s.DB.Reader(), id)
	if k != nil {
		k.Secret = ""
	}
	return k, err
}

// ListKeys returns every key by name, without secrets.
func (s *Service) ListKeys(ctx context.Context) ([]*Key, error) {
	ks, err := loadKeys(ctx, s.DB.Reader(), "", nil)
	for _, k := range ks {
		k.Secret = ""
	}
	return ks, err
}

func getKey(ctx context.Context, c db.Conn, id uuid.UUID) (*Key, error) {
	return getByID(ctx, c, id, "key", loadKeys)
}

func loadKeys(ctx context.Context, c db.Conn, where string, args []any) ([]*Key, error) {
	return loadByName(ctx, c, "keys", `SELECT id, name, algorithm, kid, secret, issuer, created, updated FROM signing_keys`,
		where, args, scanKey)
}

func scanKey(r rowScanner) (*Key, error) {
	var k Key
	var id string
	if err := r.Scan(&id, &k.Name, &k.Algorithm, &k.Kid, &k.Secret, &k.Issuer, &k.Created, &k.Updated); err != nil {
		return nil, fmt.Errorf("scan key: %w", err)
	}
	k.ID = uuid.MustParse(id)
	k.Created, k.Updated = k.Created.UTC(), k.Updated.UTC()
	return &k, nil
}
