package waldurcontract

// The parser of the contract document (testdata/waldur-client-contract.md).
// It reads what the document states and nothing else: operations from the
// tables of §2–§5 (and, for §5, the query parameters of its list), models from every table, compact list, nested
// parenthesised list and one-line definition anywhere in the document, and
// enums from their value lists. Wherever the document states a count
// ("61 keys", "250 values", "the same three keys") the parser checks it.

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const contractPath = "testdata/waldur-client-contract.md"

// TypeKind is the kind of a field's type, as the document's legend names it.
type TypeKind int

const (
	TString TypeKind = iota
	TInt
	TNumber
	TBool
	TUUID
	TDateTime
	TDate
	TObject     // free-form object with any keys
	TFile       // request-only file part
	TAny        // anything
	TArray      // [Elem]
	TMap        // {string: Elem}
	TRef        // a model or an enum named Name
	TBlankOrRef // "" or the enum Name
)

// Type is a parsed field type.
type Type struct {
	Kind TypeKind
	Elem *Type  // TArray, TMap
	Name string // TRef, TBlankOrRef
}

func (t *Type) String() string {
	switch t.Kind {
	case TArray:
		return "[" + t.Elem.String() + "]"
	case TMap:
		return "{string: " + t.Elem.String() + "}"
	case TRef:
		return t.Name
	case TBlankOrRef:
		return `"" or ` + t.Name
	}
	for name, k := range scalarKinds {
		if k == t.Kind {
			return name
		}
	}
	return "?"
}

var scalarKinds = map[string]TypeKind{
	"string": TString, "int": TInt, "number": TNumber, "bool": TBool, "uuid": TUUID,
	"date-time": TDateTime, "date": TDate, "object": TObject, "file": TFile, "any": TAny,
}

// Field is one key of a model.
type Field struct {
	Name     string
	Type     *Type
	Required bool
	Nullable bool
}

// Model is an object shape of the contract.
type Model struct {
	Name   string
	Fields []*Field
	// DeclaredKeys is the key count the document states (-1 when it states
	// none); the parser fails when it disagrees with the fields it read.
	DeclaredKeys int
}

