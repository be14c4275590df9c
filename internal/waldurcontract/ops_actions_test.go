package waldurcontract

// How to build the requests of §5 (user actions), and what each call must
// have done on the demo. As in ops_test.go, method, path, statuses and
// models come from the parsed contract, and so do the names and types of
// the list filters (§5.1's query-parameter bullets): only the values sent
// are written here.
//
// The demo as loaded: alice (owner of Alice Research) and bob (manager of
// its Genomics project) may approve carol's orders, so each has a
// pending_order action for the two that waited over a day (variant-calling
// 3 days, rna-seq 30 hours) and expiring_resource actions for the prepaid
// resources ending within the 30-day reminder (hpc-sequencing, hpc-assembly,
// hpc-imaging).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	actionsUser = "alice" // lists, silences and executes her own actions
	bulkUser    = "bob"   // bulk-silences every one of his
	// approveTarget is the demo order whose action alice executes "Approve
	// Order" on; no §4 driver touches it (gpu-training is approved and
	// variant-calling rejected there).
	approveTarget = "rna-seq"
	// Alice silences the expiring_resource actions of these resources, the
	// first for 3 days, the second for good, and unsilences both. Each is
	// silenced once: a silenced action is not visible to silence (Waldur
	// answers 404 there, and the client cannot send include_silenced).
	silenceTarget = "hpc-imaging"
	silenceGood   = "hpc-assembly"
	navigateLabel = "View Resource"
	approveLabel  = "Approve Order"

	actionsPath    = "/api/user-actions/"
	executionsPath = "/api/user-action-executions/"
	providersPath  = "/api/user-action-providers/"
)

func init() {
	for name, d := range actionDrivers {
		if _, dup := drivers[name]; dup {
			panic("two drivers for " + name)
		}
		drivers[name] = d
	}
	for name, s := range actionLists {
		if _, dup := lists[name]; dup {
			panic("two list specs for " + name)
		}
		lists[name] = s
	}
}

var actionLists = map[string]listSpec{
	// A filter as the client sends it: due_within_days a float (str(7.0)),
	// booleans as true/false.
	"user_actions_list": {as: actionsUser, filter: fixedFilter(url.Values{
		"action_type": {"expiring_resource"}, "due_within_days": {"7.0"}, "include_silenced": {"true"}})},
	"user_action_executions_list": {as: actionsUser, filter: fixedFilter(url.Values{"o": {"-executed_at"}})},
	// No filters: the filtered call only repeats the list.
	"user_action_providers_list": {as: "admin", filter: fixedFilter(url.Values{})},
}

// queryValues are the values sent for §5's documented query parameters,
// one call per parameter (page and page_size are the paging's). A
// documented parameter without a value here is a test bug, and so is a
// value that is not of the parameter's documented type.
var queryValues = map[string]map[string]func(r *run) (string, error){
	"user_actions_list": {
		"action_type":      fixed("pending_order"),
		"created_after":    func(*run) (string, error) { return pyISO(time.Now().AddDate(-1, 0, 0)), nil },
		"created_before":   func(*run) (string, error) { return pyISO(time.Now().Add(time.Hour)), nil },
		"due_within_days":  fixed("7.0"),
		"include_silenced": fixed("true"),
		"is_silenced":      fixed("false"),
		"o":                fixed("-created"),
		"overdue":          fixed("false"),
		"urgency":          fixed("high"),
		// Staff only: from alice, bob's uuid must be ignored (checked in
		// actionsUserUUID, with the staff call that honours it).
		"user_uuid": func(r *run) (string, error) {
			u, err := r.user(bulkUser)
			if err != nil {
				return "", err
			}
			return u.UUID, nil
		},
	},
	"user_action_executions_list": {"o": fixed("-executed_at")},
}

func fixed(v string) func(*run) (string, error) { return func(*run) (string, error) { return v, nil } }

