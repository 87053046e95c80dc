-- Audit rows the writer could not store as they were (bytes PostgreSQL refuses, such as a
-- header value that is not UTF-8): stored with every text field escaped (printable ASCII;
-- "\xNN" for any other byte, "\\" for a backslash) and marked, instead of stopping the trail.
ALTER TABLE audit_log ADD COLUMN set_aside boolean NOT NULL DEFAULT false;
