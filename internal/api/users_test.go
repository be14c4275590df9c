package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/demo"
)

const (
	msgNotProvided  = `{"detail":"Authentication credentials were not provided."}`
	msgInvalidToken = `{"detail":"Invalid token."}`
	msgForbidden    = `{"detail":"You do not have permission to perform this action."}`
	msgNotFound     = `{"detail":"Not found."}`
	msgInvalidPage  = `{"detail":"Invalid page."}`
)

var hexUUID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// demoOrder returns the demo usernames sorted by cmp (ties by username, as
// the API breaks them by id in creation order only after the sort keys).
func demoOrder(cmp func(a, b demo.DemoUser) int) []string {
	us := slices.Clone(demo.Users)
	slices.SortStableFunc(us, func(a, b demo.DemoUser) int {
		if c := cmp(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Username, b.Username)
	})
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Username
	}
	return out
}

func byUsername(a, b demo.DemoUser) int { return strings.Compare(a.Username, b.Username) }

func reversed(l []string) []string {
	out := slices.Clone(l)
	slices.Reverse(out)
	return out
}

func without(l []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return s == drop })
}

func boolFirst(b bool) int {
	if b {
		return -1
	}
	return 1
}

// dashed turns a 32-hex uuid into its 8-4-4-4-12 form.
func dashed(h string) string {
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestUsersMeAuthentication(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		accepted := []struct{ name, header, want string }{
			{"Token scheme", "Token " + apptest.Alice, "alice"},
			{"Token scheme lower case", "token " + apptest.Alice, "alice"},
			{"Bearer scheme", "Bearer " + apptest.Alice, "alice"},
			{"bare token", apptest.Alice, "alice"},
			{"surrounding spaces", "  Token   " + apptest.Bob + "  ", "bob"},
			{"staff", "Token " + apptest.Staff, "admin"},
			{"support", "Bearer " + apptest.Support, "support"},
		}
		for _, c := range accepted {
			t.Run(c.name, func(t *testing.T) {
				r := doHeader(t, h, http.MethodGet, "/api/users/me/", c.header, nil).Want(t, http.StatusOK)
				me := r.Object(t)
				if me["username"] != c.want {
					t.Fatalf("me = %v, want %s", me, c.want)
				}
				if u, _ := me["uuid"].(string); !hexUUID.MatchString(u) {
					t.Errorf("uuid %q is not 32 hex characters", u)
				}
			})
		}

		rejected := []struct{ name, header, want string }{
			{"no header", "", msgNotProvided},
			{"scheme without a token", "Token ", msgInvalidToken},
			{"wrong token", "Token wrong-token", msgInvalidToken},
			{"wrong bearer", "Bearer wrong-token", msgInvalidToken},
			{"wrong bare token", "wrong-token", msgInvalidToken},
			{"other scheme", "Basic " + apptest.Alice, msgInvalidToken},
			{"token with a suffix", "Token " + apptest.Alice + "x", msgInvalidToken},
		}
		for _, c := range rejected {
			t.Run(c.name, func(t *testing.T) {
				r := doHeader(t, h, http.MethodGet, "/api/users/me/", c.header, nil)
				wantJSON(t, r, http.StatusUnauthorized, c.want)
				if got := r.Header.Get("WWW-Authenticate"); got != "Token" {
					t.Errorf("WWW-Authenticate %q, want %q", got, "Token")
				}
			})
		}

		// Public endpoints ignore a bad token instead of failing the request.
		t.Run("bad token on a public endpoint", func(t *testing.T) {
			doHeader(t, h, http.MethodGet, "/healthz", "Token wrong-token", nil).Want(t, http.StatusOK)
		})
	})
}