// Field returns the field named name, or nil.
func (m *Model) Field(name string) *Field {
	for _, f := range m.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Required lists the names of the required keys.
func (m *Model) Required() []string {
	var out []string
	for _, f := range m.Fields {
		if f.Required {
			out = append(out, f.Name)
		}
	}
	return out
}

func (m *Model) clone(name string) *Model {
	c := &Model{Name: name, DeclaredKeys: -1}
	for _, f := range m.Fields {
		cf := *f
		c.Fields = append(c.Fields, &cf)
	}
	return c
}

// Enum is an enumeration with its values.
type Enum struct {
	Name   string
	Values []string
}

// ResponseKind is what the client makes of an accepted status.
type ResponseKind int

const (
	RespModel ResponseKind = iota // the body parsed as Model
	RespList                      // a bare JSON array of Model
	RespCount                     // int from the X-Result-Count header
	RespNone                      // body not read
)

// Response is one accepted (bold) status of an operation.
type Response struct {
	Status int
	Kind   ResponseKind
	Model  string
}

func (r Response) String() string {
	switch r.Kind {
	case RespList:
		return fmt.Sprintf("%d→array of %s", r.Status, r.Model)
	case RespCount:
		return fmt.Sprintf("%d→X-Result-Count", r.Status)
	case RespNone:
		return fmt.Sprintf("%d→None", r.Status)
	}
	return fmt.Sprintf("%d→%s", r.Status, r.Model)
}

// Operation is one row of an operation table.
type Operation struct {
	Name     string // client op name, e.g. users_list
	Section  string // "2", "3", "4.1", ...
	Method   string
	Path     string // with {uuid} / {id}
	Body     string // request model, "" for none
	SyncAll  bool
	Accepted []Response
	// Query are the query parameters the document lists for the operation
	// (read for §5 only; nil elsewhere).
	Query []*Field
}

// QueryParam returns the documented query parameter named name, or nil.
func (op *Operation) QueryParam(name string) *Field {
	for _, f := range op.Query {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Accepts returns the accepted response for status.
func (op *Operation) Accepts(status int) (Response, bool) {
	for _, r := range op.Accepted {
		if r.Status == status {
			return r, true
		}
	}
	return Response{}, false
}

// IsList says whether the op returns a bare array.
func (op *Operation) IsList() bool { return op.main().Kind == RespList }

// main is the first accepted success response.
func (op *Operation) main() Response {
	for _, r := range op.Accepted {
		if r.Status < 300 {
			return r
		}
	}
	return op.Accepted[0]
}

func (op *Operation) statusList() string {
	var s []string
	for _, r := range op.Accepted {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}

// Contract is the parsed document.
type Contract struct {
	Ops    []*Operation // §2–§5, in document order
	Models map[string]*Model
	Enums  map[string]*Enum
	// Opaque lists referenced names the document does not define: the
	// client parses them with from_dict, so all the contract says of them is
	// "a JSON object".
	Opaque []string
}

// Op returns the operation named name, or nil.
func (c *Contract) Op(name string) *Operation {
	for _, op := range c.Ops {
		if op.Name == name {
			return op
		}
	}
	return nil
}

// countFor returns the HEAD count operation on the same path, or nil.
func (c *Contract) countFor(list *Operation) *Operation {
	for _, op := range c.Ops {
		if op.Method == "HEAD" && op.Path == list.Path {
			return op
		}
	}
	return nil
}

// listFor returns the GET list on the same path, or nil.
func (c *Contract) listFor(count *Operation) *Operation {
	for _, op := range c.Ops {
		if op.Method == "GET" && op.Path == count.Path && op.IsList() {
			return op
		}
	}
	return nil
}

var (
	loadOnce   sync.Once
	loaded     *Contract
	loadErr    error
	reHeading  = regexp.MustCompile(`^#{2,3} (\d+(?:\.\d+)?)[. ]`)
	reBacktick = regexp.MustCompile("`([^`]*)`")
	reStatus   = regexp.MustCompile(`\*\*(\d{3})\*\*→([^;]*)`)
	reMethod   = regexp.MustCompile("^(GET|HEAD|POST|PUT|PATCH|DELETE) `([^`]+)`$")
	reCompact  = regexp.MustCompile("^- \\*\\*`(\\w+)`\\*\\*(.*)$")
	reKeys     = regexp.MustCompile(`, (\d+) keys`)
	reOneLine  = regexp.MustCompile("^- `(\\w+)` = (?:\\*\\*)?(\\w+)(?:\\*\\*)?:(\\S+) \\((required|optional)\\)$")
	reNested   = regexp.MustCompile("`(\\w+)` \\((all optional: |\\*\\*required:\\*\\* )")
	// An enum's value list ends its line ("- `OrderState`: `canceled`, …").
	reEnum     = regexp.MustCompile("`([A-Z]\\w*)`: (`[^`]*`(?:, `[^`]*`)*)$")
	reISO      = regexp.MustCompile("`(\\w+)`: (\\d+) values, the ISO 3166-1 alpha-2 codes plus `(\\w+)`")
	reSameKeys = regexp.MustCompile("^`(\\w+)` \\([^)]*\\): the same (\\w+) keys, all optional")
	reAlias    = regexp.MustCompile("`\\[?(\\w+)\\]?` \\(same keys as `(\\w+)`\\)")
	// A §5 query-parameter bullet: "- `user_actions_list`: `o`:string, …".
	reQuery = regexp.MustCompile("^- `([a-z_]+)`: (`\\w+`:\\S+(?:, `\\w+`:\\S+)*)$")
)

// loadContract parses the contract document once per test process.
func loadContract(t testing.TB) *Contract {
	t.Helper()
	loadOnce.Do(func() {
		b, err := os.ReadFile(contractPath)
		if err != nil {
			loadErr = err
			return
		}
		loaded, loadErr = ParseContract(string(b))
	})
	if loadErr != nil {
		t.Fatalf("parse %s: %v", contractPath, loadErr)
	}
	return loaded
}

// ParseContract parses the contract document.
func ParseContract(doc string) (*Contract, error) {
	p := &parser{c: &Contract{Models: map[string]*Model{}, Enums: map[string]*Enum{}}}
	if err := p.parse(strings.Split(doc, "\n")); err != nil {
		return nil, err
	}
	return p.c, nil
}

type parser struct {
	c         *Contract
	section   string
	lastTable *Model // the last model read from a table, for "the same keys"
	errs      []string
	derived   []func() // derivations that need their base models parsed
}

func (p *parser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf("line %d: ", line+1)+fmt.Sprintf(format, args...))
}

// opSection says whether operations of section s are in scope (§2–§5).
func opSection(s string) bool {
	major, _, _ := strings.Cut(s, ".")
	return major == "2" || major == "3" || major == "4" || major == "5"
}

// querySection says whether the query-parameter bullets of section s are
// read: §5's, whose lists the user-action drivers exercise one by one.
func querySection(s string) bool { return strings.HasPrefix(s, "5") }

func (p *parser) parse(lines []string) error {
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \r")
		if m := reHeading.FindStringSubmatch(line); m != nil {
			p.section = m[1]
			continue
		}
		switch {
		case strings.HasPrefix(line, "| client op |"):
			i = p.opTable(lines, i)
			continue
		case strings.HasPrefix(line, "| field | type | req | null |"):
			i = p.modelTable(lines, i)
			continue
		}
		if m := reCompact.FindStringSubmatch(line); m != nil {
			p.compactModel(i, m[1], m[2])
		}
		if m := reOneLine.FindStringSubmatch(line); m != nil {
			t, nullable, err := parseType(m[3])
			if err != nil {
				p.fail(i, "%s.%s: %v", m[1], m[2], err)
			} else {
				p.addModel(i, &Model{Name: m[1], DeclaredKeys: -1, Fields: []*Field{
					{Name: m[2], Type: t, Required: m[4] == "required", Nullable: nullable},
				}})
			}
		}
		if m := reSameKeys.FindStringSubmatch(line); m != nil {
			p.sameKeys(i, m[1], m[2])
		}
		if m := reQuery.FindStringSubmatch(line); m != nil && querySection(p.section) {
			p.queryParams(i, m[1], m[2])
		}
		p.nestedModels(i, line)
		p.enums(i, line)
	}
	for _, d := range p.derived {
		d()
	}
	p.resolve()
	if len(p.errs) > 0 {
		return fmt.Errorf("%d problems:\n%s", len(p.errs), strings.Join(p.errs, "\n"))
	}
	return nil
}

func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	out := strings.Split(row, "|")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// opTable reads an operation table starting at its header; it returns the
// index of the table's last line.
func (p *parser) opTable(lines []string, i int) int {
	i += 2 // header and separator
	for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		if !opSection(p.section) {
			continue
		}
		c := cells(lines[i])
		if len(c) != 4 {
			p.fail(i, "operation row with %d cells", len(c))
			continue
		}
		op := &Operation{Section: p.section}
		names := reBacktick.FindStringSubmatch(c[0])
		if names == nil {
			p.fail(i, "no op name in %q", c[0])
			continue
		}
		op.Name = names[1]
		op.SyncAll = strings.Contains(c[0], "(+ sync_all)")
		mp := reMethod.FindStringSubmatch(c[1])
		if mp == nil {
			p.fail(i, "%s: bad method and path %q", op.Name, c[1])
			continue
		}
		op.Method, op.Path = mp[1], mp[2]
		if b := reBacktick.FindStringSubmatch(c[2]); b != nil {
			op.Body = b[1]
		} else if c[2] != "—" {
			p.fail(i, "%s: bad body %q", op.Name, c[2])
		}
		for _, st := range reStatus.FindAllStringSubmatch(c[3], -1) {
			code, _ := strconv.Atoi(st[1])
			r, err := parseResponse(code, strings.TrimSpace(st[2]))
			if err != nil {
				p.fail(i, "%s: %v", op.Name, err)
				continue
			}
			op.Accepted = append(op.Accepted, r)
		}
		if len(op.Accepted) == 0 {
			p.fail(i, "%s: no accepted status", op.Name)
			continue
		}
		if p.c.Op(op.Name) != nil {
			p.fail(i, "%s: listed twice", op.Name)
			continue
		}
		p.c.Ops = append(p.c.Ops, op)
	}
	return i - 1
}

// queryParams reads "- `op`: `a`:string, `b`:UrgencyEnum" for an operation
// of the table above it.
func (p *parser) queryParams(line int, name, list string) {
	op := p.c.Op(name)
	if op == nil {
		p.fail(line, "query parameters of %s, which no table lists", name)
		return
	}
	if op.Query != nil {
		p.fail(line, "query parameters of %s listed twice", name)
		return
	}
	fs, err := fieldList(list, false)
	if err != nil {
		p.fail(line, "%s query: %v", name, err)
		return
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Name] {
			p.fail(line, "%s query: %s twice", name, f.Name)
		}
		seen[f.Name] = true
	}
	op.Query = fs
}

