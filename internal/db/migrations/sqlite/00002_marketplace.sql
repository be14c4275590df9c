-- +goose Up
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL,
    modified    TIMESTAMP NOT NULL
);
CREATE INDEX customers_name ON customers (name, id);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL,
    modified    TIMESTAMP NOT NULL
);
CREATE INDEX projects_customer ON projects (customer_id, id);
CREATE INDEX projects_name ON projects (name, id);

-- scope_type is 'customer', 'project' or 'offering'; scope_id points into
-- that table.
CREATE TABLE role_assignments (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope_type      TEXT NOT NULL,
    scope_id        INTEGER NOT NULL,
    role            TEXT NOT NULL,
    expiration_time TIMESTAMP,
    created         TIMESTAMP NOT NULL,
    created_by_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (user_id, scope_type, scope_id, role)
);
CREATE INDEX role_assignments_scope ON role_assignments (scope_type, scope_id, role);

CREATE TABLE offerings (
    id             INTEGER PRIMARY KEY,
    uuid           TEXT NOT NULL UNIQUE,
    customer_id    INTEGER NOT NULL REFERENCES customers (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    type           TEXT NOT NULL,
    state          TEXT NOT NULL,
    components     TEXT NOT NULL DEFAULT '[]',
    plugin_options TEXT NOT NULL DEFAULT '{}',
    created        TIMESTAMP NOT NULL,
    modified       TIMESTAMP NOT NULL
);
CREATE INDEX offerings_customer ON offerings (customer_id, id);
CREATE INDEX offerings_name ON offerings (name, id);

CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    offering_id INTEGER NOT NULL REFERENCES offerings (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    unit_price  TEXT NOT NULL DEFAULT '0.00',
    unit        TEXT NOT NULL DEFAULT 'month',
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created     TIMESTAMP NOT NULL,
    modified    TIMESTAMP NOT NULL
);
CREATE INDEX plans_offering ON plans (offering_id, id);

CREATE TABLE resources (
    id                     INTEGER PRIMARY KEY,
    uuid                   TEXT NOT NULL UNIQUE,
    project_id             INTEGER NOT NULL REFERENCES projects (id),
    offering_id            INTEGER NOT NULL REFERENCES offerings (id),
    plan_id                INTEGER REFERENCES plans (id),
    name                   TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    slug                   TEXT NOT NULL DEFAULT '',
    state                  TEXT NOT NULL,
    limits                 TEXT NOT NULL DEFAULT '{}',
    attributes             TEXT NOT NULL DEFAULT '{}',
    options                TEXT NOT NULL DEFAULT '{}',
    cost                   TEXT,
    end_date               DATE,
    downscaled             BOOLEAN NOT NULL DEFAULT FALSE,
    restrict_member_access BOOLEAN NOT NULL DEFAULT FALSE,
    paused                 BOOLEAN NOT NULL DEFAULT FALSE,
    error_message          TEXT NOT NULL DEFAULT '',
    created                TIMESTAMP NOT NULL,
    modified               TIMESTAMP NOT NULL
);
CREATE INDEX resources_project ON resources (project_id, id);
CREATE INDEX resources_offering ON resources (offering_id, id);
CREATE INDEX resources_state ON resources (state, id);
CREATE INDEX resources_end_date ON resources (end_date, id) WHERE end_date IS NOT NULL;
CREATE INDEX resources_created ON resources (created, id);

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    uuid                TEXT NOT NULL UNIQUE,
    type                TEXT NOT NULL,
    state               TEXT NOT NULL,
    project_id          INTEGER NOT NULL REFERENCES projects (id),
    offering_id         INTEGER NOT NULL REFERENCES offerings (id),
    plan_id             INTEGER REFERENCES plans (id),
    old_plan_id         INTEGER REFERENCES plans (id),
    resource_id         INTEGER REFERENCES resources (id),
    attributes          TEXT NOT NULL DEFAULT '{}',
    limits              TEXT NOT NULL DEFAULT '{}',
    cost                TEXT,
    request_comment     TEXT NOT NULL DEFAULT '',
    error_message       TEXT NOT NULL DEFAULT '',
    created_by_id       INTEGER REFERENCES users (id),
    consumer_reviewed_by_id INTEGER REFERENCES users (id),
    consumer_reviewed_at    TIMESTAMP,
    provider_reviewed_by_id INTEGER REFERENCES users (id),
    provider_reviewed_at    TIMESTAMP,
    completed_at        TIMESTAMP,
    created             TIMESTAMP NOT NULL,
    modified            TIMESTAMP NOT NULL
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
