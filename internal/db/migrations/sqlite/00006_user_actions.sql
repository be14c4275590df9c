-- +goose Up
-- User actions: one row per (user, action type, related object), kept in
-- step with the providers' detection. related_object is (object_type,
-- object_id): no foreign key, an action outlives nothing it points at
-- (detection deletes it when the condition clears).
CREATE TABLE user_actions (
    id                  INTEGER PRIMARY KEY,
    uuid                TEXT NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action_type         TEXT NOT NULL,
    object_type         TEXT NOT NULL,
    object_id           INTEGER NOT NULL,
    related_object_name TEXT NOT NULL DEFAULT '',
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    urgency             TEXT NOT NULL,
    -- 0 high, 1 medium, 2 low: the default order sorts by rank, not text.
    urgency_rank        INTEGER NOT NULL,
    due_date            TIMESTAMP,
    route_name          TEXT NOT NULL DEFAULT '',
    route_params        TEXT NOT NULL DEFAULT '{}',
    project_name        TEXT NOT NULL DEFAULT '',
    project_uuid        TEXT,
    organization_name   TEXT NOT NULL DEFAULT '',
    organization_uuid   TEXT,
    offering_name       TEXT NOT NULL DEFAULT '',
    offering_uuid       TEXT,
    offering_type       TEXT NOT NULL DEFAULT '',
    resource_name       TEXT NOT NULL DEFAULT '',
    resource_uuid       TEXT,
    order_type          TEXT NOT NULL DEFAULT '',
    corrective_actions  TEXT NOT NULL DEFAULT '[]',
    -- content_hash says whether re-detection changed anything: unchanged
    -- rows are not written, and modified moves only on a change.
    content_hash        TEXT NOT NULL,
    is_silenced         BOOLEAN NOT NULL DEFAULT FALSE,
    silenced_at         TIMESTAMP,
    silenced_until      TIMESTAMP,
    created             TIMESTAMP NOT NULL,
    modified            TIMESTAMP NOT NULL,
    UNIQUE (user_id, action_type, object_type, object_id)
);
CREATE INDEX user_actions_user ON user_actions (user_id, urgency_rank, due_date, id);
CREATE INDEX user_actions_object ON user_actions (object_type, object_id);
CREATE INDEX user_actions_type ON user_actions (action_type, user_id);
CREATE INDEX user_actions_silenced_until ON user_actions (silenced_until) WHERE silenced_until IS NOT NULL;

-- Executions survive their action and their user: the audit trail keeps
-- what it was about by value.
CREATE TABLE user_action_executions (
    id                      INTEGER PRIMARY KEY,
    user_id                 INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action_uuid             TEXT NOT NULL,
    action_type             TEXT NOT NULL,
    action_title            TEXT NOT NULL,
    object_type             TEXT NOT NULL,
    object_id               INTEGER NOT NULL,
    corrective_action_label TEXT NOT NULL,
    executed_at             TIMESTAMP NOT NULL,
    success                 BOOLEAN NOT NULL,
    error_message           TEXT NOT NULL DEFAULT '',
    execution_metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX user_action_executions_user ON user_action_executions (user_id, executed_at, id);
CREATE INDEX user_action_executions_executed_at ON user_action_executions (executed_at);

CREATE TABLE user_action_providers (
    id                    INTEGER PRIMARY KEY,
    app_name              TEXT NOT NULL,
    provider_class        TEXT NOT NULL,
    action_type           TEXT NOT NULL UNIQUE,
    is_enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    schedule              TEXT NOT NULL,
    last_execution        TIMESTAMP,
    last_execution_status TEXT NOT NULL DEFAULT ''
);

-- The digest opt-out Waldur's User model carries.
ALTER TABLE users ADD COLUMN notifications_enabled BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
ALTER TABLE users DROP COLUMN notifications_enabled;
DROP TABLE user_action_providers;
DROP TABLE user_action_executions;
DROP TABLE user_actions;