func TestUsersVisibility(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		all := demoOrder(byUsername)
		list := []struct {
			name, token string
			want        []string
		}{
			{"staff", apptest.Staff, all},
			{"support", apptest.Support, all},
			{"alice", apptest.Alice, []string{"alice"}},
			{"bob", apptest.Bob, []string{"bob"}},
		}
		for _, c := range list {
			t.Run("list as "+c.name, func(t *testing.T) {
				r := do(t, h, http.MethodGet, "/api/users/", c.token, nil).Want(t, http.StatusOK)
				if diff := cmp.Diff(c.want, usernames(r.List(t))); diff != "" {
					t.Errorf("usernames (-want +got):\n%s", diff)
				}
				if got := r.Header.Get("X-Result-Count"); got != strconv.Itoa(len(c.want)) {
					t.Errorf("X-Result-Count %q, want %d", got, len(c.want))
				}
			})
		}
		t.Run("list anonymously", func(t *testing.T) {
			wantJSON(t, do(t, h, http.MethodGet, "/api/users/", "", nil), http.StatusUnauthorized, msgNotProvided)
			head := do(t, h, http.MethodHead, "/api/users/", "wrong", nil)
			if head.Status != http.StatusUnauthorized || len(head.Body) != 0 || head.Header.Get("WWW-Authenticate") != "Token" {
				t.Errorf("HEAD with a wrong token: %d %q %v", head.Status, head.Body, head.Header)
			}
		})

		ids := map[string]string{}
		for _, name := range all {
			ids[name] = uuidOf(t, h, name)
		}
		retrieve := []struct {
			name, token, target string
			status              int
		}{
			{"staff sees bob", apptest.Staff, "bob", http.StatusOK},
			{"staff sees support", apptest.Staff, "support", http.StatusOK},
			{"support sees alice", apptest.Support, "alice", http.StatusOK},
			{"support sees admin", apptest.Support, "admin", http.StatusOK},
			{"alice sees herself", apptest.Alice, "alice", http.StatusOK},
			{"alice does not see bob", apptest.Alice, "bob", http.StatusNotFound},
			{"alice does not see admin", apptest.Alice, "admin", http.StatusNotFound},
			{"bob does not see alice", apptest.Bob, "alice", http.StatusNotFound},
		}
		for _, c := range retrieve {
			for _, form := range []struct{ name, id string }{
				{"hex", ids[c.target]},
				{"dashed", dashed(ids[c.target])},
				{"upper-case dashed", strings.ToUpper(dashed(ids[c.target]))},
			} {
				t.Run(c.name+" by "+form.name+" uuid", func(t *testing.T) {
					r := do(t, h, http.MethodGet, "/api/users/"+form.id+"/", c.token, nil)
					if c.status == http.StatusNotFound {
						wantJSON(t, r, http.StatusNotFound, msgNotFound)
						return
					}
					got := r.Want(t, http.StatusOK).Object(t)
					if got["username"] != c.target || got["uuid"] != ids[c.target] {
						t.Errorf("got %v, want %s with uuid %s", got, c.target, ids[c.target])
					}
				})
			}
		}
		t.Run("anonymous retrieve", func(t *testing.T) {
			wantJSON(t, do(t, h, http.MethodGet, "/api/users/"+ids["alice"]+"/", "", nil), http.StatusUnauthorized, msgNotProvided)
		})

		alice := ids["alice"]
		for _, bad := range []string{
			"not-a-uuid",
			"00000000000000000000000000000000", // well formed, no such user
			"0123456789abcdef0123456789abcdef", // well formed, no such user
			alice[:31],                         // too short
			alice + "0",                        // too long
			"g" + alice[1:],                    // not hex
			"{" + alice + "}",                  // braces
			"urn:uuid:" + dashed(alice),        // URN
			dashed(alice)[:35] + "x",           // bad dashed
			strings.ReplaceAll(dashed(alice), "-", "_"),
		} {
			t.Run("malformed or unknown uuid "+bad, func(t *testing.T) {
				wantJSON(t, do(t, h, http.MethodGet, "/api/users/"+url.PathEscape(bad)+"/", apptest.Staff, nil),
					http.StatusNotFound, msgNotFound)
			})
		}
	})
}

