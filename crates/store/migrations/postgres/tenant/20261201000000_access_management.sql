-- Access management and the shared resource model of one tenant (one schema). Key columns use
-- the "C" collation so that they compare bytewise, as the group-path range scans need
-- (descendants of /a are the ids between '/a/' and '/a0'), whatever the database's locale.

CREATE TABLE groups (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    parent_id TEXT COLLATE "C" REFERENCES groups (id),
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    tags TEXT NOT NULL,
    -- the group's own delta over the merged configuration of its ancestors (JSON)
    configuration TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT
);
CREATE INDEX groups_by_parent ON groups (parent_id, id);

CREATE TABLE users (
    email TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    state TEXT NOT NULL,
    -- group id -> role (JSON), mirrored by user_groups for queries by group
    groups TEXT NOT NULL,
    default_group TEXT,
    password_hash TEXT,
    tags TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT
);

CREATE TABLE user_groups (
    email TEXT COLLATE "C" NOT NULL REFERENCES users (email) ON DELETE CASCADE,
    group_id TEXT COLLATE "C" NOT NULL REFERENCES groups (id),
    role TEXT NOT NULL,
    PRIMARY KEY (email, group_id)
);
CREATE INDEX user_groups_by_group ON user_groups (group_id, email);

-- One row per tag of a group ('group'), user ('user') or resource (its kind).
CREATE TABLE tag_index (
    scope TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    value_lower TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (scope, id, key)
);
CREATE INDEX tag_index_by_value ON tag_index (scope, key, value_lower);

-- Resources of every module: the latest version and the owner-scoped name.
CREATE TABLE resources (
    kind TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    owner_group TEXT COLLATE "C" NOT NULL,
    name_key TEXT COLLATE "C",
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX resources_by_name ON resources (kind, owner_group, name_key);

-- Every version, immutable once written.
CREATE TABLE resource_versions (
    kind TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    name TEXT,
    state TEXT NOT NULL,
    groups TEXT NOT NULL,
    tags TEXT NOT NULL,
    body TEXT NOT NULL,
    active_at TEXT,
    -- when the version takes effect: active_at, else when it was written
    activation TEXT COLLATE "C" NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT,
    PRIMARY KEY (kind, id, version),
    FOREIGN KEY (kind, id) REFERENCES resources (kind, id) ON DELETE CASCADE
);
CREATE INDEX resource_versions_by_activation ON resource_versions (kind, id, activation);

-- Which groups a resource belongs to: its owner, and every granted group with its sub-groups.
CREATE TABLE resource_groups (
    kind TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, group_id, id),
    FOREIGN KEY (kind, id) REFERENCES resources (kind, id) ON DELETE CASCADE
);
CREATE INDEX resource_groups_by_id ON resource_groups (kind, id);
