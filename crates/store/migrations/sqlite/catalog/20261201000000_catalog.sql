-- The tenants of this data directory and the server-wide secrets (token signing keys).
CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE secrets (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