func TestUsersFiltersAndOrdering(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		all := demoOrder(byUsername)
		byEmail := demoOrder(func(a, b demo.DemoUser) int { return strings.Compare(a.Email, b.Email) })
		staffFirst := demoOrder(func(a, b demo.DemoUser) int {
			if a.Staff == b.Staff {
				return 0
			}
			return boolFirst(a.Staff)
		})
		supportFirstDesc := reversed(demoOrder(func(a, b demo.DemoUser) int {
			if a.Support == b.Support {
				return 0
			}
			return -boolFirst(a.Support)
		}))
		cases := []struct {
			name, query, token string
			want               []string
		}{
			{"username", "username=bob", apptest.Staff, []string{"bob"}},
			{"username is exact", "username=bo", apptest.Staff, []string{}},
			{"username is case-sensitive", "username=BOB", apptest.Staff, []string{}},
			{"email", "email=alice@example.com", apptest.Staff, []string{"alice"}},
			{"email ignores case", "email=ALICE@Example.COM", apptest.Support, []string{"alice"}},
			{"email is exact", "email=alice@example", apptest.Staff, []string{}},
			{"filters combine", "username=alice&email=bob@example.com", apptest.Staff, []string{}},
			{"filters keep visibility", "username=bob", apptest.Alice, []string{}},
			{"own filter", "username=alice", apptest.Alice, []string{"alice"}},
			{"is_active true", "is_active=true", apptest.Staff, all},
			{"is_active True", "is_active=True", apptest.Staff, all},
			{"is_active false", "is_active=false", apptest.Staff, []string{}},
			{"is_active 0", "is_active=0", apptest.Staff, []string{}},
			{"default order", "", apptest.Staff, all},
			{"o=username", "o=username", apptest.Staff, all},
			{"o=-username", "o=-username", apptest.Staff, reversed(all)},
			{"o=email", "o=email", apptest.Staff, byEmail},
			{"o=-email", "o=-email", apptest.Support, reversed(byEmail)},
			{"o=-is_staff,username", "o=-is_staff,username", apptest.Staff, staffFirst},
			{"o=-is_support,-username", "o=-is_support,-username", apptest.Staff, supportFirstDesc},
			{"unknown ordering is ignored", "o=password", apptest.Staff, all},
		}
		if all[0] != "admin" || !slices.Contains(all, "support") || staffFirst[0] != "admin" || supportFirstDesc[0] != "support" {
			t.Fatalf("the demo set changed shape: %v", all)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := do(t, h, http.MethodGet, "/api/users/?"+c.query, c.token, nil).Want(t, http.StatusOK)
				if diff := cmp.Diff(c.want, usernames(r.List(t))); diff != "" {
					t.Errorf("usernames (-want +got):\n%s", diff)
				}
				if got := r.Header.Get("X-Result-Count"); got != strconv.Itoa(len(c.want)) {
					t.Errorf("X-Result-Count %q, want %d", got, len(c.want))
				}
			})
		}

		for _, bad := range []string{"maybe", "yes", "2", "TRUE "} {
			t.Run("is_active="+bad, func(t *testing.T) {
				r := do(t, h, http.MethodGet, "/api/users/?is_active="+url.QueryEscape(bad), apptest.Staff, nil)
				wantJSON(t, r, http.StatusBadRequest, `{"is_active":["Select a valid choice: true, false, 1 or 0."]}`)
			})
		}

		t.Run("inactive users", func(t *testing.T) {
			bob := uuidOf(t, h, "bob")
			do(t, h, http.MethodPatch, "/api/users/"+bob+"/", apptest.Staff, map[string]any{"is_active": false}).
				Want(t, http.StatusOK)
			for q, want := range map[string][]string{
				"is_active=false": {"bob"},
				"is_active=1":     without(all, "bob"),
				"":                all,
			} {
				r := do(t, h, http.MethodGet, "/api/users/?"+q, apptest.Staff, nil).Want(t, http.StatusOK)
				if diff := cmp.Diff(want, usernames(r.List(t))); diff != "" {
					t.Errorf("?%s (-want +got):\n%s", q, diff)
				}
			}
			// An inactive user's token no longer authenticates.
			wantJSON(t, do(t, h, http.MethodGet, "/api/users/me/", apptest.Bob, nil), http.StatusUnauthorized,
				`{"detail":"User inactive or deleted."}`)
		})
	})
}

