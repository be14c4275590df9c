-- +goose Up
-- PostgreSQL's versions.data becomes json (text as written) in 00012;
-- SQLite already stores the text heed wrote. Kept so that both engines
-- number their migrations alike.
SELECT 1;

-- +goose Down
SELECT 1;
