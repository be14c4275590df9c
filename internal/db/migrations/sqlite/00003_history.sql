-- +goose Up
-- One row per recorded change of a tracked object. There is no foreign key to
-- the object: deleting it keeps its history. user_id is kept when the user is
-- deactivated; users are never hard-deleted by heed.
CREATE TABLE versions (
    id             INTEGER PRIMARY KEY,
    entity_type    TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    object_uuid    TEXT NOT NULL,
    created        TIMESTAMP NOT NULL,
    user_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    comment        TEXT NOT NULL DEFAULT '',
    data           TEXT NOT NULL,
    changed_fields TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX versions_object_time ON versions (entity_type, object_uuid, created, id);
CREATE INDEX versions_created ON versions (created, id);

-- +goose Down
DROP TABLE versions;