func TestUsersPagination(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		all := demoOrder(byUsername)
		n := len(all)
		if n < 4 {
			t.Fatalf("the demo set has %d users; these cases need at least 4", n)
		}
		base := h.URL + "/api/users/"
		page := func(q string) string { return base + "?" + q }
		cases := []struct {
			name, query string
			want        []string
			count       int
			links       map[string]string
		}{
			{
				name: "first page", query: "page_size=1",
				want: all[:1], count: n,
				links: map[string]string{
					"first": page("page=1&page_size=1"),
					"next":  page("page=2&page_size=1"),
					"last":  page(fmt.Sprintf("page=%d&page_size=1", n)),
				},
			},
			{
				name: "second page keeps other parameters", query: "page_size=1&o=-username&page=2",
				want: reversed(all)[1:2], count: n,
				links: map[string]string{
					"first": page("o=-username&page=1&page_size=1"),
					"prev":  page("o=-username&page=1&page_size=1"),
					"next":  page("o=-username&page=3&page_size=1"),
					"last":  page(fmt.Sprintf("o=-username&page=%d&page_size=1", n)),
				},
			},
			{
				name: "last page", query: fmt.Sprintf("page=2&page_size=%d&email=", n-1),
				want: all[n-1:], count: n,
				links: map[string]string{
					"first": page(fmt.Sprintf("email=&page=1&page_size=%d", n-1)),
					"prev":  page(fmt.Sprintf("email=&page=1&page_size=%d", n-1)),
					"last":  page(fmt.Sprintf("email=&page=2&page_size=%d", n-1)),
				},
			},
			{
				name: "everything on one page", query: "",
				want: all, count: n,
				links: map[string]string{"first": page("page=1"), "last": page("page=1")},
			},
			{
				name: "page_size not a number falls back to the default", query: "page_size=abc",
				want: all, count: n,
				links: map[string]string{"first": page("page=1&page_size=abc"), "last": page("page=1&page_size=abc")},
			},
			{
				name: "page_size 0 falls back to the default", query: "page_size=0&page=1",
				want: all, count: n,
				links: map[string]string{"first": page("page=1&page_size=0"), "last": page("page=1&page_size=0")},
			},
			{
				name: "page_size 1000", query: "page_size=1000",
				want: all, count: n,
				links: map[string]string{"first": page("page=1&page_size=1000"), "last": page("page=1&page_size=1000")},
			},
			{
				name: "filtered list paginates the filtered count", query: "page_size=1&username=alice",
				want: []string{"alice"}, count: 1,
				links: map[string]string{
					"first": page("page=1&page_size=1&username=alice"),
					"last":  page("page=1&page_size=1&username=alice"),
				},
			},
			{
				name: "empty result is one empty page", query: "username=nobody",
				want: []string{}, count: 0,
				links: map[string]string{"first": page("page=1&username=nobody"), "last": page("page=1&username=nobody")},
			},
			{
				name: "escaped parameters stay escaped", query: "email=a%2Bb%40example.com&page_size=1",
				want: []string{}, count: 0,
				links: map[string]string{
					"first": page("email=a%2Bb%40example.com&page=1&page_size=1"),
					"last":  page("email=a%2Bb%40example.com&page=1&page_size=1"),
				},
			},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				path := "/api/users/"
				if c.query != "" {
					path += "?" + c.query
				}
				get := do(t, h, http.MethodGet, path, apptest.Staff, nil).Want(t, http.StatusOK)
				if diff := cmp.Diff(c.want, usernames(get.List(t))); diff != "" {
					t.Errorf("usernames (-want +got):\n%s", diff)
				}
				if got := get.Header.Get("X-Result-Count"); got != strconv.Itoa(c.count) {
					t.Errorf("X-Result-Count %q, want %d", got, c.count)
				}
				if diff := cmp.Diff(c.links, parseLinks(t, get.Header.Get("Link"))); diff != "" {
					t.Errorf("Link (-want +got):\n%s", diff)
				}

				head := do(t, h, http.MethodHead, path, apptest.Staff, nil).Want(t, http.StatusOK)
				if len(head.Body) != 0 {
					t.Errorf("HEAD body %q, want empty", head.Body)
				}
				for _, k := range []string{"X-Result-Count", "Link"} {
					if head.Header.Get(k) != get.Header.Get(k) {
						t.Errorf("HEAD %s %q, GET has %q", k, head.Header.Get(k), get.Header.Get(k))
					}
				}
			})
		}

		// Following the links walks every user exactly once.
		t.Run("walk next links", func(t *testing.T) {
			var seen []string
			next := page("page_size=1&o=email")
			for i := 0; next != "" && i < n+5; i++ {
				req, err := http.NewRequest(http.MethodGet, next, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Token "+apptest.Support)
				r := send(t, h.Client, req).Want(t, http.StatusOK)
				seen = append(seen, usernames(r.List(t))...)
				next = parseLinks(t, r.Header.Get("Link"))["next"]
			}
			want := demoOrder(func(a, b demo.DemoUser) int { return strings.Compare(a.Email, b.Email) })
			if diff := cmp.Diff(want, seen); diff != "" {
				t.Errorf("walk (-want +got):\n%s", diff)
			}
		})

		t.Run("empty page parameter is the first page", func(t *testing.T) {
			r := do(t, h, http.MethodGet, "/api/users/?page=", apptest.Staff, nil).Want(t, http.StatusOK)
			if diff := cmp.Diff(all, usernames(r.List(t))); diff != "" {
				t.Errorf("usernames (-want +got):\n%s", diff)
			}
		})

		for _, q := range []string{
			"page=99", fmt.Sprintf("page=%d&page_size=1", n+1), "page=2", "page=0", "page=-1",
			"page=abc", "page=1.5", "page=2&username=nobody",
		} {
			t.Run("invalid page "+q, func(t *testing.T) {
				wantJSON(t, do(t, h, http.MethodGet, "/api/users/?"+q, apptest.Staff, nil), http.StatusNotFound, msgInvalidPage)
				head := do(t, h, http.MethodHead, "/api/users/?"+q, apptest.Staff, nil)
				if head.Status != http.StatusNotFound || len(head.Body) != 0 {
					t.Errorf("HEAD: %d %q, want 404 with no body", head.Status, head.Body)
				}
			})
		}
	})
}

