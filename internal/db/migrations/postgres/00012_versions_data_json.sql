-- +goose Up
-- A version's data is written once and read whole (history pages pass it
-- through to the response as stored; diff and revert decode it in Go): no
-- query looks inside it. As jsonb, every page made PostgreSQL print each
-- version back to text (escape_json and friends: a fifth of its CPU per
-- history page); json keeps the text heed wrote and returns it as is, and
-- checks it on the way in more cheaply than jsonb parses it. The keys then
-- come out in the order heed wrote them (encoding/json's, alphabetical),
-- as on SQLite. changed_fields stays jsonb: filters search it.
--
-- Rewrites the table once: on a large history, expect the time of a copy.
ALTER TABLE versions ALTER COLUMN data TYPE json USING data::json;

-- +goose Down
ALTER TABLE versions ALTER COLUMN data TYPE jsonb USING data::jsonb;
