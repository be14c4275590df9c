package events

// The bodies of heed's own event types: the fields each puts into
// {"event": {...}} beside the envelope (type, id, createInstant, tenantId,
// linkedObjectId). Instants are epoch milliseconds and ids dashed UUIDs,
// as on FusionAuth's wire; nulls are omitted.

// ResourceVersionCreated is resource.version.created: a tracked field of a
// marketplace object changed and a history version was recorded.
type ResourceVersionCreated struct {
	ObjectType    string         `json:"objectType" doc:"What changed, e.g. resource."`
	ObjectID      string         `json:"objectId" doc:"The object's uuid (also linkedObjectId)."`
	VersionID     int64          `json:"versionId" doc:"The history version's id (GET …/history/{versionId}/)."`
	ChangedFields []string       `json:"changedFields"`
	Comment       string         `json:"comment,omitempty"`
	ActorUserID   string         `json:"actorUserId,omitempty" doc:"Who made the change; absent for system changes."`
	State         map[string]any `json:"state" doc:"The tracked fields after the change."`
}

// OrderStateChanged is order.state-changed: a marketplace order moved.
type OrderStateChanged struct {
	OrderID       string `json:"orderId"`
	PreviousState string `json:"previousState,omitempty" doc:"Absent when the order was just created."`
	State         string `json:"state"`
	ActorUserID   string `json:"actorUserId,omitempty"`
}

// UserActionChanged is user-action.created, user-action.resolved and
// user-action.silenced: a user's to-do item appeared, went away (its
// condition cleared) or was silenced.
type UserActionChanged struct {
	UserActionID      string `json:"userActionId" doc:"The user action's uuid."`
	UserID            string `json:"userId" doc:"Whose to-do list it is on."`
	ActionType        string `json:"actionType"`
	Title             string `json:"title"`
	Urgency           string `json:"urgency" enum:"low,medium,high"`
	DueInstant        int64  `json:"dueInstant,omitempty"`
	RelatedObjectType string `json:"relatedObjectType"`
	RelatedObjectID   string `json:"relatedObjectId,omitempty"`
	SilencedUntil     int64  `json:"silencedUntilInstant,omitempty" doc:"user-action.silenced only; absent when silenced for good."`
}