// TestUsersPageSizeLimits needs more users than the largest page.
func TestUsersPageSizeLimits(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		// 301 users in all, added in one statement: one CreateUser each
		// took most of a minute on PostgreSQL under -race.
		ctx := context.Background()
		err := h.App.DB.InTx(ctx, func(tx *db.Tx) error {
			var rows []string
			var args []any
			now := tx.Now()
			for i := range 301 - len(demo.Users) {
				rows = append(rows, "(?, ?, ?, ?)")
				args = append(args, uuid.NewString(), fmt.Sprintf("user%03d", i), now, now)
			}
			_, err := tx.Exec(ctx, "INSERT INTO users (uuid, username, created, modified) VALUES "+strings.Join(rows, ", "), args...)
			return err
		})
		if err != nil {
			t.Fatalf("add users: %v", err)
		}
		cases := []struct {
			query    string
			size     int
			lastPage int
		}{
			{"", 10, 31},
			{"page_size=abc", 10, 31},
			{"page_size=-5", 10, 31},
			{"page_size=300", 300, 2},
			{"page_size=301", 300, 2},
			{"page_size=1000", 300, 2},
			{"page_size=1000&page=2", 1, 2},
			{"page_size=7&page=43", 7, 43},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				r := do(t, h, http.MethodGet, "/api/users/?"+c.query, apptest.Staff, nil).Want(t, http.StatusOK)
				if n := len(r.List(t)); n != c.size {
					t.Errorf("%d users on the page, want %d", n, c.size)
				}
				if got := r.Header.Get("X-Result-Count"); got != "301" {
					t.Errorf("X-Result-Count %q, want 301", got)
				}
				last, err := url.Parse(parseLinks(t, r.Header.Get("Link"))["last"])
				if err != nil {
					t.Fatal(err)
				}
				if got := last.Query().Get("page"); got != strconv.Itoa(c.lastPage) {
					t.Errorf("last page %s, want %d", got, c.lastPage)
				}
			})
		}
		wantJSON(t, do(t, h, http.MethodGet, "/api/users/?page_size=1000&page=3", apptest.Staff, nil),
			http.StatusNotFound, msgInvalidPage)
	})
}

func TestUsersCreate(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		rejected := []struct {
			name, token string
			status      int
			want        string
		}{
			{"anonymous", "", http.StatusUnauthorized, msgNotProvided},
			{"bad token", "nope", http.StatusUnauthorized, msgInvalidToken},
			{"alice", apptest.Alice, http.StatusForbidden, msgForbidden},
			{"support", apptest.Support, http.StatusForbidden, msgForbidden},
		}
		for _, c := range rejected {
			t.Run("rejected for "+c.name, func(t *testing.T) {
				before := usersSnapshot(t, h)
				r := do(t, h, http.MethodPost, "/api/users/", c.token, map[string]any{"username": "nina", "is_staff": true})
				wantJSON(t, r, c.status, c.want)
				wantUnchanged(t, h, before)
			})
		}

		t.Run("staff creates", func(t *testing.T) {
			body := map[string]any{
				"username": "nina", "email": "nina@example.com", "full_name": "Nina Newcomer",
				"is_support": true, "preferred_languages": []string{"de-CH", "en"}, "password": "nina-password",
			}
			created := do(t, h, http.MethodPost, "/api/users/", apptest.Staff, body).Want(t, http.StatusCreated).Object(t)
			id, _ := created["uuid"].(string)
			if !hexUUID.MatchString(id) {
				t.Fatalf("uuid %q", id)
			}
			want := map[string]any{
				"uuid": id, "username": "nina", "email": "nina@example.com", "full_name": "Nina Newcomer",
				"is_staff": false, "is_support": true, "is_active": true,
				"preferred_languages": []any{"de-CH", "en"}, "preferred_language": "de-CH", "has_usable_password": true,
				"first_name": "", "last_name": "", "job_title": "", "permissions": []any{}, "notifications_enabled": true,
				"url": created["url"], "date_joined": created["created"],
				"created": created["created"], "modified": created["modified"],
			}
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			if _, ok := created["password"]; ok {
				t.Errorf("password returned")
			}
			if s, _ := created["created"].(string); !strings.HasSuffix(s, "Z") {
				t.Errorf("created %q is not UTC", s)
			}
			got := do(t, h, http.MethodGet, "/api/users/"+id+"/", apptest.Staff, nil).Want(t, http.StatusOK).Object(t)
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("read back (-created +read):\n%s", diff)
			}
			// The new support user can log in and sees everyone.
			login := do(t, h, http.MethodPost, "/api-auth/password/", "",
				map[string]string{"username": "nina", "password": "nina-password"}).Want(t, http.StatusOK).Object(t)
			r := do(t, h, http.MethodGet, "/api/users/", login["token"].(string), nil).Want(t, http.StatusOK)
			if want := strconv.Itoa(len(demo.Users) + 1); r.Header.Get("X-Result-Count") != want {
				t.Errorf("nina sees %s users, want %s", r.Header.Get("X-Result-Count"), want)
			}
		})

		t.Run("minimal body gets defaults", func(t *testing.T) {
			created := do(t, h, http.MethodPost, "/api/users/", apptest.Staff, `{"username":"nico"}`).
				Want(t, http.StatusCreated).Object(t)
			for k, want := range map[string]any{
				"email": "", "full_name": "", "is_staff": false, "is_support": false, "is_active": true,
				"preferred_languages": []any{}, "has_usable_password": false, "preferred_language": "", "permissions": []any{},
			} {
				if diff := cmp.Diff(want, created[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})

		for _, name := range []string{"alice", "nina"} {
			t.Run("duplicate username "+name, func(t *testing.T) {
				before := usersSnapshot(t, h)
				r := do(t, h, http.MethodPost, "/api/users/", apptest.Staff, map[string]any{"username": name, "email": "x@example.com"})
				wantJSON(t, r, http.StatusBadRequest, `{"username":["A user with that username already exists."]}`)
				wantUnchanged(t, h, before)
			})
		}
	})
}

