// Package auth owns users, their API tokens and the identity of a request.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// User is a person or service account that can call heed.
type User struct {
	ID                 int64
	UUID               uuid.UUID
	Username           string
	Email              string
	FullName           string
	FirstName          string
	LastName           string
	JobTitle           string
	IsStaff            bool
	IsSupport          bool
	IsActive           bool
	PreferredLanguages []string
	HasPassword        bool
	// NotificationsEnabled false opts the user out of digest emails.
	NotificationsEnabled bool
	Created              time.Time
	Modified             time.Time
}

// SeesEverything reports whether u may read every object (staff and support).
func (u *User) SeesEverything() bool { return u != nil && (u.IsStaff || u.IsSupport) }

// Service implements user and token operations.
type Service struct {
	DB *db.DB
	// TokenLifetime bounds tokens issued by password login; zero means they
	// never expire. Tokens minted by the CLI or the demo never expire.
	TokenLifetime time.Duration
	Throttle      *Throttle
	// PasswordCost is the bcrypt cost for new password hashes; zero means
	// bcrypt.DefaultCost. The demo uses the minimum: its passwords are public.
	PasswordCost int

	// tokens caches token owners (CacheReads); nil loads every time.
	tokens *db.Cache[string, *tokenOwner]
}

// CacheReads keeps token owners for at most ttl (see Authenticate); zero
// or less turns the cache off. Call it before the service is used.
func (s *Service) CacheReads(ttl time.Duration) {
	s.tokens = db.NewCache[string, *tokenOwner](s.DB, ttl, 10_000, "tokens", "users")
}

const userColumns = `id, uuid, username, email, full_name, first_name, last_name, job_title, is_staff, is_support,
	is_active, preferred_languages, password_hash IS NOT NULL, notifications_enabled, created, modified`

func scanUser(r db.Scanner) (*User, error) {
	var (
		u     User
		langs string
		id    string
	)
	if err := r.Scan(&u.ID, &id, &u.Username, &u.Email, &u.FullName, &u.FirstName, &u.LastName, &u.JobTitle,
		&u.IsStaff, &u.IsSupport, &u.IsActive, &langs, &u.HasPassword, &u.NotificationsEnabled, &u.Created, &u.Modified); err != nil {
		return nil, err
	}
	var err error
	if u.UUID, err = uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("user %d uuid %q: %w", u.ID, id, err)
	}
	if err := json.Unmarshal([]byte(langs), &u.PreferredLanguages); err != nil {
		return nil, fmt.Errorf("user %d preferred_languages: %w", u.ID, err)
	}
	if u.PreferredLanguages == nil {
		u.PreferredLanguages = []string{}
	}
	return &u, nil
}

// HashToken is how tokens are stored: the SHA-256 of the secret, hex-encoded.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the active user owning token. Any failure is
// Unauthenticated, with the DRF message clients know.
//
// Every request authenticates, so a token's owner is kept in a db.Cache
// (CacheReads): any write this process commits to tokens or users drops
// it, so a revocation, deactivation or login prevention made here applies
// to the next request; one made by another process applies within the
// cache's ttl. Expiry and login prevention are checked against the clock
// on every call.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, errs.E(errs.Unauthenticated, "Authentication credentials were not provided.")
	}
	hash := HashToken(token)
	owner, err := s.tokens.Load(hash, func() (*tokenOwner, time.Time, error) {
		o, err := s.loadTokenOwner(ctx, hash)
		return o, time.Time{}, err
	})
	if err != nil {
		return nil, err
	}
	if owner.expires.Valid && !owner.expires.Time.After(s.DB.Now()) {
		return nil, errs.E(errs.Unauthenticated, "Token has expired.")
	}
	if !owner.user.IsActive {
		return nil, errs.E(errs.Unauthenticated, "User inactive or deleted.")
	}
	if err := owner.prevented.check(s.DB.Now()); err != nil {
		return nil, err
	}
	// Callers get their own copy: the cached one is shared.
	u := owner.user
	u.PreferredLanguages = slices.Clone(u.PreferredLanguages)
	return &u, nil
}

// tokenOwner is what Authenticate reads for a token.
type tokenOwner struct {
	user      User
	expires   sql.NullTime
	prevented loginPrevention
}

