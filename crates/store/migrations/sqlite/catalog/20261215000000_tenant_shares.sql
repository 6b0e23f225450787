-- Read-only sharing between tenants: tenant `owner` exposes group `group_id` (and the groups
-- under it) to tenant `consumer`.
CREATE TABLE tenant_shares (
    owner TEXT NOT NULL,
    group_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, group_id, consumer)
);
