-- The shop schema of cdctop's default profile (profiles/shop.toml), ready for Debezium.
-- Idempotent: scripts/stack runs it on every `up`; run it yourself with
--   psql postgresql://postgres@127.0.0.1:25432/shop -f sql/shop.sql
-- Money is numeric(12,2): Debezium sends it as a precise decimal, cdctop keeps it exact.

CREATE TABLE IF NOT EXISTS customer (
    customer_id bigserial PRIMARY KEY,
    name        text NOT NULL,
    city        text NOT NULL
);

CREATE TABLE IF NOT EXISTS product (
    product_id bigserial PRIMARY KEY,
    name       text NOT NULL,
    category   text NOT NULL,
    price      numeric(12,2) NOT NULL
);

CREATE TABLE IF NOT EXISTS "transaction" (
    transaction_id bigserial PRIMARY KEY,
    customer_id    bigint NOT NULL REFERENCES customer (customer_id),
    amount         numeric(12,2) NOT NULL,
    status         text NOT NULL DEFAULT 'new',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS transactiondetail (
    detail_id      bigserial PRIMARY KEY,
    -- ON DELETE CASCADE: deleting an order deletes its lines, and Debezium emits a delete for each.
    transaction_id bigint NOT NULL REFERENCES "transaction" (transaction_id) ON DELETE CASCADE,
    product_id     bigint NOT NULL REFERENCES product (product_id),
    quantity       int NOT NULL,
    unit_price     numeric(12,2) NOT NULL
);
CREATE INDEX IF NOT EXISTS transactiondetail_transaction_id ON transactiondetail (transaction_id);

-- Whole old rows in updates and deletes of the fact tables (cdctop can also work without: it
-- remembers each key's contribution, but a full before-image makes every event self-contained).
ALTER TABLE "transaction" REPLICA IDENTITY FULL;
ALTER TABLE transactiondetail REPLICA IDENTITY FULL;

-- Debezium's pgoutput publication; the connector uses it with publication.autocreate.mode=disabled.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'cdctop_shop') THEN
        CREATE PUBLICATION cdctop_shop FOR TABLE customer, product, "transaction", transactiondetail;
    END IF;
END
$$;

-- Dimension rows, so the first orders have products and customers (only into empty tables).
INSERT INTO customer (name, city)
SELECT 'Customer ' || g, (ARRAY['Berlin', 'Lisbon', 'Oslo', 'Lyon', 'Turin', 'Porto', 'Gdansk', 'Leeds'])[1 + g % 8]
FROM generate_series(1, 50) AS g
WHERE NOT EXISTS (SELECT 1 FROM customer);

INSERT INTO product (name, category, price)
SELECT p.name, p.category, p.price
FROM (VALUES
    ('Espresso beans 1kg', 'coffee', 18.90), ('Filter coffee 500g', 'coffee', 9.50),
    ('Green tea 100g', 'tea', 6.20), ('Chai blend 250g', 'tea', 8.75),
    ('Ceramic mug', 'kitchen', 12.00), ('Pour-over kettle', 'kitchen', 44.99),
    ('Hand grinder', 'kitchen', 59.00), ('Oat milk 1l', 'grocery', 2.49),
    ('Dark chocolate', 'grocery', 3.99), ('Paper filters x100', 'grocery', 4.25),
    ('Travel tumbler', 'accessories', 24.50), ('Gift card 25', 'gifts', 25.00)
) AS p (name, category, price)
WHERE NOT EXISTS (SELECT 1 FROM product);
