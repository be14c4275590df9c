package actioning_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/mail/mailtest"
)

// mails takes n messages from the SMTP listener, keyed by subject; it
// fails on a repeated subject.
func (e *env) mails(t *testing.T, n int) map[string]mailtest.Received {
	t.Helper()
	out := map[string]mailtest.Received{}
	for range n {
		m := e.SMTP.Next(t, waitFor)
		if _, dup := out[m.Subject]; dup {
			t.Fatalf("two messages with the subject %q", m.Subject)
		}
		out[m.Subject] = m
	}
	return out
}

// TestEmails: a definition with userEmailingEnabled and a template for
// every phase emails the actionee through SMTP when asked (emailUser, and
// emailUserOnEnd for the end), with the template rendered in the
// actionee's language; the event says emailedUser, and with
// includeEmailInEventJSON carries the rendered email, also for a phase
// that sends none (compat §5.4, §6.4, §6.5).
func TestEmails(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		e.hook(rc.URL())
		alice, bob, admin := e.Users["alice"].String(), e.Users["bob"].String(), e.Users["admin"].String()
		// bob reads German.
		e.waldur(http.MethodPatch, "/api/users/"+bob+"/", apptest.Staff, map[string]any{"preferred_languages": []string{"de"}}).Want(t, http.StatusOK)
		notice := str(e.definition(map[string]any{"name": "Notice", "temporal": true, "userEmailingEnabled": true,
			"includeEmailInEventJSON": true, "localizedNames": map[string]string{"de": "Hinweis"},
			"startEmailTemplateId": e.template("start"), "modifyEmailTemplateId": e.template("modify"),
			"cancelEmailTemplateId": e.template("cancel"), "endEmailTemplateId": e.template("end")}), "id")

		// start, in English and in German.
		inA := e.take(true, map[string]any{"userActionId": notice, "actioneeUserId": alice, "actionerUserId": admin,
			"comment": "Spam in the forum", "emailUser": true, "expiry": ms(time.Now().Add(2*time.Hour + time.Minute))})
		if inA["emailUserOnEnd"] != true {
			t.Errorf("emailUserOnEnd %v, want true (copied from emailUser)", inA["emailUserOnEnd"])
		}
		inB := e.take(true, map[string]any{"userActionId": notice, "actioneeUserId": bob, "actionerUserId": admin,
			"comment": "Werbung", "emailUser": true, "expiry": ms(time.Now().Add(3*24*time.Hour + time.Hour))})
		got := e.mails(t, 2)
		a, ok := got["[start] Notice: Spam in the forum"]
		if !ok {
			t.Fatalf("no English start email; got %v", keys(got))
		}
		if !slices.Equal(a.To, []string{"alice@example.com"}) ||
			a.Text != "Hello Alice Owner, start Notice (Spam in the forum) for 2 hours." ||
			a.HTML != "<p>start Notice: Spam in the forum for 2 hours</p>" {
			t.Errorf("start email to %v from %s: text %q html %q", a.To, a.From, a.Text, a.HTML)
		}
		b, ok := got["[start] Hinweis (de): Werbung"]
		if !ok {
			t.Fatalf("no German start email; got %v", keys(got))
		}
		if !slices.Equal(b.To, []string{"bob@example.com"}) || !strings.Contains(b.Text, "for 3 Tage.") {
			t.Errorf("German start email to %v: %q", b.To, b.Text)
		}
		if str(inB, "localizedName") != "Hinweis" {
			t.Errorf("localizedName %q for a German actionee, want Hinweis", str(inB, "localizedName"))
		}

		ev := rc.wait(t, "start", of(str(inA, "id"), "start")).Event
		if ev["emailedUser"] != true || str(ev, "localizedDuration") != "2 hours" {
			t.Errorf("start event emailedUser %v, localizedDuration %q", ev["emailedUser"], str(ev, "localizedDuration"))
		}
		em := sub(t, ev, "email")
		wantKeys(t, "event email", em, []string{"from", "to", "replyTo", "cc", "bcc", "subject", "html", "text", "attachments"}, nil)
		from, to := sub(t, em, "from"), em["to"].([]any)
		if str(from, "address") != "moderator@example.com" || str(from, "display") != "Moderator" ||
			len(to) != 1 || str(to[0].(map[string]any), "address") != "alice@example.com" || str(to[0].(map[string]any), "display") != "Alice Owner" {
			t.Errorf("event email from %v to %v", from, to)
		}
		if str(em, "subject") != a.Subject || str(em, "text") != a.Text || str(em, "html") != a.HTML {
			t.Errorf("event email %v differs from the one sent (%q, %q, %q)", em, a.Subject, a.Text, a.HTML)
		}
		for _, k := range []string{"cc", "bcc", "attachments"} {
			if l, ok := em[k].([]any); !ok || len(l) != 0 {
				t.Errorf("event email %s = %v, want []", k, em[k])
			}
		}
		if evB := rc.wait(t, "German start", of(str(inB, "id"), "start")).Event; str(evB, "localizedDuration") != "3 Tage" ||
			str(sub(t, evB, "email"), "subject") != "[start] Hinweis (de): Werbung" {
			t.Errorf("German start event: localizedDuration %q, email %v", str(evB, "localizedDuration"), evB["email"])
		}

		// modify with emailUser: the modify template; cancel without: no
		// email, but the event still carries the rendered preview.
		e.fa(http.MethodPut, "/api/user/action/"+str(inA, "id"), map[string]any{"broadcast": true, "action": map[string]any{
			"actionerUserId": admin, "comment": "Shorter", "emailUser": true, "expiry": ms(time.Now().Add(90 * time.Minute))}}).Want(t, http.StatusOK)
		if m := e.SMTP.Next(t, waitFor); m.Subject != "[modify] Notice: Shorter" || !strings.Contains(m.Text, "for 1 hour.") {
			t.Errorf("modify email %q: %q", m.Subject, m.Text)
		}
		if ev := rc.wait(t, "modify", of(str(inA, "id"), "modify")).Event; ev["emailedUser"] != true ||
			str(sub(t, ev, "email"), "subject") != "[modify] Notice: Shorter" {
			t.Errorf("modify event emailedUser %v email %v", ev["emailedUser"], ev["email"])
		}
		e.fa(http.MethodDelete, "/api/user/action/"+str(inA, "id"), map[string]any{"broadcast": true, "action": map[string]any{
			"actionerUserId": admin, "comment": "Forgiven"}}).Want(t, http.StatusOK)
		if ev := rc.wait(t, "cancel", of(str(inA, "id"), "cancel")).Event; ev["emailedUser"] != false ||
			str(sub(t, ev, "email"), "subject") != "[cancel] Notice: Forgiven" {
			t.Errorf("cancel event emailedUser %v email %v; want false and the preview", ev["emailedUser"], ev["email"])
		}

		// end: emailUserOnEnd sends the end template at the expiry, even
		// without broadcast.
		inC := e.take(false, map[string]any{"userActionId": notice, "actioneeUserId": alice, "actionerUserId": admin,
			"comment": "Brief", "emailUser": true, "expiry": ms(time.Now().Add(2 * time.Second))})
		got = e.mails(t, 2)
		if _, ok := got["[start] Notice: Brief"]; !ok {
			t.Errorf("no start email for the short action; got %v", keys(got))
		}
		end, ok := got["[end] Notice: Brief"]
		if !ok || !slices.Equal(end.To, []string{"alice@example.com"}) {
			t.Fatalf("no end email to alice; got %v", keys(got))
		}
		if ev := rc.wait(t, "end", of(str(inC, "id"), "end")).Event; ev["emailedUser"] != true ||
			str(sub(t, ev, "email"), "subject") != "[end] Notice: Brief" {
			t.Errorf("end event emailedUser %v email %v", ev["emailedUser"], ev["email"])
		}

		// emailedUser never claims an email that was not queued: a user
		// without an address gets none (compat §6.4).
		created := obj(t, e.waldur(http.MethodPost, "/api/users/", apptest.Staff, map[string]any{"username": "dave"}).Want(t, http.StatusCreated).Body)
		dave, err := uuid.Parse(str(created, "uuid"))
		if err != nil {
			t.Fatalf("dave's uuid %v: %v", created["uuid"], err)
		}
		emailJobs := e.jobs("user_action_email")
		inD := e.take(true, map[string]any{"userActionId": notice, "actioneeUserId": dave.String(), "actionerUserId": admin,
			"comment": "No address", "emailUser": true, "expiry": ms(time.Now().Add(time.Hour))})
		if ev := rc.wait(t, "start without an address", of(str(inD, "id"), "start")).Event; ev["emailedUser"] != false {
			t.Errorf("emailedUser %v for a user without an address, want false", ev["emailedUser"])
		}
		if n := e.jobs("user_action_email"); n != emailJobs {
			t.Errorf("%d email jobs, want %d: nothing to send to a user without an address", n, emailJobs)
		}

		// What the admin typed cannot add headers, and is escaped in HTML.
		e.take(false, map[string]any{"userActionId": notice, "actioneeUserId": alice, "actionerUserId": admin,
			"comment": "<b>x</b>\r\nBcc: evil@example.net\r\nX-Injected: yes", "emailUser": true, "expiry": ms(time.Now().Add(time.Hour))})
		inj := e.SMTP.Next(t, waitFor)
		if !slices.Equal(inj.To, []string{"alice@example.com"}) || inj.Header.Get("Bcc") != "" || inj.Header.Get("X-Injected") != "" ||
			!strings.HasPrefix(inj.Subject, "[start] Notice: <b>x</b>") || !strings.Contains(inj.HTML, "&lt;b&gt;x&lt;/b&gt;") {
			t.Errorf("email to %v, headers %v, subject %q, html %q", inj.To, inj.Header, inj.Subject, inj.HTML)
		}

		// These came after the cancel: a cancel email, had one been queued,
		// would be here too.
		if extra := e.SMTP.Pending(); len(extra) != 0 {
			t.Errorf("unexpected emails: %v", subjects(extra))
		}
	})
}

func keys(m map[string]mailtest.Received) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func subjects(l []mailtest.Received) []string {
	var out []string
	for _, m := range l {
		out = append(out, m.Subject)
	}
	return out
}