func TestUsersUpdate(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		alice, bob, support := uuidOf(t, h, "alice"), uuidOf(t, h, "bob"), uuidOf(t, h, "support")
		rejected := []struct {
			name, token, target string
			status              int
			want                string
		}{
			{"anonymous", "", bob, http.StatusUnauthorized, msgNotProvided},
			{"alice on herself", apptest.Alice, alice, http.StatusForbidden, msgForbidden},
			{"alice on herself, dashed uuid", apptest.Alice, dashed(alice), http.StatusForbidden, msgForbidden},
			{"alice on bob", apptest.Alice, bob, http.StatusNotFound, msgNotFound},
			{"alice on support", apptest.Alice, support, http.StatusNotFound, msgNotFound},
			{"support on alice", apptest.Support, alice, http.StatusForbidden, msgForbidden},
			{"support on herself", apptest.Support, support, http.StatusForbidden, msgForbidden},
			{"staff on an unknown uuid", apptest.Staff, "0123456789abcdef0123456789abcdef", http.StatusNotFound, msgNotFound},
			{"staff on a malformed uuid", apptest.Staff, "nope", http.StatusNotFound, msgNotFound},
		}
		for _, c := range rejected {
			t.Run("rejected: "+c.name, func(t *testing.T) {
				before := usersSnapshot(t, h)
				r := do(t, h, http.MethodPatch, "/api/users/"+c.target+"/", c.token,
					map[string]any{"is_staff": true, "full_name": "Mallory"})
				wantJSON(t, r, c.status, c.want)
				wantUnchanged(t, h, before)
			})
		}

		t.Run("staff updates", func(t *testing.T) {
			before := userByName(t, h, "bob")
			got := do(t, h, http.MethodPatch, "/api/users/"+dashed(bob)+"/", apptest.Staff,
				map[string]any{"full_name": "Robert Manager", "email": "robert@example.com", "preferred_languages": []string{"et"}}).
				Want(t, http.StatusOK).Object(t)
			want := map[string]any{}
			for k, v := range before {
				want[k] = v
			}
			want["full_name"], want["email"], want["preferred_languages"] = "Robert Manager", "robert@example.com", []any{"et"}
			want["preferred_language"] = "et"
			want["modified"] = got["modified"]
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("updated (-want +got):\n%s", diff)
			}
			if got["modified"] == before["modified"] {
				t.Errorf("modified not advanced: %v", got["modified"])
			}
			if diff := cmp.Diff(got, userByName(t, h, "bob")); diff != "" {
				t.Errorf("read back (-patched +read):\n%s", diff)
			}
		})

		t.Run("empty patch changes nothing", func(t *testing.T) {
			before := usersSnapshot(t, h)
			got := do(t, h, http.MethodPatch, "/api/users/"+bob+"/", apptest.Staff, `{}`).Want(t, http.StatusOK).Object(t)
			if got["username"] != "bob" {
				t.Errorf("got %v", got)
			}
			wantUnchanged(t, h, before)
		})

		t.Run("rename to an existing username", func(t *testing.T) {
			before := usersSnapshot(t, h)
			r := do(t, h, http.MethodPatch, "/api/users/"+bob+"/", apptest.Staff, map[string]any{"username": "alice"})
			wantJSON(t, r, http.StatusBadRequest, `{"username":["A user with that username already exists."]}`)
			wantUnchanged(t, h, before)
		})

		t.Run("rename to own username is a no-op", func(t *testing.T) {
			do(t, h, http.MethodPatch, "/api/users/"+bob+"/", apptest.Staff, map[string]any{"username": "bob"}).Want(t, http.StatusOK)
		})

		t.Run("staff promotes alice", func(t *testing.T) {
			do(t, h, http.MethodPatch, "/api/users/"+alice+"/", apptest.Staff, map[string]any{"is_staff": true}).Want(t, http.StatusOK)
			r := do(t, h, http.MethodGet, "/api/users/", apptest.Alice, nil).Want(t, http.StatusOK)
			if want := strconv.Itoa(len(demo.Users)); r.Header.Get("X-Result-Count") != want {
				t.Errorf("promoted alice sees %s users, want %s", r.Header.Get("X-Result-Count"), want)
			}
		})
	})
}

