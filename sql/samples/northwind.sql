-- Northwind-shaped sample schema for cdctop's "KPIs on any schema" (profiles/northwind.toml).
-- Written for cdctop: the table and column names and types follow the well-known Northwind sample
-- database (as in its PostgreSQL port), but this DDL and its data are our own; the rows are generated
-- by scripts/model_samples.py (seeded), not copied from any Northwind distribution.
-- Load into an empty database:   psql postgresql://postgres@127.0.0.1:25432/northwind -f sql/samples/northwind.sql
--
-- What it exercises in cdctop:
--   * `real` prices and discounts (14.4, 0.15, 0.05): Debezium sends FLOAT32 as JSON numbers; the
--     ground truth reads them as PostgreSQL prints them (col::text::numeric).
--   * order_details has a composite primary key (order_id, product_id): the Kafka record key carries both.
--   * REPLICA IDENTITY: orders and categories FULL (a delete carries the whole old row), products,
--     shippers and order_details DEFAULT (a delete carries only the key columns).
--   * ON UPDATE CASCADE from orders to order_details: renumbering an order is one key change in
--     orders and one in each of its lines (PostgreSQL logs cascaded rows; Debezium emits
--     delete + tombstone + create for every key change).

CREATE TABLE categories (
    category_id   smallint PRIMARY KEY,
    category_name varchar(15) NOT NULL,
    description   text
);

CREATE TABLE shippers (
    shipper_id   smallint PRIMARY KEY,
    company_name varchar(40) NOT NULL,
    phone        varchar(24)
);

CREATE TABLE products (
    product_id        smallint PRIMARY KEY,
    product_name      varchar(40) NOT NULL,
    supplier_id       smallint,
    category_id       smallint REFERENCES categories (category_id),
    quantity_per_unit varchar(20),
    unit_price        real,
    units_in_stock    smallint,
    units_on_order    smallint,
    reorder_level     smallint,
    discontinued      integer NOT NULL
);

CREATE TABLE orders (
    order_id      smallint PRIMARY KEY,
    customer_id   varchar(5),
    employee_id   smallint,
    order_date    date,
    required_date date,
    shipped_date  date,
    ship_via      smallint REFERENCES shippers (shipper_id),
    freight       real,
    ship_name     varchar(40),
    ship_city     varchar(15),
    ship_country  varchar(15)
);

CREATE TABLE order_details (
    order_id   smallint NOT NULL REFERENCES orders (order_id) ON UPDATE CASCADE,
    product_id smallint NOT NULL REFERENCES products (product_id),
    unit_price real NOT NULL,
    quantity   smallint NOT NULL,
    discount   real NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

ALTER TABLE orders REPLICA IDENTITY FULL;
ALTER TABLE categories REPLICA IDENTITY FULL;
-- products, shippers, order_details: REPLICA IDENTITY DEFAULT (the primary key)

CREATE PUBLICATION cdctop_nw FOR TABLE categories, shippers, products, orders, order_details;