func (s *Service) loadTokenOwner(ctx context.Context, hash string) (*tokenOwner, error) {
	var (
		o      tokenOwner
		stored string
	)
	row := s.DB.Reader().QueryRow(ctx, authenticateQuery, hash)
	u, err := scanUser(scanPrefix{row, []any{&stored, &o.expires, &o.prevented.until, &o.prevented.by}})
	invalid := errs.E(errs.Unauthenticated, "Invalid token.")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	// The lookup is by hash already; compare anyway so timing never depends
	// on how much of a guessed token matched.
	if subtle.ConstantTimeCompare([]byte(stored), []byte(hash)) != 1 {
		return nil, invalid
	}
	o.user = *u
	return &o, nil
}

// loginPrevention is what actioning keeps on a user row: the latest expiry
// (epoch ms) among the user's active actions that prevent login, and that
// action's name. It lapses by itself at the expiry.
type loginPrevention struct {
	until sql.NullInt64
	by    string
}

// neverExpires is FusionAuth's "until cancelled" (2^63-1 ms).
const neverExpires = 1<<63 - 1

// check refuses a user whose login an action prevents, naming it.
func (p loginPrevention) check(now time.Time) error {
	if !p.until.Valid || p.until.Int64 <= now.UnixMilli() {
		return nil
	}
	until := "until it is cancelled"
	if p.until.Int64 != neverExpires {
		until = "until " + time.UnixMilli(p.until.Int64).UTC().Format(time.RFC3339)
	}
	return errs.E(errs.Forbidden, "Login is prevented by the action %q %s.", p.by, until)
}

// scanPrefix scans leading columns into extra before the user's columns.
type scanPrefix struct {
	r     db.Scanner
	extra []any
}

func (s scanPrefix) Scan(dest ...any) error { return s.r.Scan(append(s.extra, dest...)...) }

// authenticateQuery looks a token up with its user; built once, as every
// request runs it.
var authenticateQuery = `SELECT t.key_hash, t.expires_at, u.login_prevented_until_ms, u.login_prevented_by, ` +
	prefixed("u.", userColumns) + ` FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.key_hash = ?`

func prefixed(p, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Username string
	Email    string
	// Query matches users whose username, full name or email contains it,
	// ignoring case (the console's search box).
	Query    string
	IsActive *bool
	Ordering string
}

var userOrdering = map[string]string{
	"username":   "username",
	"email":      "email",
	"full_name":  "full_name",
	"created":    "created",
	"is_active":  "is_active",
	"is_staff":   "is_staff",
	"is_support": "is_support",
}