func parseResponse(code int, s string) (Response, error) {
	r := Response{Status: code}
	switch {
	case strings.HasPrefix(s, "array of `"):
		r.Kind = RespList
		r.Model = strings.Trim(strings.TrimPrefix(s, "array of "), "`")
	case strings.HasPrefix(s, "int from `X-Result-Count` header"):
		r.Kind = RespCount
	case strings.HasPrefix(s, "`None`"):
		r.Kind = RespNone
	case strings.HasPrefix(s, "`") && strings.Count(s, "`") == 2 && strings.HasSuffix(s, "`"):
		r.Kind = RespModel
		r.Model = strings.Trim(s, "`")
	default:
		return r, fmt.Errorf("status %d: cannot read %q", code, s)
	}
	return r, nil
}

// modelTable reads a `| field | type | req | null | notes |` table; the
// model's name is the first backticked word of the paragraph above it.
func (p *parser) modelTable(lines []string, i int) int {
	name := ""
	for j := i - 1; j >= 0; j-- {
		if s := strings.TrimSpace(lines[j]); s != "" {
			if m := reBacktick.FindStringSubmatch(s); m != nil {
				name = m[1]
			}
			break
		}
	}
	if name == "" {
		p.fail(i, "model table without a name")
	}
	m := &Model{Name: name, DeclaredKeys: -1}
	i += 2
	for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		c := cells(lines[i])
		if len(c) != 5 {
			p.fail(i, "%s: field row with %d cells", name, len(c))
			continue
		}
		fname := strings.Trim(c[0], "`")
		typ := c[1]
		if strings.HasPrefix(typ, "object (") { // "object (one of 9 variants)"
			typ = "object"
		}
		t, q, err := parseType(typ)
		if err != nil || q {
			p.fail(i, "%s.%s: type %q: %v", name, fname, c[1], err)
			continue
		}
		if c[2] != "R" && c[2] != "o" {
			p.fail(i, "%s.%s: req %q", name, fname, c[2])
		}
		if c[3] != "yes" && c[3] != "—" {
			p.fail(i, "%s.%s: null %q", name, fname, c[3])
		}
		m.Fields = append(m.Fields, &Field{Name: fname, Type: t, Required: c[2] == "R", Nullable: c[3] == "yes"})
		// "values: `a`, `b`" notes must agree with the enum's own list.
		if vals, ok := strings.CutPrefix(c[4], "values: "); ok && t.Kind == TRef {
			p.enumNote(i, t.Name, backticked(vals))
		}
	}
	p.addModel(i-1, m)
	p.lastTable = m
	return i - 1
}

