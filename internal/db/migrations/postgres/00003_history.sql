-- +goose Up
-- One row per recorded change of a tracked object. There is no foreign key to
-- the object: deleting it keeps its history. user_id is kept when the user is
-- deactivated; users are never hard-deleted by heed.
CREATE TABLE versions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_type    TEXT NOT NULL,
    object_id      BIGINT NOT NULL,
    object_uuid    UUID NOT NULL,
    created        TIMESTAMPTZ NOT NULL,
    user_id        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    comment        TEXT NOT NULL DEFAULT '',
    data           JSONB NOT NULL,
    changed_fields JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX versions_object_time ON versions (entity_type, object_uuid, created, id);
CREATE INDEX versions_created ON versions (created, id);

-- +goose Down
DROP TABLE versions;