// likeEscaper makes a search text match literally inside LIKE '%…%'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// ListUsers returns the users viewer may see (staff and support: all;
// others: themselves), filtered and paged, with the total count.
func (s *Service) ListUsers(ctx context.Context, viewer *User, f UserFilter, page db.Page) (users []*User, total int, err error) {
	defer errs.Wrap(&err, "ListUsers")
	where := []string{"1=1"}
	var args []any
	if !viewer.SeesEverything() {
		where = append(where, "id = ?")
		args = append(args, viewer.ID)
	}
	if f.Username != "" {
		where = append(where, "username = ?")
		args = append(args, f.Username)
	}
	if f.Email != "" {
		where = append(where, "LOWER(email) = LOWER(?)")
		args = append(args, f.Email)
	}
	if f.Query != "" {
		if !utf8.ValidString(f.Query) || strings.ContainsRune(f.Query, 0) {
			return nil, 0, errs.Field("q", "Search text must be valid UTF-8 without NUL characters.")
		}
		like := "%" + likeEscaper.Replace(strings.ToLower(f.Query)) + "%"
		where = append(where, `(LOWER(username) LIKE ? ESCAPE '\' OR LOWER(full_name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	if f.IsActive != nil {
		where = append(where, "is_active = ?")
		args = append(args, *f.IsActive)
	}
	cond := strings.Join(where, " AND ")
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		users, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: userColumns, From: " FROM users", Where: cond,
			OrderBy: db.OrderBy(f.Ordering, userOrdering, []string{"username"}, "id"), Args: args, Page: page,
		}, scanUser)
		return err
	})
	return users, total, err
}

// GetUser returns the user with id if viewer may see it, NotFound otherwise.
func (s *Service) GetUser(ctx context.Context, viewer *User, id uuid.UUID) (*User, error) {
	var u *User
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		u, err = getUser(ctx, c, "uuid = ?", id.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	if !viewer.SeesEverything() && viewer.ID != u.ID {
		return nil, errs.NotFoundf("Not found.")
	}
	return u, nil
}

func getUser(ctx context.Context, c db.Conn, cond string, args ...any) (*User, error) {
	u, err := scanUser(c.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// UserByUsername finds a user by exact username (for the CLI).
func (s *Service) UserByUsername(ctx context.Context, username string) (*User, error) {
	var u *User
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		u, err = getUser(ctx, c, "username = ?", username)
		return err
	})
	return u, err
}

// UserByID loads a user by internal id inside a transaction.
func UserByID(ctx context.Context, c db.Conn, id int64) (*User, error) {
	return getUser(ctx, c, "id = ?", id)
}

// UserByUUID loads a user by uuid inside a transaction, without a visibility check.
func UserByUUID(ctx context.Context, c db.Conn, id uuid.UUID) (*User, error) {
	return getUser(ctx, c, "uuid = ?", id.String())
}

// UserInput carries the writable fields of a user; nil means unchanged (on
// update) or the default (on create).
type UserInput struct {
	// UUID, on create, is the id to give the user (FusionAuth clients may
	// choose it); nil picks a random one.
	UUID               *uuid.UUID
	Username           *string
	Email              *string
	FullName           *string
	FirstName          *string
	LastName           *string
	JobTitle           *string
	IsStaff            *bool
	IsSupport          *bool
	IsActive           *bool
	PreferredLanguages *[]string
	Password           *string
	// NotificationsEnabled nil keeps (or, creating, enables) digests.
	NotificationsEnabled *bool
}

// fillFullName derives full_name from first and last name when only those
// are given, as Waldur does.
func (in *UserInput) fillFullName(cur *User) {
	if in.FullName != nil || (in.FirstName == nil && in.LastName == nil) {
		return
	}
	first, last := "", ""
	if cur != nil {
		first, last = cur.FirstName, cur.LastName
	}
	first, last = deref(in.FirstName, first), deref(in.LastName, last)
	full := strings.TrimSpace(first + " " + last)
	in.FullName = &full
}

var usernamePattern = regexp.MustCompile(`^[\w.@+-]{1,150}$`)

func (in *UserInput) validate(creating bool) error {
	fields := map[string][]string{}
	if creating && (in.Username == nil || *in.Username == "") {
		fields["username"] = append(fields["username"], "This field is required.")
	}
	if in.Username != nil && *in.Username != "" && !usernamePattern.MatchString(*in.Username) {
		fields["username"] = append(fields["username"],
			"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
	}
	if in.Email != nil && *in.Email != "" {
		if a, err := mail.ParseAddress(*in.Email); err != nil || a.Address != *in.Email {
			fields["email"] = append(fields["email"], "Enter a valid email address.")
		}
	}
	for name, v := range map[string]*string{"full_name": in.FullName, "first_name": in.FirstName, "last_name": in.LastName, "job_title": in.JobTitle} {
		if v != nil && len([]rune(*v)) > 150 {
			fields[name] = append(fields[name], "Ensure this field has no more than 150 characters.")
		}
	}
	if in.PreferredLanguages != nil {
		for _, l := range *in.PreferredLanguages {
			if l == "" || len(l) > 35 {
				fields["preferred_languages"] = append(fields["preferred_languages"], "Each language must be a language tag such as \"en\" or \"de-CH\".")
				break
			}
		}
	}
	if in.Password != nil && len(*in.Password) < 8 {
		fields["password"] = append(fields["password"], "Ensure this field has at least 8 characters.")
	}
	if in.Password != nil && len(*in.Password) > MaxPasswordBytes {
		// bcrypt refuses longer input (it used to be a 500); bytes, not
		// characters: "é" counts two.
		fields["password"] = append(fields["password"],
			fmt.Sprintf("Ensure this field has no more than %d bytes in UTF-8.", MaxPasswordBytes))
	}
	if len(fields) > 0 {
		return &errs.Error{Kind: errs.Invalid, Message: "Invalid input.", Fields: fields}
	}
	return nil
}

func (s *Service) hashPassword(p string) (string, error) {
	cost := s.PasswordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(p), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// MaxPasswordBytes is bcrypt's input limit. A password is refused beyond
// it rather than silently truncated (which would make every password with
// the same first 72 bytes work) or hashed some other way first.
const MaxPasswordBytes = 72

// usernameTaken is the client's error for a unique violation on username,
// the only unique key a user's writable fields touch.
func usernameTaken(cause error) error {
	e := errs.Field("username", "A user with that username already exists.")
	e.Err = cause
	return e
}

// CreateUser adds a user. Only staff may; actor nil means the system (CLI, demo).
func (s *Service) CreateUser(ctx context.Context, actor *User, in UserInput) (u *User, err error) {
	defer errs.Wrap(&err, "CreateUser(%q)", deref(in.Username, ""))
	if actor != nil && !actor.IsStaff {
		return nil, errs.E(errs.Forbidden, "You do not have permission to perform this action.")
	}
	if err := in.validate(true); err != nil {
		return nil, err
	}
	var pw any
	if in.Password != nil {
		h, err := s.hashPassword(*in.Password)
		if err != nil {
			return nil, err
		}
		pw = h
	}
	langs := []string{}
	if in.PreferredLanguages != nil {
		langs = *in.PreferredLanguages
	}
	langJSON, _ := json.Marshal(langs)
	// No SELECT before the INSERT: the unique index on username decides, so
	// concurrent creates of one name give one user and 400s, never a 500.
	newID := uuid.New()
	if in.UUID != nil && *in.UUID != uuid.Nil {
		newID = *in.UUID
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		var id int64
		in.fillFullName(nil)
		if err := tx.QueryRow(ctx, `INSERT INTO users (uuid, username, email, full_name, first_name, last_name, job_title,
				is_staff, is_support, is_active, preferred_languages, password_hash, notifications_enabled, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			newID.String(), *in.Username, deref(in.Email, ""), deref(in.FullName, ""), deref(in.FirstName, ""),
			deref(in.LastName, ""), deref(in.JobTitle, ""), deref(in.IsStaff, false),
			deref(in.IsSupport, false), deref(in.IsActive, true), string(langJSON), pw, deref(in.NotificationsEnabled, true),
			now, now).Scan(&id); err != nil {
			if db.IsUniqueViolation(err) {
				// The transaction is aborted on PostgreSQL: look on the read side.
				if _, gerr := UserByUUID(ctx, s.DB.Reader(), newID); gerr == nil {
					return errs.Field("id", "A user with this id already exists.")
				}
				return usernameTaken(err)
			}
			return fmt.Errorf("insert user: %w", err)
		}
		var err error
		u, err = UserByID(ctx, tx, id)
		return err
	})
	return u, err
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// UpdateUser changes the given fields. Staff only; a non-staff actor gets
// 403 on themselves and 404 on anyone else.
func (s *Service) UpdateUser(ctx context.Context, actor *User, id uuid.UUID, in UserInput) (u *User, err error) {
	defer errs.Wrap(&err, "UpdateUser(%s)", id)
	if err := in.validate(false); err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, err := getUser(ctx, tx, "uuid = ?"+tx.DB().ForUpdate(), id.String())
		if err != nil {
			return err
		}
		if actor != nil && !actor.IsStaff {
			if actor.ID == cur.ID || actor.IsSupport {
				return errs.E(errs.Forbidden, "You do not have permission to perform this action.")
			}
			return errs.NotFoundf("Not found.")
		}
		sets := []string{}
		args := []any{}
		set := func(col string, v any) {
			sets = append(sets, col+" = ?")
			args = append(args, v)
		}
		if in.Username != nil && *in.Username != cur.Username {
			// A taken name fails the UPDATE below (unique index), race or not.
			set("username", *in.Username)
		}
		if in.Email != nil {
			set("email", *in.Email)
		}
		in.fillFullName(cur)
		if in.FullName != nil {
			set("full_name", *in.FullName)
		}
		if in.FirstName != nil {
			set("first_name", *in.FirstName)
		}
		if in.LastName != nil {
			set("last_name", *in.LastName)
		}
		if in.JobTitle != nil {
			set("job_title", *in.JobTitle)
		}
		if in.NotificationsEnabled != nil {
			set("notifications_enabled", *in.NotificationsEnabled)
		}
		if in.IsStaff != nil {
			set("is_staff", *in.IsStaff)
		}
		if in.IsSupport != nil {
			set("is_support", *in.IsSupport)
		}
		if in.IsActive != nil {
			set("is_active", *in.IsActive)
			if !*in.IsActive && cur.IsActive {
				// Deactivation signs the user out of the console for good:
				// reactivating must not bring old sessions back.
				if err := endSessions(ctx, tx, cur.ID); err != nil {
					return err
				}
			}
		}
		if in.PreferredLanguages != nil {
			b, _ := json.Marshal(*in.PreferredLanguages)
			set("preferred_languages", string(b))
		}
		if in.Password != nil {
			h, err := s.hashPassword(*in.Password)
			if err != nil {
				return err
			}
			set("password_hash", h)
		}
		if len(sets) > 0 {
			set("modified", tx.Now())
			args = append(args, cur.ID)
			if _, err := tx.Exec(ctx, "UPDATE users SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
				if db.IsUniqueViolation(err) {
					return usernameTaken(err)
				}
				return fmt.Errorf("update user: %w", err)
			}
		}
		u, err = UserByID(ctx, tx, cur.ID)
		return err
	})
	return u, err
}

