-- +goose Up
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    uuid                TEXT NOT NULL UNIQUE,
    username            TEXT NOT NULL UNIQUE,
    email               TEXT NOT NULL DEFAULT '',
    full_name           TEXT NOT NULL DEFAULT '',
    is_staff            BOOLEAN NOT NULL DEFAULT FALSE,
    is_support          BOOLEAN NOT NULL DEFAULT FALSE,
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    preferred_languages TEXT NOT NULL DEFAULT '[]',
    password_hash       TEXT,
    created             TIMESTAMP NOT NULL,
    modified            TIMESTAMP NOT NULL
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_is_active ON users (is_active, username);

CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
DROP TABLE tokens;
DROP TABLE users;
