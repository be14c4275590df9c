// Package apifuzz drives every operation of heed's OpenAPI document with
// generated requests against a real heed (SQLite, and PostgreSQL when
// HEED_TEST_POSTGRES_URL is set) and checks the promises the API makes
// whatever the input:
//
//   - never a 5xx;
//   - every 4xx body in Django REST Framework's shape ({"detail": "…"} or
//     field → list of messages), naming inputs that exist;
//   - every status declared for the operation, and every response (2xx and
//     4xx) valid against the schema and headers declared for that status;
//   - a 2xx only for requests the document allows (no null for a
//     non-nullable field, no value outside its enum, pattern or format);
//   - a rejected request, or any read, leaves the database as it was (a
//     fingerprint of every row of every heed table before and after).
//
// Requests come from the document: path, query and body values drawn from
// each schema (types, enums, formats, patterns, lengths, ranges, nullability)
// with pgregory.net/rapid, mixed with hostile ones (NUL, invalid UTF-8,
// overlong strings, years 0000 and 10000, 1e400, null, wrong types, unknown
// keys, malformed bodies, all-zero and foreign uuids), real uuids of demo
// objects, and the demo users' tokens (staff, support, alice, bob, carol,
// none, bad ones). A failing request is minimised (parameters and keys
// dropped, strings shortened, one at a time, while it fails the same way)
// and reported with a curl command.
//
// The package holds only tests. A CI-sized run (3000 requests per
// database) is part of `go test ./...`; a longer one is
//
//	HEED_FUZZ_REQUESTS=20000 go test -count=1 -run TestAPIFuzz ./internal/apifuzz/
//
// HEED_FUZZ_SEED (default 1) picks the seed: a run with the same seed and
// count sends the same requests. HEED_FUZZ_OPS (a regular expression over
// "METHOD /path") narrows the operations, and HEED_FUZZ_TRACE=/tmp/fuzz-{db}.log
// writes every exchange to a file. The CI-sized run stops early, saying so
// in the log, past HEED_FUZZ_MAX_TIME per database (default 90s; none when
// a count is given), so that a slow machine shortens it instead of timing
// out. The flags -apifuzz.n, -apifuzz.seed and -apifuzz.ops do the same as
// the variables when only this package is tested.
package apifuzz
