-- The model version a run trained (0 before training or when it failed earlier).
ALTER TABLE runs ADD COLUMN version integer NOT NULL DEFAULT 0;
