-- +goose Up
-- User actions: one row per (user, action type, related object), kept in
-- step with the providers' detection. related_object is (object_type,
-- object_id): no foreign key, an action outlives nothing it points at
-- (detection deletes it when the condition clears).
CREATE TABLE user_actions (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                UUID NOT NULL UNIQUE,
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action_type         TEXT COLLATE "C" NOT NULL,
    object_type         TEXT NOT NULL,
    object_id           BIGINT NOT NULL,
    related_object_name TEXT NOT NULL DEFAULT '',
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    urgency             TEXT NOT NULL,
    -- 0 high, 1 medium, 2 low: the default order sorts by rank, not text.
    urgency_rank        INTEGER NOT NULL,
    due_date            TIMESTAMPTZ,
    route_name          TEXT NOT NULL DEFAULT '',
    route_params        TEXT NOT NULL DEFAULT '{}',
    project_name        TEXT NOT NULL DEFAULT '',
    project_uuid        UUID,
    organization_name   TEXT NOT NULL DEFAULT '',
    organization_uuid   UUID,
    offering_name       TEXT NOT NULL DEFAULT '',
    offering_uuid       UUID,
    offering_type       TEXT NOT NULL DEFAULT '',
    resource_name       TEXT NOT NULL DEFAULT '',
    resource_uuid       UUID,
    order_type          TEXT NOT NULL DEFAULT '',
    corrective_actions  TEXT NOT NULL DEFAULT '[]',
    -- content_hash says whether re-detection changed anything: unchanged
    -- rows are not written, and modified moves only on a change.
    content_hash        TEXT NOT NULL,
    is_silenced         BOOLEAN NOT NULL DEFAULT FALSE,
    silenced_at         TIMESTAMPTZ,
    silenced_until      TIMESTAMPTZ,
    created             TIMESTAMPTZ NOT NULL,
    modified            TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, action_type, object_type, object_id)
);
CREATE INDEX user_actions_user ON user_actions (user_id, urgency_rank, due_date, id);
CREATE INDEX user_actions_object ON user_actions (object_type, object_id);
CREATE INDEX user_actions_type ON user_actions (action_type, user_id);
CREATE INDEX user_actions_silenced_until ON user_actions (silenced_until) WHERE silenced_until IS NOT NULL;

-- Executions survive their action and their user: the audit trail keeps
-- what it was about by value.
CREATE TABLE user_action_executions (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                 BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action_uuid             UUID NOT NULL,
    action_type             TEXT NOT NULL,
    action_title            TEXT NOT NULL,
    object_type             TEXT NOT NULL,
    object_id               BIGINT NOT NULL,
    corrective_action_label TEXT NOT NULL,
    executed_at             TIMESTAMPTZ NOT NULL,
    success                 BOOLEAN NOT NULL,
    error_message           TEXT NOT NULL DEFAULT '',
    execution_metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX user_action_executions_user ON user_action_executions (user_id, executed_at, id);
CREATE INDEX user_action_executions_executed_at ON user_action_executions (executed_at);

CREATE TABLE user_action_providers (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_name              TEXT NOT NULL,
    provider_class        TEXT NOT NULL,
    action_type           TEXT NOT NULL UNIQUE,
    is_enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    schedule              TEXT NOT NULL,
    last_execution        TIMESTAMPTZ,
    last_execution_status TEXT NOT NULL DEFAULT ''
);

-- Lists sort text byte-wise, as SQLite does (see 00005).
ALTER TABLE marketplace_categories ALTER COLUMN title TYPE TEXT COLLATE "C";

-- The digest opt-out Waldur's User model carries.
ALTER TABLE users ADD COLUMN notifications_enabled BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
ALTER TABLE marketplace_categories ALTER COLUMN title TYPE TEXT COLLATE "default";
ALTER TABLE users DROP COLUMN notifications_enabled;
DROP TABLE user_action_providers;
DROP TABLE user_action_executions;
DROP TABLE user_actions;