// enumNote checks a table note's values against the enum once it is known.
func (p *parser) enumNote(line int, name string, vals []string) {
	p.derived = append(p.derived, func() {
		e := p.c.Enums[name]
		if e == nil {
			p.fail(line, "note lists values of %s, which is not defined", name)
			return
		}
		if !slices.Equal(sorted(e.Values), sorted(vals)) {
			p.fail(line, "note values of %s %v differ from its definition %v", name, vals, e.Values)
		}
	})
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func backticked(s string) []string {
	var out []string
	for _, m := range reBacktick.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// parseType reads a type of the document's legend; a trailing "?" means
// nullable.
func parseType(s string) (*Type, bool, error) {
	s = strings.TrimSpace(s)
	nullable := strings.HasSuffix(s, "?")
	s = strings.TrimSuffix(s, "?")
	t, err := parseBareType(s)
	return t, nullable, err
}

func parseBareType(s string) (*Type, error) {
	if k, ok := scalarKinds[s]; ok {
		return &Type{Kind: k}, nil
	}
	if rest, ok := strings.CutPrefix(s, `"" or `); ok {
		if !isName(rest) {
			return nil, fmt.Errorf("bad enum in %q", s)
		}
		return &Type{Kind: TBlankOrRef, Name: rest}, nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		e, err := parseBareType(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		return &Type{Kind: TArray, Elem: e}, nil
	}
	if strings.HasPrefix(s, "{string: ") && strings.HasSuffix(s, "}") {
		e, err := parseBareType(s[len("{string: ") : len(s)-1])
		if err != nil {
			return nil, err
		}
		return &Type{Kind: TMap, Elem: e}, nil
	}
	if isName(s) {
		return &Type{Kind: TRef, Name: s}, nil
	}
	return nil, fmt.Errorf("unknown type %q", s)
}

var reName = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

func isName(s string) bool { return reName.MatchString(s) }

// fieldList reads "`a`:string, `b`:uuid?" or "a:string, b:uuid?".
func fieldList(s string, required bool) ([]*Field, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return nil, nil
	}
	var out []*Field
	for _, item := range strings.Split(s, ", ") {
		name, typ, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("field %q has no type", item)
		}
		name = strings.Trim(strings.TrimSpace(name), "`*")
		t, nullable, err := parseType(typ)
		if err != nil {
			return nil, fmt.Errorf("field %s: %v", name, err)
		}
		out = append(out, &Field{Name: name, Type: t, Required: required, Nullable: nullable})
	}
	return out, nil
}

// compactModel reads "- **`Name`** (...), N keys. Required: … Optional: …"
// and the two derived forms (UserMe, PublicOfferingDetails).
func (p *parser) compactModel(line int, name, rest string) {
	m := &Model{Name: name, DeclaredKeys: -1}
	if k := reKeys.FindStringSubmatch(rest); k != nil {
		m.DeclaredKeys, _ = strconv.Atoi(k[1])
	}
	switch {
	case strings.Contains(rest, "It has the "):
		p.derived = append(p.derived, func() { p.deriveHasThe(line, m, rest) })
		return
	case strings.Contains(rest, "Compared with the "):
		p.derived = append(p.derived, func() { p.deriveComparedWith(line, m, rest) })
		return
	}
	_, opt, hasOpt := strings.Cut(rest, "Optional: ")
	if !hasOpt {
		p.fail(line, "%s: no Optional list", name)
		return
	}
	if !strings.Contains(rest, "**Required: none**") {
		_, req, ok := strings.Cut(rest, "Required: ")
		if !ok {
			p.fail(line, "%s: neither Required: none nor a Required list", name)
			return
		}
		req, _, _ = strings.Cut(req, "Optional: ")
		fs, err := fieldList(req, true)
		if err != nil {
			p.fail(line, "%s: %v", name, err)
			return
		}
		m.Fields = append(m.Fields, fs...)
	}
	fs, err := fieldList(opt, false)
	if err != nil {
		p.fail(line, "%s: %v", name, err)
		return
	}
	m.Fields = append(m.Fields, fs...)
	p.addModel(line, m)
}

var (
	reHasThe     = regexp.MustCompile("It has the (\\d+) `(\\w+)` keys with (\\w+) differences: (.*)$")
	reIsType     = regexp.MustCompile("`(\\w+)` is `([^`]+)`")
	reNotNull    = regexp.MustCompile("`(\\w+)` is \\*\\*not\\*\\* nullable")
	reIsAdded    = regexp.MustCompile("`(\\w+)`:(\\S+) is added")
	reDrops      = regexp.MustCompile("drops ((?:`\\w+`(?:, | and )?)+)")
	reAdds       = regexp.MustCompile(`It adds (.*)\.$`)
	reComparedTo = regexp.MustCompile(`Compared with the (\w+) model`)
	numberWords  = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
)

// deriveHasThe: "It has the 61 `User` keys with three differences:
// `permissions` is `[MePermission]`, `ip_address` is **not** nullable, and
// `profile_completeness`:ProfileCompleteness is added."
func (p *parser) deriveHasThe(line int, m *Model, rest string) {
	h := reHasThe.FindStringSubmatch(rest)
	if h == nil {
		p.fail(line, "%s: cannot read the derivation", m.Name)
		return
	}
	base := p.c.Models[h[2]]
	if base == nil {
		p.fail(line, "%s: base %s not defined", m.Name, h[2])
		return
	}
	if n, _ := strconv.Atoi(h[1]); n != len(base.Fields) {
		p.fail(line, "%s: says %s has %d keys, it has %d", m.Name, base.Name, n, len(base.Fields))
	}
	d := base.clone(m.Name)
	d.DeclaredKeys = m.DeclaredKeys
	diffs := 0
	for _, x := range reIsType.FindAllStringSubmatch(h[4], -1) {
		f := d.Field(x[1])
		t, _, err := parseType(x[2])
		if f == nil || err != nil {
			p.fail(line, "%s: cannot retype %s: %v", m.Name, x[1], err)
			continue
		}
		f.Type = t
		diffs++
	}
	for _, x := range reNotNull.FindAllStringSubmatch(h[4], -1) {
		if f := d.Field(x[1]); f != nil {
			f.Nullable = false
			diffs++
		} else {
			p.fail(line, "%s: no key %s", m.Name, x[1])
		}
	}
	for _, x := range reIsAdded.FindAllStringSubmatch(h[4], -1) {
		t, nullable, err := parseType(x[2])
		if err != nil {
			p.fail(line, "%s: %v", m.Name, err)
			continue
		}
		d.Fields = append(d.Fields, &Field{Name: x[1], Type: t, Nullable: nullable})
		diffs++
	}
	if want := numberWords[h[3]]; want != diffs {
		p.fail(line, "%s: says %s differences, read %d", m.Name, h[3], diffs)
	}
	p.addModel(line, d)
}

// deriveComparedWith: "Compared with the provider model it drops `a`, `b`
// and `c`. `plans` is `[BasePublicPlan]` (same keys as `BaseProviderPlan`).
// It adds `x`:bool, … and `y`:[NestedCampaign]."
func (p *parser) deriveComparedWith(line int, m *Model, rest string) {
	// The paragraph names its base in words: "the provider model" of
	// PublicOfferingDetails is ProviderOfferingDetails.
	cw := reComparedTo.FindStringSubmatch(rest)
	var base *Model
	if cw != nil {
		base = p.c.Models[strings.ToUpper(cw[1][:1])+cw[1][1:]+strings.TrimPrefix(m.Name, "Public")]
	}
	if base == nil {
		p.fail(line, "%s: cannot find the model it is compared with", m.Name)
		return
	}
	d := base.clone(m.Name)
	d.DeclaredKeys = m.DeclaredKeys
	if dr := reDrops.FindStringSubmatch(rest); dr != nil {
		for _, name := range backticked(dr[1]) {
			i := slices.IndexFunc(d.Fields, func(f *Field) bool { return f.Name == name })
			if i < 0 {
				p.fail(line, "%s: drops unknown key %s", m.Name, name)
				continue
			}
			d.Fields = slices.Delete(d.Fields, i, i+1)
		}
	} else {
		p.fail(line, "%s: no drops", m.Name)
	}
	for _, x := range reIsType.FindAllStringSubmatch(rest, -1) {
		f := d.Field(x[1])
		t, _, err := parseType(x[2])
		if f == nil || err != nil {
			p.fail(line, "%s: cannot retype %s: %v", m.Name, x[1], err)
			continue
		}
		f.Type = t
	}
	if ad := reAdds.FindStringSubmatch(rest); ad != nil {
		list := strings.Replace(ad[1], " and ", ", ", 1)
		fs, err := fieldList(list, false)
		if err != nil {
			p.fail(line, "%s: %v", m.Name, err)
		}
		d.Fields = append(d.Fields, fs...)
	} else {
		p.fail(line, "%s: no additions", m.Name)
	}
	p.addModel(line, d)
}

// sameKeys: "`PatchedResourceUpdateRequest` (PATCH body): the same three
// keys, all optional" — the keys of the table just above.
func (p *parser) sameKeys(line int, name, count string) {
	if p.lastTable == nil {
		p.fail(line, "%s: no table above", name)
		return
	}
	d := p.lastTable.clone(name)
	if numberWords[count] != len(d.Fields) {
		p.fail(line, "%s: says %s keys, %s has %d", name, count, p.lastTable.Name, len(d.Fields))
	}
	for _, f := range d.Fields {
		f.Required = false
	}
	p.addModel(line, d)
}

// nestedModels reads every "`Name` (all optional: a:t, …)" and
// "`Name` (**required:** a:t; optional: b:t, …)" of a line.
func (p *parser) nestedModels(line int, s string) {
	for _, loc := range reNested.FindAllStringSubmatchIndex(s, -1) {
		name := s[loc[2]:loc[3]]
		body := s[loc[5]:]
		end := strings.IndexByte(body, ')')
		if end < 0 {
			p.fail(line, "%s: unclosed (", name)
			continue
		}
		body = body[:end]
		m := &Model{Name: name, DeclaredKeys: -1}
		var req, opt string
		if s[loc[4]:loc[5]] == "all optional: " {
			opt = body
		} else {
			req, opt, _ = strings.Cut(body, "; optional: ")
		}
		fr, err1 := fieldList(req, true)
		fo, err2 := fieldList(opt, false)
		if err1 != nil || err2 != nil {
			p.fail(line, "%s: %v %v", name, err1, err2)
			continue
		}
		m.Fields = append(fr, fo...)
		p.addModel(line, m)
	}
	for _, a := range reAlias.FindAllStringSubmatch(s, -1) {
		alias, base := a[1], a[2]
		p.derived = append(p.derived, func() {
			b := p.c.Models[base]
			if b == nil {
				p.fail(line, "%s: same keys as undefined %s", alias, base)
				return
			}
			p.addModel(line, b.clone(alias))
		})
	}
}

func (p *parser) enums(line int, s string) {
	for _, m := range reEnum.FindAllStringSubmatch(s, -1) {
		p.addEnum(line, &Enum{Name: m[1], Values: backticked(m[2])})
	}
	if m := reISO.FindStringSubmatch(s); m != nil {
		vals := append(strings.Fields(iso3166Alpha2), m[3])
		if n, _ := strconv.Atoi(m[2]); n != len(vals) {
			p.fail(line, "%s: says %d values, have %d", m[1], n, len(vals))
		}
		p.addEnum(line, &Enum{Name: m[1], Values: vals})
	}
}

func (p *parser) addEnum(line int, e *Enum) {
	if old, ok := p.c.Enums[e.Name]; ok {
		if !slices.Equal(sorted(old.Values), sorted(e.Values)) {
			p.fail(line, "enum %s defined twice, differently", e.Name)
		}
		return
	}
	p.c.Enums[e.Name] = e
}

func (p *parser) addModel(line int, m *Model) {
	if m.DeclaredKeys >= 0 && m.DeclaredKeys != len(m.Fields) {
		p.fail(line, "%s: the document says %d keys, read %d", m.Name, m.DeclaredKeys, len(m.Fields))
	}
	seen := map[string]bool{}
	for _, f := range m.Fields {
		if seen[f.Name] {
			p.fail(line, "%s: key %s twice", m.Name, f.Name)
		}
		seen[f.Name] = true
	}
	if old, ok := p.c.Models[m.Name]; ok {
		if !sameModel(old, m) {
			p.fail(line, "model %s defined twice, differently", m.Name)
		}
		return
	}
	p.c.Models[m.Name] = m
}

func sameModel(a, b *Model) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for _, f := range a.Fields {
		g := b.Field(f.Name)
		if g == nil || g.Required != f.Required || g.Nullable != f.Nullable || g.Type.String() != f.Type.String() {
			return false
		}
	}
	return true
}