// pyISO writes t as Python's datetime.isoformat() does for an aware UTC
// datetime.
func pyISO(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

var actionDrivers = map[string]driver{
	"user_actions_list": {phase: phaseActions, run: func(r *run, op *Operation) {
		listDriver(phaseActions).run(r, op)
		sent := r.queryEach(op, actionLists[op.Name].as)
		r.actionsUserUUID(op, sent["user_uuid"])
		r.demoActions(op)
	}},
	"user_actions_count":            countDriver(phaseActions),
	"user_actions_retrieve":         {phase: phaseActions, run: retrieveActions},
	"user_actions_summary_retrieve": {phase: phaseActions, run: summaryDriver},
	"user_actions_summary_count":    {phase: phaseActions, run: summaryCountDriver},
	"user_actions_silence":          {phase: phaseActions, run: silenceDriver},
	"user_actions_unsilence":        {phase: phaseActions, run: unsilenceDriver},
	"user_actions_bulk_silence":     {phase: phaseActions, run: bulkSilenceDriver},
	"user_actions_execute_action":   {phase: phaseActions, run: executeDriver},
	"user_actions_update_actions": {phase: phaseActions, run: func(r *run, op *Operation) {
		r.exec(op, request{as: "admin", body: r.minimal(op.Body, nil), why: "every provider"})
		resp := r.exec(op, request{as: "admin", body: r.minimal(op.Body, map[string]any{"provider_action_type": "pending_order"}),
			why: "one provider"})
		if resp != nil && resp.status == http.StatusAccepted && resp.object() != nil {
			if got := resp.object()["provider_action_type"]; got != "pending_order" {
				r.violate(op.Name, Violation{Sev: Scenario, Path: "$.provider_action_type",
					Rule: "the answer names another provider than the one asked for", Got: show(got)})
			}
		}
		r.refused(op, actionsUser, nil, "staff only")
	}},

	"user_action_executions_list": {phase: phaseActions, run: func(r *run, op *Operation) {
		listDriver(phaseActions).run(r, op)
		r.queryEach(op, actionLists[op.Name].as)
	}},
	"user_action_executions_count": countDriver(phaseActions),
	"user_action_executions_retrieve": {phase: phaseActions, run: func(r *run, op *Operation) {
		ids, err := r.idsOf(actionsUser, executionsPath)
		if err == nil && len(ids) == 0 {
			err = fmt.Errorf("%s has no executions (did execute_action fail?)", actionsUser)
		}
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		for _, id := range ids {
			r.retrieveID(op, actionsUser, id)
		}
		r.refused(op, bulkUser, []string{ids[0]}, "another user's execution")
	}},

	"user_action_providers_list": {phase: phaseActions, run: func(r *run, op *Operation) {
		listDriver(phaseActions).run(r, op)
		r.refused(op, actionsUser, nil, "staff only")
	}},
	"user_action_providers_count": countDriver(phaseActions),
	"user_action_providers_retrieve": {phase: phaseActions, run: func(r *run, op *Operation) {
		ids, err := r.idsOf("admin", providersPath)
		if err == nil && len(ids) == 0 {
			err = fmt.Errorf("no providers registered")
		}
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		for _, id := range ids {
			r.retrieveID(op, "admin", id)
		}
		r.refused(op, actionsUser, []string{ids[0]}, "staff only")
	}},

	"users_update_actions": {phase: phaseActions, run: func(r *run, op *Operation) {
		u, err := r.user(actionsUser)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		r.exec(op, request{as: "admin", args: []string{u.UUID}, body: r.minimal(op.Body, nil), why: "every provider"})
		r.exec(op, request{as: "admin", args: []string{u.UUID}, why: "one provider",
			body: r.minimal(op.Body, map[string]any{"provider_action_type": "expiring_resource"})})
		r.refused(op, actionsUser, []string{u.UUID}, "staff only")
	}},
	"users_send_notification": {phase: phaseActions, run: func(r *run, op *Operation) {
		u, err := r.user(actionsUser)
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			return
		}
		r.exec(op, request{as: "admin", args: []string{u.UUID}})
		r.refused(op, actionsUser, []string{u.UUID}, "staff only")
	}},
}

