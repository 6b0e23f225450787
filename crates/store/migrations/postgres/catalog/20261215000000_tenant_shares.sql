-- Read-only sharing between tenants: tenant `owner` exposes group `group_id` (and the groups
-- under it) to tenant `consumer`.
CREATE TABLE tenant_shares (
    owner TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    consumer TEXT COLLATE "C" NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, group_id, consumer)
);
