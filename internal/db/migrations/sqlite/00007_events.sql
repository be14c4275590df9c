-- +goose Up
-- Events and webhooks (FusionAuth's model). Ids are the TEXTs FusionAuth
-- clients see; JSON documents are stored as the text heed wrote, so a
-- delivery sends exactly the bytes that were signed and logged.
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}',
    -- event type -> {"enabled": bool, "transactionType": "None"|...}
    event_config TEXT NOT NULL DEFAULT '{}',
    email_from      TEXT NOT NULL DEFAULT '',
    email_from_name TEXT NOT NULL DEFAULT '',
    created      TIMESTAMP NOT NULL,
    updated      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tenants_name ON tenants (lower(name));
-- The default tenant: heed's own events belong to it. Every event type is
-- enabled, none transactional, so a new webhook receives events at once.
INSERT INTO tenants (id, name, event_config, created, updated) VALUES (
    '7c1f3b0e-5d4a-4c86-9a3e-2b6f0d8e9a01', 'Default',
    '{"order.state-changed":{"enabled":true,"transactionType":"None"},"resource.version.created":{"enabled":true,"transactionType":"None"},"user-action.created":{"enabled":true,"transactionType":"None"},"user-action.resolved":{"enabled":true,"transactionType":"None"},"user-action.silenced":{"enabled":true,"transactionType":"None"},"user.action":{"enabled":true,"transactionType":"None"}}',
    '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z');

-- Signing keys for X-FusionAuth-Signature-JWT (HMAC).
CREATE TABLE signing_keys (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_type  TEXT NOT NULL,
    kid       TEXT NOT NULL UNIQUE,
    secret    TEXT NOT NULL,
    issuer    TEXT NOT NULL DEFAULT '',
    created   TIMESTAMP NOT NULL,
    updated   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX signing_keys_name ON signing_keys (lower(name));

CREATE TABLE webhooks (
    id                 TEXT PRIMARY KEY,
    url                TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    connect_timeout_ms INTEGER NOT NULL,
    read_timeout_ms    INTEGER NOT NULL,
    headers            TEXT NOT NULL DEFAULT '{}',
    http_username      TEXT NOT NULL DEFAULT '',
    http_password      TEXT NOT NULL DEFAULT '',
    events_enabled     TEXT NOT NULL DEFAULT '{}',
    is_global          BOOLEAN NOT NULL DEFAULT FALSE,
    tenant_ids         TEXT NOT NULL DEFAULT '[]',
    data               TEXT NOT NULL DEFAULT '{}',
    signature_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
    signing_key_id     TEXT REFERENCES signing_keys (id),
    -- Standard Webhooks secret (whsec_...), shown once, on create.
    secret             TEXT NOT NULL,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    failing_since      TIMESTAMP,
    disabled_at        TIMESTAMP,
    disabled_reason    TEXT NOT NULL DEFAULT '',
    created            TIMESTAMP NOT NULL,
    updated            TIMESTAMP NOT NULL
);

-- The outbox and the Webhook Event Log in one: a row is written in the
-- transaction of the change that caused it, with one delivery job per
-- webhook; a vetoed transactional event is written after the rollback.
CREATE TABLE webhook_events (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    event_type          TEXT NOT NULL,
    tenant_id           TEXT,
    linked_object_id    TEXT,
    body                TEXT NOT NULL,
    transaction_type    TEXT NOT NULL,
    result              TEXT NOT NULL,
    webhook_ids         TEXT NOT NULL,
    -- deliveries not yet finished (succeeded or given up)
    pending             INTEGER NOT NULL,
    gave_up             INTEGER NOT NULL DEFAULT 0,
    successful_attempts INTEGER NOT NULL DEFAULT 0,
    failed_attempts     INTEGER NOT NULL DEFAULT 0,
    created             TIMESTAMP NOT NULL,
    last_attempt_at     TIMESTAMP,
    updated             TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created, seq);

CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    event_seq   BIGINT NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    -- no foreign key: the log outlives a deleted webhook
    webhook_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP NOT NULL,
    result      TEXT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    exception   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_seq, started_at);

-- FusionAuth's system Event Log: operational messages (a delivery that gave
-- up, a webhook disabled).
CREATE TABLE system_event_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created    TIMESTAMP NOT NULL,
    log_type   TEXT NOT NULL,
    message    TEXT NOT NULL
);
CREATE INDEX system_event_log_created ON system_event_log (created, id);

-- +goose Down
DROP TABLE system_event_log;
DROP TABLE webhook_attempts;
DROP TABLE webhook_events;
DROP TABLE webhooks;
DROP TABLE signing_keys;
DROP TABLE tenants;
