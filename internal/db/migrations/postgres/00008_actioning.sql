-- +goose Up
-- Actioning users (FusionAuth's user actions). Instants that FusionAuth
-- clients send and read back (expiries) are stored as epoch milliseconds:
-- "forever" is 2^63-1, far beyond what a timestamp column holds.
CREATE TABLE applications (
    id        UUID PRIMARY KEY,
    name      TEXT NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    active    BOOLEAN NOT NULL DEFAULT TRUE,
    data      TEXT NOT NULL DEFAULT '{}',
    created   TIMESTAMPTZ NOT NULL,
    updated   TIMESTAMPTZ NOT NULL
);

CREATE TABLE email_templates (
    id                   UUID PRIMARY KEY,
    name                 TEXT NOT NULL,
    default_subject      TEXT NOT NULL DEFAULT '',
    default_html         TEXT NOT NULL DEFAULT '',
    default_text         TEXT NOT NULL DEFAULT '',
    default_from_name    TEXT NOT NULL DEFAULT '',
    from_email           TEXT NOT NULL DEFAULT '',
    localized_subjects   TEXT NOT NULL DEFAULT '{}',
    localized_html       TEXT NOT NULL DEFAULT '{}',
    localized_text       TEXT NOT NULL DEFAULT '{}',
    localized_from_names TEXT NOT NULL DEFAULT '{}',
    created              TIMESTAMPTZ NOT NULL,
    updated              TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_action_definitions (
    id                          UUID PRIMARY KEY,
    name                        TEXT NOT NULL,
    active                      BOOLEAN NOT NULL DEFAULT TRUE,
    temporal                    BOOLEAN NOT NULL DEFAULT FALSE,
    prevent_login               BOOLEAN NOT NULL DEFAULT FALSE,
    send_end_event              BOOLEAN NOT NULL DEFAULT TRUE,
    user_emailing_enabled       BOOLEAN NOT NULL DEFAULT FALSE,
    user_notifications_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
    include_email_in_event_json BOOLEAN NOT NULL DEFAULT FALSE,
    start_template_id           UUID REFERENCES email_templates (id),
    modify_template_id          UUID REFERENCES email_templates (id),
    cancel_template_id          UUID REFERENCES email_templates (id),
    end_template_id             UUID REFERENCES email_templates (id),
    localized_names             TEXT NOT NULL DEFAULT '{}',
    options                     TEXT NOT NULL DEFAULT '[]',
    transaction_type            TEXT NOT NULL DEFAULT 'None',
    created                     TIMESTAMPTZ NOT NULL,
    updated                     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX user_action_definitions_name ON user_action_definitions (lower(name));

CREATE TABLE user_action_reasons (
    id              UUID PRIMARY KEY,
    text            TEXT NOT NULL,
    code            TEXT NOT NULL UNIQUE,
    localized_texts TEXT NOT NULL DEFAULT '{}',
    created         TIMESTAMPTZ NOT NULL,
    updated         TIMESTAMPTZ NOT NULL
);

-- An action taken on a user. Actionee and actioner are kept by uuid, not
-- by foreign key: deleting a user keeps the audit trail. The reason is
-- kept by value: editing or deleting it never rewrites the past.
CREATE TABLE user_action_instances (
    -- num names the instance to the user-actions engine (integer object ids)
    num                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 UUID NOT NULL UNIQUE,
    definition_id      UUID NOT NULL REFERENCES user_action_definitions (id) ON DELETE CASCADE,
    actionee_uuid      UUID NOT NULL,
    actioner_uuid      UUID,
    application_ids    TEXT NOT NULL DEFAULT '[]',
    comment            TEXT NOT NULL DEFAULT '',
    option_name        TEXT,
    reason             TEXT,
    reason_code        TEXT,
    localized_reasons  TEXT NOT NULL DEFAULT '{}',
    temporal           BOOLEAN NOT NULL,
    expiry_ms          BIGINT,
    email_user_on_end  BOOLEAN NOT NULL DEFAULT FALSE,
    notify_user_on_end BOOLEAN NOT NULL DEFAULT FALSE,
    end_event_sent     BOOLEAN,
    cancelled          BOOLEAN NOT NULL DEFAULT FALSE,
    -- the end phase has been processed (event, email): never twice
    ended              BOOLEAN NOT NULL DEFAULT FALSE,
    created            TIMESTAMPTZ NOT NULL,
    -- when the current actioner, comment and expiry were set
    state_set          TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_action_instances_actionee ON user_action_instances (actionee_uuid, created, id);
CREATE INDEX user_action_instances_due ON user_action_instances (expiry_ms) WHERE temporal AND NOT cancelled AND NOT ended;

CREATE TABLE user_action_history (
    instance_id   UUID NOT NULL REFERENCES user_action_instances (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    actioner_uuid UUID,
    comment       TEXT NOT NULL DEFAULT '',
    created       TIMESTAMPTZ NOT NULL,
    expiry_ms     BIGINT,
    PRIMARY KEY (instance_id, seq)
);

-- Login prevention, kept on the user row so that token authentication
-- reads it with the user at no extra cost: the latest expiry among the
-- user's active actions whose definition prevents login, and its name.
ALTER TABLE users ADD COLUMN login_prevented_until_ms BIGINT;
ALTER TABLE users ADD COLUMN login_prevented_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN login_prevented_by;
ALTER TABLE users DROP COLUMN login_prevented_until_ms;
DROP TABLE user_action_history;
DROP TABLE user_action_instances;
DROP TABLE user_action_reasons;
DROP TABLE user_action_definitions;
DROP TABLE email_templates;
DROP TABLE applications;
