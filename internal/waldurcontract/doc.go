// Package waldurcontract holds only tests: they check a real heed, on SQLite
// and PostgreSQL, against the wire contract of Waldur's generated Python
// client (testdata/waldur-client-contract.md, a copy of
// shared/reference/waldur-client-contract.md).
//
// The contract document is parsed (contract_test.go) into operations,
// models and enums; a checker (check_test.go) applies the parse rules of its
// §1 the way the generated client does; a driver (driver_test.go) performs
// every operation of §2–§5 against heed with the demo data and reports, per
// client operation, every violated rule with its JSON path.
package waldurcontract