// queryEach calls a list once per documented query parameter, as the
// client sends it, and returns the answers by parameter.
func (r *run) queryEach(op *Operation, as string) map[string]*response {
	out := map[string]*response{}
	for _, q := range op.Query {
		if q.Name == "page" || q.Name == "page_size" {
			continue
		}
		value := queryValues[op.Name][q.Name]
		if value == nil {
			r.block(op.Name, "test bug: no value for the documented query parameter %s:%s", q.Name, q.Type)
			continue
		}
		v, err := value(r)
		if err != nil {
			r.block(op.Name, "filter %s: %v", q.Name, err)
			continue
		}
		if !r.queryValueOK(q.Type, v) {
			r.block(op.Name, "test bug: %s=%q is not a %s", q.Name, v, q.Type)
			continue
		}
		out[q.Name] = r.exec(op, request{as: as, query: url.Values{q.Name: {v}, "page_size": {"100"}}, why: "filter " + q.Name})
	}
	return out
}

// queryValueOK says whether v is what the client sends for a value of t.
func (r *run) queryValueOK(t *Type, v string) bool {
	switch t.Kind {
	case TInt:
		_, err := strconv.Atoi(v)
		return err == nil
	case TNumber:
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case TBool:
		return v == "true" || v == "false"
	case TDateTime:
		return isoDateTime(v)
	case TUUID:
		return pythonUUID(v)
	case TRef:
		e := r.c.Enums[t.Name]
		return e != nil && slices.Contains(e.Values, v)
	}
	return t.Kind == TString
}

// actionsUserUUID: user_uuid is staff only. alice's call with bob's uuid
// (made by queryEach) must list alice's own actions; staff with alice's
// uuid must list exactly hers.
func (r *run) actionsUserUUID(op *Operation, fromAlice *response) {
	own, _, err := r.listRaw(actionsUser, actionsPath, nil)
	if err != nil {
		r.block(op.Name, "user_uuid: %v", err)
		return
	}
	want := uuidsOf(own)
	if fromAlice != nil && fromAlice.status == http.StatusOK {
		if got := uuidsOf(items(fromAlice)); !slices.Equal(got, want) {
			r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf(
				"user_uuid is staff only: %s passing %s's uuid must see her own %d actions", actionsUser, bulkUser, len(want)),
				Got: fmt.Sprintf("%d other actions", len(got))})
		}
	}
	u, err := r.user(actionsUser)
	if err != nil {
		r.block(op.Name, "user_uuid: %v", err)
		return
	}
	resp := r.exec(op, request{as: "admin", query: url.Values{"user_uuid": {u.UUID}, "page_size": {"100"}},
		why: "staff, filter user_uuid"})
	if resp != nil && resp.status == http.StatusOK {
		if got := uuidsOf(items(resp)); !slices.Equal(got, want) {
			r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf(
				"staff filtering by user_uuid must see %s's %d actions", actionsUser, len(want)),
				Got: fmt.Sprintf("%d actions, %d of them hers", len(got), len(intersect(got, want)))})
		}
	}
}

// demoActions: the rest of §5 needs alice and bob to have both kinds of
// action; an empty list would make every check above pass vacuously.
func (r *run) demoActions(op *Operation) {
	for _, who := range []string{actionsUser, bulkUser} {
		all, _, err := r.listRaw(who, actionsPath, nil)
		if err != nil {
			r.block(op.Name, "demo actions: %v", err)
			continue
		}
		for _, typ := range []string{"pending_order", "expiring_resource"} {
			if !slices.ContainsFunc(all, func(m map[string]any) bool { return m["action_type"] == typ }) {
				r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf("the demo gives %s %s actions", who, typ),
					Got: fmt.Sprintf("%d actions", len(all))})
			}
		}
	}
}

func retrieveActions(r *run, op *Operation) {
	own, _, err := r.listRaw(actionsUser, actionsPath, nil)
	if err == nil && len(own) == 0 {
		err = fmt.Errorf("%s has no actions", actionsUser)
	}
	if err != nil {
		r.block(op.Name, "setup: %v", err)
		return
	}
	var first string
	for _, m := range own {
		a, err := r.objectFrom(m, "user-actions")
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			continue
		}
		if first == "" {
			first = a.UUID
		}
		resp := r.exec(op, request{as: actionsUser, args: []string{a.UUID}})
		if resp != nil && resp.status == http.StatusOK && !sameUUID(resp.object()["uuid"], a.UUID) {
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$.uuid", Rule: "another action than the one asked for",
				Got: show(resp.object()["uuid"])})
		}
	}
	if first != "" {
		r.refused(op, bulkUser, []string{first}, "another user's action")
	}
}