// resolve checks that every referenced name is a model or an enum; names
// ending in Enum must be enums, other unknown names are opaque models.
func (p *parser) resolve() {
	opaque := map[string]bool{}
	var visit func(where string, t *Type)
	visit = func(where string, t *Type) {
		switch t.Kind {
		case TArray, TMap:
			visit(where, t.Elem)
		case TBlankOrRef:
			if p.c.Enums[t.Name] == nil {
				p.errs = append(p.errs, fmt.Sprintf("%s: enum %s not defined", where, t.Name))
			}
		case TRef:
			if p.c.Enums[t.Name] != nil || p.c.Models[t.Name] != nil {
				return
			}
			if strings.HasSuffix(t.Name, "Enum") {
				p.errs = append(p.errs, fmt.Sprintf("%s: enum %s not defined", where, t.Name))
				return
			}
			opaque[t.Name] = true
		}
	}
	for _, m := range p.c.Models {
		for _, f := range m.Fields {
			visit(m.Name+"."+f.Name, f.Type)
		}
	}
	for _, op := range p.c.Ops {
		for _, r := range op.Accepted {
			if r.Model != "" {
				visit(op.Name, &Type{Kind: TRef, Name: r.Model})
			}
		}
		if op.Body != "" {
			visit(op.Name, &Type{Kind: TRef, Name: op.Body})
		}
		for _, q := range op.Query {
			visit(op.Name+"?"+q.Name, q.Type)
		}
	}
	for n := range p.c.Enums {
		if p.c.Models[n] != nil {
			p.errs = append(p.errs, fmt.Sprintf("%s is both a model and an enum", n))
		}
	}
	for n := range opaque {
		p.c.Opaque = append(p.c.Opaque, n)
	}
	slices.Sort(p.c.Opaque)
}

// iso3166Alpha2 are the 249 officially assigned ISO 3166-1 alpha-2 codes;
// the document defines CountryEnum as these plus `EU` (250 values).
const iso3166Alpha2 = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW`