// NewTokenSecret returns a fresh random token: 40 hex characters, the shape
// Waldur and DRF clients expect.
func NewTokenSecret() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// StoreToken saves secret for userID inside tx. expires zero means never.
func StoreToken(ctx context.Context, tx *db.Tx, userID int64, secret, description string, expires time.Time) error {
	var exp any
	if !expires.IsZero() {
		exp = expires
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tokens (key_hash, user_id, description, created, expires_at) VALUES (?, ?, ?, ?, ?)`,
		HashToken(secret), userID, description, tx.Now(), exp); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}

// CreateToken mints a non-expiring token for the user (CLI).
func (s *Service) CreateToken(ctx context.Context, username, description string) (string, error) {
	secret := NewTokenSecret()
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		u, err := getUser(ctx, tx, "username = ?", username)
		if err != nil {
			return fmt.Errorf("user %q: %w", username, err)
		}
		return StoreToken(ctx, tx, u.ID, secret, description, time.Time{})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Login checks a username and password and issues a token. Failed attempts
// are throttled per username and per client address.
func (s *Service) Login(ctx context.Context, username, password, clientAddr string) (string, error) {
	return s.login(ctx, username, password, clientAddr, "password login", s.TokenLifetime)
}

// login is Login issuing a token with the given description and lifetime
// (zero: never expires).
func (s *Service) login(ctx context.Context, username, password, clientAddr, description string, lifetime time.Duration) (string, error) {
	keys := []string{"user:" + strings.ToLower(username), "addr:" + clientAddr}
	if s.Throttle != nil {
		if wait := s.Throttle.Blocked(keys...); wait > 0 {
			return "", &errs.Error{Kind: errs.Throttled,
				Message:           fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secondsCeil(wait)),
				RetryAfterSeconds: secondsCeil(wait)}
		}
	}
	fail := func() error {
		if s.Throttle != nil {
			s.Throttle.Fail(keys...)
		}
		return &errs.Error{Kind: errs.Invalid, Message: "Unable to log in with provided credentials.",
			Fields: map[string][]string{"non_field_errors": {"Unable to log in with provided credentials."}}}
	}
	var (
		userID    int64
		hash      sql.NullString
		active    bool
		prevented loginPrevention
	)
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		return c.QueryRow(ctx, "SELECT id, password_hash, is_active, login_prevented_until_ms, login_prevented_by FROM users WHERE username = ?", username).
			Scan(&userID, &hash, &active, &prevented.until, &prevented.by)
	})
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so response time does not
		// reveal which usernames exist.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return "", fail()
	}
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if !hash.Valid || bcrypt.CompareHashAndPassword([]byte(hash.String), []byte(password)) != nil || !active {
		return "", fail()
	}
	// Only the right password learns that an action prevents the login.
	if err := prevented.check(s.DB.Now()); err != nil {
		return "", err
	}
	if s.Throttle != nil {
		s.Throttle.Reset(keys[0])
	}
	secret := NewTokenSecret()
	var expires time.Time
	if lifetime > 0 {
		expires = s.DB.Now().Add(lifetime)
	}
	if err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		return StoreToken(ctx, tx, userID, secret, description, expires)
	}); err != nil {
		return "", err
	}
	return secret, nil
}

// dummyHash is computed on first use, not at start: bcrypt is slow on purpose.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("heed-timing-equaliser"), bcrypt.DefaultCost)
	return h
})

func secondsCeil(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// DeleteExpiredTokens removes tokens past their expiry, in batches so a large
// backlog never holds the write lock for long. It returns how many went.
func DeleteExpiredTokens(ctx context.Context, d *db.DB, batch int) (int, error) {
	total := 0
	for {
		var n int64
		err := d.InTx(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM tokens WHERE id IN (
				SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY id LIMIT ?)`, tx.Now(), batch)
			if err != nil {
				return fmt.Errorf("delete expired tokens: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if int(n) < batch {
			return total, nil
		}
	}
}