func summaryDriver(r *run, op *Operation) {
	resp := r.exec(op, request{as: actionsUser})
	if resp == nil || resp.status != http.StatusOK || resp.object() == nil {
		return
	}
	s := resp.object()
	own, total, err := r.listRaw(actionsUser, actionsPath, nil)
	if err != nil {
		r.block(op.Name, "compare with the list: %v", err)
		return
	}
	n, ok := intOf(s["total"])
	if ok && n != total {
		r.violate(op.Name, Violation{Sev: Scenario, Path: "$.total",
			Rule: fmt.Sprintf("the list (same filters: none) counts %d actions", total), Got: show(s["total"])})
	}
	// by_urgency and by_type count the same actions by urgency and type.
	for _, key := range []string{"by_urgency", "by_type"} {
		counts, _ := s[key].(map[string]any)
		field := strings.TrimPrefix(key, "by_")
		if field == "type" {
			field = "action_type"
		}
		want := map[string]int{}
		for _, m := range own {
			if v, ok := m[field].(string); ok {
				want[v]++
			}
		}
		for k, v := range counts {
			if c, ok := intOf(v); ok && c != want[k] {
				r.violate(op.Name, Violation{Sev: Scenario, Path: "$." + key + "." + k,
					Rule: fmt.Sprintf("the list has %d %s actions", want[k], k), Got: show(v)})
			}
		}
		for k, w := range want {
			if _, present := counts[k]; !present && counts != nil {
				r.violate(op.Name, Violation{Sev: Scenario, Path: "$." + key,
					Rule: fmt.Sprintf("no %s key, though the list has %d such actions", k, w)})
			}
		}
	}
	// by_urgency's keys are urgencies: the enum UserAction.urgency names.
	if f := r.c.Models["UserAction"].Field("urgency"); f != nil && f.Type.Kind == TRef {
		counts, _ := s["by_urgency"].(map[string]any)
		for k := range counts {
			if e := r.c.Enums[f.Type.Name]; e != nil && !slices.Contains(e.Values, k) {
				r.violate(op.Name, Violation{Sev: Scenario, Path: "$.by_urgency." + k,
					Rule: fmt.Sprintf("not a %s value (%s)", e.Name, enumValues(e))})
			}
		}
	}
	if o, ok2 := intOf(s["overdue"]); ok && ok2 && o > n {
		r.violate(op.Name, Violation{Sev: Scenario, Path: "$.overdue", Rule: "more overdue actions than actions", Got: show(s["overdue"])})
	}
}

func summaryCountDriver(r *run, op *Operation) {
	resp := r.exec(op, request{as: actionsUser})
	if resp == nil || resp.status != http.StatusOK {
		return
	}
	got, err := resultCount(resp.header)
	if err != nil {
		return // already reported by the count's check
	}
	sum, err := r.send(http.MethodGet, actionsPath+"summary/", nil, actionsUser, nil)
	if err != nil || sum.object() == nil {
		r.block(op.Name, "compare with the summary: %v", err)
		return
	}
	if total, ok := intOf(sum.object()["total"]); ok && total != got {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf("X-Result-Count %d, the summary's total is %d", got, total)})
	}
}

func silenceDriver(r *run, op *Operation) {
	for _, tc := range []struct {
		target, why string
		given       map[string]any
		flag        string
	}{
		{silenceTarget, "for 3 days", map[string]any{"duration_days": 3}, "is_temporarily_silenced"},
		// {}: duration_days left out, a permanent silence.
		{silenceGood, "for good", nil, "is_silenced"},
	} {
		a, err := r.actionAbout(actionsUser, tc.target, "")
		if err != nil {
			r.block(op.Name, "setup: %v", err)
			continue
		}
		r.cache["silenced "+tc.target] = cached{obj: a}
		resp := r.exec(op, request{as: actionsUser, args: []string{a.UUID}, why: tc.why, body: r.minimal(op.Body, tc.given)})
		if resp == nil || resp.status != http.StatusOK || resp.object() == nil {
			continue
		}
		got := resp.object()["duration_days"]
		if d, ok := intOf(got); tc.given != nil && (!ok || d != 3) {
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$.duration_days", Rule: "want the 3 days asked for", Got: show(got)})
		} else if tc.given == nil && got != nil {
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$.duration_days", Rule: "a permanent silence has no duration", Got: show(got)})
		}
		r.checkSilence(op, a, tc.flag)
	}
}