// TestUsersBadInput: every malformed request is refused with a DRF body and
// leaves the users as they were.
func TestUsersBadInput(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		bob := uuidOf(t, h, "bob")
		huge := `{"username":"big","full_name":"` + strings.Repeat("x", 1<<20) + `"}`
		type check func(t *testing.T, r *apptest.Response)
		detail := func(status int, prefix string) check {
			return func(t *testing.T, r *apptest.Response) {
				t.Helper()
				if r.Status != status {
					t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
				}
				var body map[string]string
				if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || !strings.HasPrefix(body["detail"], prefix) {
					t.Fatalf("body %s, want {\"detail\": %q...}", r.Body, prefix)
				}
			}
		}
		exact := func(status int, want string) check {
			return func(t *testing.T, r *apptest.Response) { t.Helper(); wantJSON(t, r, status, want) }
		}
		field := func(name string) check {
			return func(t *testing.T, r *apptest.Response) { t.Helper(); wantFieldError(t, r, name) }
		}
		cases := []struct {
			name, method, path, body string
			check                    check
		}{
			{"malformed JSON", "POST", "/api/users/", `{"username": "x",`, detail(400, "JSON parse error - ")},
			{"not JSON at all", "POST", "/api/users/", `username=x`, detail(400, "JSON parse error - ")},
			{"malformed JSON on PATCH", "PATCH", "/api/users/" + bob + "/", `{bad`, detail(400, "JSON parse error - ")},
			{"a JSON array", "POST", "/api/users/", `[{"username":"x"}]`, field("non_field_errors")},
			{"string for a boolean", "POST", "/api/users/", `{"username":"x","is_staff":"yes"}`,
				exact(400, `{"is_staff":["Expected boolean."]}`)},
			{"string for a boolean on PATCH", "PATCH", "/api/users/" + bob + "/", `{"is_staff":"yes"}`,
				exact(400, `{"is_staff":["Expected boolean."]}`)},
			{"number for a string", "POST", "/api/users/", `{"username":42}`, field("username")},
			{"string for a list", "PATCH", "/api/users/" + bob + "/", `{"preferred_languages":"en"}`, field("preferred_languages")},
			{"null username", "POST", "/api/users/", `{"username":null}`, field("username")},
			{"unknown field ignored, declared one still checked", "POST", "/api/users/", `{"username":"x y","is_superuser":true}`,
				field("username")},
			{"null for a non-nullable field", "PATCH", "/api/users/" + bob + "/", `{"email":null}`,
				exact(400, `{"email":["This field may not be null."]}`)},
			{"NUL in a string", "PATCH", "/api/users/" + bob + "/", `{"full_name":"a\u0000b"}`,
				exact(400, `{"full_name":["Null characters are not allowed."]}`)},
			{"missing username", "POST", "/api/users/", `{"email":"x@example.com"}`,
				exact(400, `{"username":["This field is required."]}`)},
			{"empty object", "POST", "/api/users/", `{}`, exact(400, `{"username":["This field is required."]}`)},
			{"empty username", "POST", "/api/users/", `{"username":""}`, field("username")},
			{"username with spaces", "POST", "/api/users/", `{"username":"a b"}`,
				exact(400, `{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`)},
			{"invalid email", "POST", "/api/users/", `{"username":"x","email":"not-an-email"}`,
				exact(400, `{"email":["Enter a valid email address."]}`)},
			{"invalid email on PATCH", "PATCH", "/api/users/" + bob + "/", `{"email":"Bob <bob@example.com>"}`,
				exact(400, `{"email":["Enter a valid email address."]}`)},
			{"short password", "PATCH", "/api/users/" + bob + "/", `{"password":"short"}`, field("password")},
			{"long full name", "PATCH", "/api/users/" + bob + "/", `{"full_name":"` + strings.Repeat("n", 151) + `"}`, field("full_name")},
			{"body over 1 MiB", "POST", "/api/users/", huge, exact(413, `{"detail":"Request body is too large."}`)},
			{"body over 1 MiB on PATCH", "PATCH", "/api/users/" + bob + "/", huge, exact(413, `{"detail":"Request body is too large."}`)},
			{"body over 1 MiB on login", "POST", "/api-auth/password/", huge, exact(413, `{"detail":"Request body is too large."}`)},
			{"no body", "POST", "/api/users/", "", detail(400, "")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := usersSnapshot(t, h)
				var body any = c.body
				if c.body == "" {
					body = nil
				}
				c.check(t, do(t, h, c.method, c.path, apptest.Staff, body))
				wantUnchanged(t, h, before)
			})
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		// Fewer than 5 failures in all: the throttle also counts per client
		// address, and every request here comes from 127.0.0.1. Only alice
		// has a password (bcrypt is slow under -race).
		t.Run("success", func(t *testing.T) {
			// A bad token does not stand in the way of a public endpoint.
			r := doHeader(t, h, http.MethodPost, "/api-auth/password/", "Token wrong",
				`{"username":"alice","password":"demo-alice-password"}`).Want(t, http.StatusOK)
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			if diff := cmp.Diff([]string{"token"}, sortedKeys(body)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(body["token"]) {
				t.Errorf("token %q is not 40 hex characters", body["token"])
			}
			for _, scheme := range []string{"Token ", "Bearer ", ""} {
				me := doHeader(t, h, http.MethodGet, "/api/users/me/", scheme+body["token"], nil).Want(t, http.StatusOK).Object(t)
				if me["username"] != "alice" {
					t.Errorf("%q token is %v", scheme, me["username"])
				}
			}
			// Each login issues a new token; the old one keeps working.
			again := do(t, h, http.MethodPost, "/api-auth/password/", "",
				map[string]string{"username": "alice", "password": "demo-alice-password"}).Want(t, http.StatusOK).Object(t)
			if again["token"] == body["token"] {
				t.Errorf("second login returned the same token")
			}
			do(t, h, http.MethodGet, "/api/users/me/", body["token"], nil).Want(t, http.StatusOK)
		})

		failures := []struct{ name, body, want string }{
			{"wrong password", `{"username":"alice","password":"demo-bob-password"}`, badCredentials},
			{"unknown user", `{"username":"nobody","password":"demo-alice-password"}`, badCredentials},
			{"username case matters", `{"username":"ALICE","password":"demo-alice-password"}`, badCredentials},
			{"unknown field ignored", `{"username":"alice","password":"wrong-password","otp":"1"}`, badCredentials},
			{"missing password", `{"username":"alice"}`, `{"password":["This field is required."]}`},
			{"empty password", `{"username":"alice","password":""}`, ""},
		}
		for _, c := range failures {
			t.Run(c.name, func(t *testing.T) {
				r := do(t, h, http.MethodPost, "/api-auth/password/", "", c.body)
				switch c.want {
				case "":
					wantFieldError(t, r, "password")
				case badCredentials:
					// Waldur's client accepts 401 (not DRF's 400) for bad credentials.
					wantJSON(t, r, http.StatusUnauthorized, c.want)
				default:
					wantJSON(t, r, http.StatusBadRequest, c.want)
				}
			})
		}

		t.Run("success after failures", func(t *testing.T) {
			do(t, h, http.MethodPost, "/api-auth/password/", "",
				map[string]string{"username": "alice", "password": "demo-alice-password"}).Want(t, http.StatusOK)
		})
		t.Run("user without a password", func(t *testing.T) {
			// bob has no password here: token-only accounts cannot log in.
			wantJSON(t, do(t, h, http.MethodPost, "/api-auth/password/", "",
				map[string]string{"username": "bob", "password": "demo-bob-password"}), http.StatusUnauthorized, badCredentials)
		})
	}, "alice")
}

