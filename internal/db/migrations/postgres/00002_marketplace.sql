-- +goose Up
CREATE TABLE customers (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid        UUID NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL,
    modified    TIMESTAMPTZ NOT NULL
);
CREATE INDEX customers_name ON customers (name, id);

CREATE TABLE projects (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid        UUID NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL,
    modified    TIMESTAMPTZ NOT NULL
);
CREATE INDEX projects_customer ON projects (customer_id, id);
CREATE INDEX projects_name ON projects (name, id);

-- scope_type is 'customer', 'project' or 'offering'; scope_id points into
-- that table.
CREATE TABLE role_assignments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope_type      TEXT NOT NULL,
    scope_id        BIGINT NOT NULL,
    role            TEXT NOT NULL,
    expiration_time TIMESTAMPTZ,
    created         TIMESTAMPTZ NOT NULL,
    created_by_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (user_id, scope_type, scope_id, role)
);
CREATE INDEX role_assignments_scope ON role_assignments (scope_type, scope_id, role);

CREATE TABLE offerings (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid           UUID NOT NULL UNIQUE,
    customer_id    BIGINT NOT NULL REFERENCES customers (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    type           TEXT NOT NULL,
    state          TEXT NOT NULL,
    components     JSONB NOT NULL DEFAULT '[]',
    plugin_options JSONB NOT NULL DEFAULT '{}',
    created        TIMESTAMPTZ NOT NULL,
    modified       TIMESTAMPTZ NOT NULL
);
CREATE INDEX offerings_customer ON offerings (customer_id, id);
CREATE INDEX offerings_name ON offerings (name, id);

CREATE TABLE plans (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid        UUID NOT NULL UNIQUE,
    offering_id BIGINT NOT NULL REFERENCES offerings (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    unit_price  NUMERIC(16,2) NOT NULL DEFAULT 0,
    unit        TEXT NOT NULL DEFAULT 'month',
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created     TIMESTAMPTZ NOT NULL,
    modified    TIMESTAMPTZ NOT NULL
);
CREATE INDEX plans_offering ON plans (offering_id, id);

CREATE TABLE resources (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                   UUID NOT NULL UNIQUE,
    project_id             BIGINT NOT NULL REFERENCES projects (id),
    offering_id            BIGINT NOT NULL REFERENCES offerings (id),
    plan_id                BIGINT REFERENCES plans (id),
    name                   TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    slug                   TEXT NOT NULL DEFAULT '',
    state                  TEXT NOT NULL,
    limits                 JSONB NOT NULL DEFAULT '{}',
    attributes             JSONB NOT NULL DEFAULT '{}',
    options                JSONB NOT NULL DEFAULT '{}',
    cost                   NUMERIC(16,2),
    end_date               DATE,
    downscaled             BOOLEAN NOT NULL DEFAULT FALSE,
    restrict_member_access BOOLEAN NOT NULL DEFAULT FALSE,
    paused                 BOOLEAN NOT NULL DEFAULT FALSE,
    error_message          TEXT NOT NULL DEFAULT '',
    created                TIMESTAMPTZ NOT NULL,
    modified               TIMESTAMPTZ NOT NULL
);
CREATE INDEX resources_project ON resources (project_id, id);
CREATE INDEX resources_offering ON resources (offering_id, id);
CREATE INDEX resources_state ON resources (state, id);
CREATE INDEX resources_end_date ON resources (end_date, id) WHERE end_date IS NOT NULL;
CREATE INDEX resources_created ON resources (created, id);

CREATE TABLE orders (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                UUID NOT NULL UNIQUE,
    type                TEXT NOT NULL,
    state               TEXT NOT NULL,
    project_id          BIGINT NOT NULL REFERENCES projects (id),
    offering_id         BIGINT NOT NULL REFERENCES offerings (id),
    plan_id             BIGINT REFERENCES plans (id),
    old_plan_id         BIGINT REFERENCES plans (id),
    resource_id         BIGINT REFERENCES resources (id),
    attributes          JSONB NOT NULL DEFAULT '{}',
    limits              JSONB NOT NULL DEFAULT '{}',
    cost                NUMERIC(16,2),
    request_comment     TEXT NOT NULL DEFAULT '',
    error_message       TEXT NOT NULL DEFAULT '',
    created_by_id       BIGINT REFERENCES users (id),
    consumer_reviewed_by_id BIGINT REFERENCES users (id),
    consumer_reviewed_at    TIMESTAMPTZ,
    provider_reviewed_by_id BIGINT REFERENCES users (id),
    provider_reviewed_at    TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    created             TIMESTAMPTZ NOT NULL,
    modified            TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_project ON orders (project_id, id);
CREATE INDEX orders_offering ON orders (offering_id, id);
CREATE INDEX orders_resource ON orders (resource_id, id);
CREATE INDEX orders_state_created ON orders (state, created, id);
CREATE INDEX orders_created ON orders (created, id);

-- +goose Down
DROP TABLE orders;
DROP TABLE resources;
DROP TABLE plans;
DROP TABLE offerings;
DROP TABLE role_assignments;
DROP TABLE projects;
DROP TABLE customers;