// checkSilence: a silenced action leaves the default list and shows, with
// include_silenced=true, is_effectively_silenced and flag set.
func (r *run) checkSilence(op *Operation, a *object, flag string) {
	visible, _, err1 := r.listRaw(actionsUser, actionsPath, nil)
	all, _, err2 := r.listRaw(actionsUser, actionsPath, url.Values{"include_silenced": {"true"}})
	if err1 != nil || err2 != nil {
		r.block(op.Name, "after silence: %v %v", err1, err2)
		return
	}
	if byUUID(visible, a.UUID) != nil {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: "the silenced action is still in the default list (include_silenced unset)"})
	}
	m := byUUID(all, a.UUID)
	if m == nil {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: "the silenced action is missing from the list with include_silenced=true"})
		return
	}
	for _, key := range []string{"is_effectively_silenced", flag} {
		if v, present := m[key]; present && v != true {
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$." + key, Rule: "want true once silenced", Got: show(v)})
		}
	}
	if flag == "is_temporarily_silenced" && m["silenced_until"] == nil {
		r.violate(op.Name, Violation{Sev: Scenario, Path: "$.silenced_until", Rule: "a silence for 3 days has an end"})
	}
}

func unsilenceDriver(r *run, op *Operation) {
	for _, target := range []string{silenceTarget, silenceGood} {
		a := r.cache["silenced "+target].obj
		if a == nil {
			r.block(op.Name, "setup: the %s action was not silenced", target)
			continue
		}
		resp := r.exec(op, request{as: actionsUser, args: []string{a.UUID}, why: "silenced " + target})
		if resp == nil || resp.status != http.StatusOK {
			continue
		}
		visible, _, err := r.listRaw(actionsUser, actionsPath, nil)
		if err != nil {
			r.block(op.Name, "after unsilence: %v", err)
			continue
		}
		m := byUUID(visible, a.UUID)
		switch {
		case m == nil:
			r.violate(op.Name, Violation{Sev: Scenario, Rule: "the unsilenced action is not back in the default list"})
		case m["is_effectively_silenced"] != false:
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$.is_effectively_silenced", Rule: "want false once unsilenced",
				Got: show(m["is_effectively_silenced"])})
		}
	}
}

// bulkSilenceDriver: bob silences every one of his actions (the client
// sends no filters); alice's stay as they were.
func bulkSilenceDriver(r *run, op *Operation) {
	_, before, err1 := r.listRaw(bulkUser, actionsPath, nil)
	_, aliceBefore, err2 := r.listRaw(actionsUser, actionsPath, nil)
	if err1 != nil || err2 != nil {
		r.block(op.Name, "setup: %v %v", err1, err2)
		return
	}
	resp := r.exec(op, request{as: bulkUser, why: "all of them, for a day", body: r.minimal(op.Body, map[string]any{"duration_days": 1})})
	if resp == nil || resp.status != http.StatusOK || resp.object() == nil {
		return
	}
	if n, ok := intOf(resp.object()["count"]); ok && n != before {
		r.violate(op.Name, Violation{Sev: Scenario, Path: "$.count",
			Rule: fmt.Sprintf("%s had %d visible actions to silence", bulkUser, before), Got: show(resp.object()["count"])})
	}
	if d, ok := intOf(resp.object()["duration_days"]); !ok || d != 1 {
		r.violate(op.Name, Violation{Sev: Scenario, Path: "$.duration_days", Rule: "want the 1 day asked for",
			Got: show(resp.object()["duration_days"])})
	}
	_, after, err1 := r.listRaw(bulkUser, actionsPath, nil)
	_, aliceAfter, err2 := r.listRaw(actionsUser, actionsPath, nil)
	if err1 != nil || err2 != nil {
		r.block(op.Name, "after: %v %v", err1, err2)
		return
	}
	if after != 0 {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf("%s still sees %d of his actions", bulkUser, after)})
	}
	if aliceAfter != aliceBefore {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf(
			"%s's bulk silence changed %s's visible actions from %d to %d", bulkUser, actionsUser, aliceBefore, aliceAfter)})
	}
}

