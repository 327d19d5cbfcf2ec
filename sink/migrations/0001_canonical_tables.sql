-- One table per canonical entity (schemas/<entity>.avsc), written only by
-- the sink's version-guarded upserts.
--
-- Every table has the same envelope columns:
--   primary key (source, stream, source_id): the upsert's conflict target,
--     so the upsert path needs no other index;
--   canonical_id: unique, for the lookups users run by canonical id;
--   the source version (modified_at, raw_offset, reference_modified_at,
--     mapping_version, compared in that order, null first) and the raw
--     record it came from (raw_topic, raw_partition);
--   deleted: soft deletes;
--   provenance: which source record produced each field (JSONB);
--   kafka_*: the canonical record last applied;
--   first_seen_at / updated_at: when the sink first wrote / last changed
--     the row; indexed on updated_at for "what changed since …" queries.
-- Nothing else is indexed: every extra index slows every upsert.

CREATE TABLE IF NOT EXISTS canonflow_worker (
    source                text        NOT NULL,
    stream                text        NOT NULL,
    source_id             text        NOT NULL,
    canonical_id          uuid        NOT NULL,
    modified_at           timestamptz,
    raw_topic             text        NOT NULL,
    raw_partition         integer     NOT NULL,
    raw_offset            bigint      NOT NULL,
    reference_modified_at timestamptz,
    mapping_version       integer     NOT NULL,
    deleted               boolean     NOT NULL DEFAULT false,
    employee_number       bigint,
    first_name            text        NOT NULL,
    last_name             text        NOT NULL,
    email                 text,
    hire_date             date,
    termination_date      date,
    organization_id       text,
    cost_center_code      text,
    cost_center_name      text,
    salary_minor          bigint,
    salary_currency       char(3),
    work_country          char(2),
    work_city             text,
    fte                   double precision,
    provenance            jsonb       NOT NULL,
    kafka_topic           text        NOT NULL,
    kafka_partition       integer     NOT NULL,
    kafka_offset          bigint      NOT NULL,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS canonflow_worker_canonical_id ON canonflow_worker (canonical_id);
CREATE INDEX IF NOT EXISTS canonflow_worker_updated_at ON canonflow_worker (updated_at);

CREATE TABLE IF NOT EXISTS canonflow_organization (
    source                text        NOT NULL,
    stream                text        NOT NULL,
    source_id             text        NOT NULL,
    canonical_id          uuid        NOT NULL,
    modified_at           timestamptz,
    raw_topic             text        NOT NULL,
    raw_partition         integer     NOT NULL,
    raw_offset            bigint      NOT NULL,
    reference_modified_at timestamptz,
    mapping_version       integer     NOT NULL,
    deleted               boolean     NOT NULL DEFAULT false,
    name                  text        NOT NULL,
    parent_id             text,
    cost_centers          jsonb       NOT NULL,
    provenance            jsonb       NOT NULL,
    kafka_topic           text        NOT NULL,
    kafka_partition       integer     NOT NULL,
    kafka_offset          bigint      NOT NULL,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS canonflow_organization_canonical_id ON canonflow_organization (canonical_id);
CREATE INDEX IF NOT EXISTS canonflow_organization_updated_at ON canonflow_organization (updated_at);

CREATE TABLE IF NOT EXISTS canonflow_cost_center (
    source                text        NOT NULL,
    stream                text        NOT NULL,
    source_id             text        NOT NULL,
    canonical_id          uuid        NOT NULL,
    modified_at           timestamptz,
    raw_topic             text        NOT NULL,
    raw_partition         integer     NOT NULL,
    raw_offset            bigint      NOT NULL,
    reference_modified_at timestamptz,
    mapping_version       integer     NOT NULL,
    deleted               boolean     NOT NULL DEFAULT false,
    code                  text        NOT NULL,
    name                  text        NOT NULL,
    company_code          text,
    currency              char(3),
    valid_from            date,
    provenance            jsonb       NOT NULL,
    kafka_topic           text        NOT NULL,
    kafka_partition       integer     NOT NULL,
    kafka_offset          bigint      NOT NULL,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS canonflow_cost_center_canonical_id ON canonflow_cost_center (canonical_id);
CREATE INDEX IF NOT EXISTS canonflow_cost_center_updated_at ON canonflow_cost_center (updated_at);

CREATE TABLE IF NOT EXISTS canonflow_supplier (
    source                text        NOT NULL,
    stream                text        NOT NULL,
    source_id             text        NOT NULL,
    canonical_id          uuid        NOT NULL,
    modified_at           timestamptz,
    raw_topic             text        NOT NULL,
    raw_partition         integer     NOT NULL,
    raw_offset            bigint      NOT NULL,
    reference_modified_at timestamptz,
    mapping_version       integer     NOT NULL,
    deleted               boolean     NOT NULL DEFAULT false,
    name                  text        NOT NULL,
    country               char(2),
    vat_number            text,
    email                 text,
    provenance            jsonb       NOT NULL,
    kafka_topic           text        NOT NULL,
    kafka_partition       integer     NOT NULL,
    kafka_offset          bigint      NOT NULL,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS canonflow_supplier_canonical_id ON canonflow_supplier (canonical_id);
CREATE INDEX IF NOT EXISTS canonflow_supplier_updated_at ON canonflow_supplier (updated_at);

CREATE TABLE IF NOT EXISTS canonflow_invoice (
    source                text        NOT NULL,
    stream                text        NOT NULL,
    source_id             text        NOT NULL,
    canonical_id          uuid        NOT NULL,
    modified_at           timestamptz,
    raw_topic             text        NOT NULL,
    raw_partition         integer     NOT NULL,
    raw_offset            bigint      NOT NULL,
    reference_modified_at timestamptz,
    mapping_version       integer     NOT NULL,
    deleted               boolean     NOT NULL DEFAULT false,
    supplier_id           text        NOT NULL,
    cost_center_code      text,
    amount_minor          bigint      NOT NULL,
    currency              char(3)     NOT NULL,
    invoice_date          date        NOT NULL,
    due_date              date,
    status                text        NOT NULL,
    lines                 jsonb       NOT NULL,
    provenance            jsonb       NOT NULL,
    kafka_topic           text        NOT NULL,
    kafka_partition       integer     NOT NULL,
    kafka_offset          bigint      NOT NULL,
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS canonflow_invoice_canonical_id ON canonflow_invoice (canonical_id);
CREATE INDEX IF NOT EXISTS canonflow_invoice_updated_at ON canonflow_invoice (updated_at);
