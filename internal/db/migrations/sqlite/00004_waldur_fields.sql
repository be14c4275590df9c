-- +goose Up
-- Fields Waldur's clients send and read on users, and the marketplace
-- categories offerings belong to.
ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';

CREATE TABLE marketplace_categories (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL,
    modified    TIMESTAMP NOT NULL
);

ALTER TABLE offerings ADD COLUMN category_id INTEGER REFERENCES marketplace_categories (id);
CREATE INDEX offerings_category ON offerings (category_id, id);

-- +goose Down
DROP INDEX offerings_category;
ALTER TABLE offerings DROP COLUMN category_id;
DROP TABLE marketplace_categories;
ALTER TABLE users DROP COLUMN job_title;
ALTER TABLE users DROP COLUMN last_name;
ALTER TABLE users DROP COLUMN first_name;