// executeDriver runs a navigate corrective action and an API one ("Approve
// Order" on the rna-seq order): the order must leave pending-consumer, its
// action the list, and both runs must be in the audit trail.
func executeDriver(r *run, op *Operation) {
	nav, err := r.actionWith(actionsUser, func(m map[string]any) bool {
		ca := correctiveAction(m, navigateLabel)
		return ca != nil && ca["api_endpoint"] != true
	})
	if err != nil {
		r.block(op.Name, "setup (navigate): %v", err)
	} else {
		r.exec(op, request{as: actionsUser, args: []string{nav.UUID}, why: "navigate",
			body: r.minimal(op.Body, map[string]any{"action_label": navigateLabel})})
	}

	act, err := r.actionAbout(actionsUser, approveTarget, "pending_order")
	if err == nil && correctiveAction(act.Raw, approveLabel) == nil {
		err = fmt.Errorf("the %s action has no %q", approveTarget, approveLabel)
	}
	if err != nil {
		r.block(op.Name, "setup (API): %v", err)
		return
	}
	order := orderOf(act.Raw)
	resp := r.exec(op, request{as: actionsUser, args: []string{act.UUID}, why: "API, on the " + approveTarget + " order",
		body: r.minimal(op.Body, map[string]any{"action_label": approveLabel})})
	if resp == nil || resp.status != http.StatusOK {
		return
	}
	if order == "" {
		r.block(op.Name, "after %s: the action names no order_uuid to look at", approveLabel)
	} else if o, err := r.send(http.MethodGet, "/api/marketplace-orders/"+order+"/", nil, "admin", nil); err != nil || o.object() == nil {
		r.block(op.Name, "after %s: order %s: %v", approveLabel, order, err)
	} else if st := o.object()["state"]; st == "pending-consumer" {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf("%q answered 200, but order %s is still pending-consumer", approveLabel, order)})
	}
	all, _, err := r.listRaw(actionsUser, actionsPath, url.Values{"include_silenced": {"true"}})
	if err == nil && byUUID(all, act.UUID) != nil {
		r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf(
			"the action of the approved order is still listed in the response after the approval (%s)", act.UUID)})
	}
	execs, _, err := r.listRaw(actionsUser, executionsPath, nil)
	if err != nil {
		r.block(op.Name, "after: executions: %v", err)
		return
	}
	for _, label := range []string{navigateLabel, approveLabel} {
		if label == navigateLabel && nav == nil {
			continue
		}
		if !slices.ContainsFunc(execs, func(m map[string]any) bool {
			return m["corrective_action_label"] == label && m["success"] != false
		}) {
			r.violate(op.Name, Violation{Sev: Scenario, Rule: fmt.Sprintf("no successful execution of %q among %s's executions", label, actionsUser)})
		}
	}
}

// retrieveID GETs an integer-id object and checks it is the one asked for.
func (r *run) retrieveID(op *Operation, as, id string) {
	resp := r.exec(op, request{as: as, args: []string{id}})
	if resp != nil && resp.status == http.StatusOK && resp.object() != nil {
		if got, ok := intOf(resp.object()["id"]); !ok || strconv.Itoa(got) != id {
			r.violate(op.Name, Violation{Sev: Scenario, Path: "$.id", Rule: "another object than the one asked for", Got: show(resp.object()["id"])})
		}
	}
}

