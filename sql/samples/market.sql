-- "market": a schema of our own for cdctop's "KPIs on any schema" (profiles/own-schema.toml).
-- A small marketplace: order lines (sale) sold by stores in regions, items in subcategories in
-- departments, and shipments in a table partitioned by month.
-- Load into an empty database:   psql postgresql://postgres@127.0.0.1:25432/market -f sql/samples/market.sql
--
-- What it exercises in cdctop:
--   * composite key: sale (order_no, line_no), and shipment (shipment_id, shipped_on);
--   * a three-hop category chain: sale -> item -> subcategory -> department;
--   * a bridge table: store_region (store_id, region_id), sale -> store_region -> region;
--   * a filtered fact: KPIs count sale rows with status <> 'cancelled'; the traffic flips rows in and out;
--   * float columns: sale.discount real, sale.ship_weight_kg and shipment.distance_km double precision;
--   * a table partitioned by date (shipment, one partition per month), published per partition
--     (publish_via_partition_root = false): each partition has its own topic
--     mk.public.shipment_YYYY_MM, and the profile maps them to one table with a `topics` regex;
--     a row whose shipped_on moves to another month is a delete in one topic and a create in another;
--   * REPLICA IDENTITY FULL on item, department, carrier and the first three shipment partitions,
--     DEFAULT (key columns only in a delete) on sale, subcategory, store_region and the others.

CREATE TABLE department (
    dept_id   smallint PRIMARY KEY,
    dept_name text NOT NULL
);

CREATE TABLE subcategory (
    subcat_id   integer PRIMARY KEY,
    subcat_name text NOT NULL,
    dept_id     smallint NOT NULL REFERENCES department (dept_id)
);

CREATE TABLE item (
    sku        text PRIMARY KEY,
    title      text NOT NULL,
    subcat_id  integer NOT NULL REFERENCES subcategory (subcat_id),
    list_price numeric(10,2) NOT NULL
);

CREATE TABLE region (
    region_id   integer PRIMARY KEY,
    region_name text NOT NULL
);

CREATE TABLE store (
    store_id   integer PRIMARY KEY,
    store_name text NOT NULL
);

-- The bridge: which region a store belongs to (one at a time in the data; the key is both columns).
CREATE TABLE store_region (
    store_id  integer NOT NULL REFERENCES store (store_id),
    region_id integer NOT NULL REFERENCES region (region_id),
    PRIMARY KEY (store_id, region_id)
);

CREATE TABLE carrier (
    carrier_code text PRIMARY KEY,
    carrier_name text NOT NULL
);

CREATE TABLE sale (
    order_no       bigint NOT NULL,
    line_no        smallint NOT NULL,
    store_id       integer NOT NULL REFERENCES store (store_id),
    sku            text NOT NULL REFERENCES item (sku),
    qty            integer NOT NULL,
    unit_price     numeric(10,2) NOT NULL,
    discount       real NOT NULL DEFAULT 0,
    ship_weight_kg double precision,
    coupon         numeric(6,2),
    gift_note      text,
    status         text NOT NULL,
    sold_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_no, line_no)
);

CREATE TABLE shipment (
    shipment_id  bigint NOT NULL,
    shipped_on   date NOT NULL,
    order_no     bigint NOT NULL,
    carrier_code text REFERENCES carrier (carrier_code),
    cost         numeric(8,2) NOT NULL,
    distance_km  double precision NOT NULL,
    PRIMARY KEY (shipment_id, shipped_on)
) PARTITION BY RANGE (shipped_on);

CREATE TABLE shipment_2025_01 PARTITION OF shipment FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE shipment_2025_02 PARTITION OF shipment FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE TABLE shipment_2025_03 PARTITION OF shipment FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
CREATE TABLE shipment_2025_04 PARTITION OF shipment FOR VALUES FROM ('2025-04-01') TO ('2025-05-01');
CREATE TABLE shipment_2025_05 PARTITION OF shipment FOR VALUES FROM ('2025-05-01') TO ('2025-06-01');
CREATE TABLE shipment_2025_06 PARTITION OF shipment FOR VALUES FROM ('2025-06-01') TO ('2025-07-01');
-- shipment_2025_07 is created while the traffic runs (scripts/model_samples.py): a new topic appears.

ALTER TABLE item REPLICA IDENTITY FULL;
ALTER TABLE department REPLICA IDENTITY FULL;
ALTER TABLE carrier REPLICA IDENTITY FULL;
ALTER TABLE shipment_2025_01 REPLICA IDENTITY FULL;
ALTER TABLE shipment_2025_02 REPLICA IDENTITY FULL;
ALTER TABLE shipment_2025_03 REPLICA IDENTITY FULL;
-- sale, subcategory, store_region, region, store, shipment_2025_04.. : REPLICA IDENTITY DEFAULT

-- Per partition: changes are published under each partition's own name (one topic per partition).
CREATE PUBLICATION cdctop_mk FOR TABLE department, subcategory, item, region, store, store_region, carrier, sale, shipment
    WITH (publish_via_partition_root = false);