// badCredentials is the answer to a wrong username or password (a 401).
const badCredentials = `{"detail":"Unable to log in with provided credentials."}`

// TestLoginThrottle runs in its own app: after 5 failures the throttle
// blocks the username and the client address for the window.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		login := func(user, password string) *apptest.Response {
			return do(t, h, http.MethodPost, "/api-auth/password/", "",
				map[string]string{"username": user, "password": password})
		}
		doc, _ := fetchDoc(t, h)
		c := schemaChecker{doc: doc}
		for i := range 5 {
			r := login("alice", fmt.Sprintf("guess-%d", i))
			wantJSON(t, r, http.StatusUnauthorized, badCredentials)
			if r.Header.Get("Retry-After") != "" {
				t.Errorf("attempt %d: Retry-After on a 401", i+1)
			}
		}
		throttled := func(t *testing.T, r *apptest.Response) {
			t.Helper()
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429; body %s", r.Status, r.Body)
			}
			after, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || after < 1 || after > 15*60 {
				t.Fatalf("Retry-After %q, want whole seconds within the 15-minute window", r.Header.Get("Retry-After"))
			}
			wantJSON(t, r, http.StatusTooManyRequests,
				fmt.Sprintf(`{"detail":"Request was throttled. Expected available in %d seconds."}`, after))
			c.response(t, http.MethodPost, "/api-auth/password/", r, false)
		}
		t.Run("sixth attempt", func(t *testing.T) { throttled(t, login("alice", "guess-6")) })
		t.Run("even with the right password", func(t *testing.T) { throttled(t, login("alice", "demo-alice-password")) })
		t.Run("username case does not escape", func(t *testing.T) { throttled(t, login("Alice", "x")) })
		// The documented per-address limit: this client is blocked for
		// other usernames too.
		t.Run("same address, other user", func(t *testing.T) { throttled(t, login("bob", "demo-bob-password")) })
		// Tokens already issued keep working.
		t.Run("tokens unaffected", func(t *testing.T) {
			do(t, h, http.MethodGet, "/api/users/me/", apptest.Alice, nil).Want(t, http.StatusOK)
		})
	}, "alice")
}