// refused makes a call the server must turn down (not staff, not the
// owner): any 2xx or 3xx is a scenario violation. The client would raise
// on the refusal, which is what it should do.
func (r *run) refused(op *Operation, as string, args []string, why string) {
	path, ok := fillPath(op.Path, args)
	if !ok {
		r.block(op.Name, "test bug: no value for a path parameter of %s", op.Path)
		return
	}
	var body any
	if op.Body != "" {
		body = r.minimal(op.Body, nil)
	}
	cl := &call{what: fmt.Sprintf("%s %s as %s (%s: must be refused)", op.Method, path, as, why)}
	r.calls[op.Name] = append(r.calls[op.Name], cl)
	resp, err := r.send(op.Method, path, nil, as, body)
	if err != nil {
		cl.viol = append(cl.viol, Violation{Sev: Client, Rule: "request failed: " + err.Error()})
		return
	}
	cl.status = resp.status
	if resp.status < 400 {
		cl.viol = append(cl.viol, Violation{Sev: Scenario, Rule: fmt.Sprintf("%s, yet %s got %d", why, as, resp.status),
			Got: excerpt(resp.raw)})
	}
}

// listRaw reads the first 100 items of a list (outside the checks) and its
// X-Result-Count.
func (r *run) listRaw(as, path string, q url.Values) ([]map[string]any, int, error) {
	q = cloneValues(q)
	q.Set("page_size", "100")
	resp, err := r.send(http.MethodGet, path, q, as, nil)
	if err != nil {
		return nil, 0, err
	}
	if resp.status != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s?%s as %s: %d %s", path, q.Encode(), as, resp.status, excerpt(resp.raw))
	}
	total, err := resultCount(resp.header)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s as %s: X-Result-Count %v", path, as, err)
	}
	return items(resp), total, nil
}

func items(resp *response) []map[string]any {
	arr, _ := resp.body.([]any)
	var out []map[string]any
	for _, it := range arr {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// idsOf lists the integer ids of a collection.
func (r *run) idsOf(as, path string) ([]string, error) {
	list, _, err := r.listRaw(as, path, nil)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range list {
		n, ok := intOf(m["id"])
		if !ok {
			return nil, fmt.Errorf("GET %s as %s: an item without an integer id: %s", path, as, show(m))
		}
		ids = append(ids, strconv.Itoa(n))
	}
	return ids, nil
}

// actionWith finds one of the user's actions (silenced ones included).
func (r *run) actionWith(as string, match func(map[string]any) bool) (*object, error) {
	return r.find(as, actionsPath, url.Values{"include_silenced": {"true"}}, "user-actions", match)
}

// actionAbout finds the user's action about the named object (and of the
// given type, unless "").
func (r *run) actionAbout(as, name, typ string) (*object, error) {
	return r.actionWith(as, func(m map[string]any) bool {
		return m["related_object_name"] == name && (typ == "" || m["action_type"] == typ)
	})
}

func correctiveAction(m map[string]any, label string) map[string]any {
	cas, _ := m["corrective_actions"].([]any)
	for _, c := range cas {
		if ca, ok := c.(map[string]any); ok && ca["label"] == label {
			return ca
		}
	}
	return nil
}

// orderOf finds the order a pending_order action is about, in its route
// or its corrective actions' parameters.
func orderOf(m map[string]any) string {
	var candidates []any
	if p, ok := m["route_params"].(map[string]any); ok {
		candidates = append(candidates, p["order_uuid"])
	}
	if ca := correctiveAction(m, approveLabel); ca != nil {
		if md, ok := ca["metadata"].(map[string]any); ok {
			candidates = append(candidates, md["order_uuid"])
		}
	}
	for _, c := range candidates {
		if s, ok := c.(string); ok {
			if id, err := uuid.Parse(s); err == nil {
				return id.String()
			}
		}
	}
	return ""
}

func byUUID(list []map[string]any, id string) map[string]any {
	for _, m := range list {
		if sameUUID(m["uuid"], id) {
			return m
		}
	}
	return nil
}

func sameUUID(v any, id string) bool {
	s, _ := v.(string)
	a, err1 := uuid.Parse(s)
	b, err2 := uuid.Parse(id)
	return err1 == nil && err2 == nil && a == b
}

func uuidsOf(list []map[string]any) []string {
	var out []string
	for _, m := range list {
		s, _ := m["uuid"].(string)
		if id, err := uuid.Parse(s); err == nil {
			s = id.String()
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// intOf reads a JSON integer (decoded with UseNumber).
func intOf(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}
