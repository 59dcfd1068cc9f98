-- The shop schema of cdctop's default profile (profiles/shop.toml) in MySQL/MariaDB types, for
-- Debezium's MySQL connector. The same tables and key columns as sql/shop.sql, so the built-in `shop`
-- profile works unchanged on the topics <prefix>.<database>.<table>.
-- Idempotent: scripts/stack runs it on every `up`; run it yourself with
--   mariadb -h 127.0.0.1 -P 23306 -u cdctop -pcdctop shop < sql/shop-mysql.sql
-- Money is DECIMAL(12,2) (Debezium: a precise decimal, base64 of the unscaled value); DATETIME(3) is
-- io.debezium.time.Timestamp (epoch ms, no zone), TIMESTAMP(3) is ZonedTimestamp, TINYINT(1) a boolean.
-- No ON DELETE CASCADE: MySQL and MariaDB do not write the rows a cascade deletes to the binlog, so
-- Debezium would never see them; the workload deletes an order's lines itself, in the same transaction.

CREATE TABLE IF NOT EXISTS customer (
    customer_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    city        VARCHAR(60) NOT NULL,
    vip         TINYINT(1) NOT NULL DEFAULT 0,
    signed_up   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS product (
    product_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    category   VARCHAR(40) NOT NULL,
    price      DECIMAL(12,2) NOT NULL,
    active     TINYINT(1) NOT NULL DEFAULT 1
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS `transaction` (
    transaction_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id    BIGINT NOT NULL,
    amount         DECIMAL(12,2) NOT NULL,
    status         VARCHAR(16) NOT NULL DEFAULT 'new',
    paid           TINYINT(1) NOT NULL DEFAULT 0,
    created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT transaction_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS transactiondetail (
    detail_id      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    transaction_id BIGINT NOT NULL,
    product_id     BIGINT NOT NULL,
    quantity       INT NOT NULL,
    unit_price     DECIMAL(12,2) NOT NULL,
    KEY transactiondetail_transaction_id (transaction_id),
    CONSTRAINT detail_transaction FOREIGN KEY (transaction_id) REFERENCES `transaction` (transaction_id),
    CONSTRAINT detail_product FOREIGN KEY (product_id) REFERENCES product (product_id)
) ENGINE = InnoDB;

-- Dimension rows, so the first orders have products and customers (only into empty tables).
INSERT INTO customer (name, city, vip)
WITH RECURSIVE g (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50)
SELECT CONCAT('Customer ', n),
       ELT(1 + n % 8, 'Berlin', 'Lisbon', 'Oslo', 'Lyon', 'Turin', 'Porto', 'Gdansk', 'Leeds'),
       n % 7 = 0
FROM g
WHERE NOT EXISTS (SELECT 1 FROM customer LIMIT 1);

INSERT INTO product (name, category, price)
SELECT p.name, p.category, p.price
FROM (
    SELECT 'Espresso beans 1kg' AS name, 'coffee' AS category, 18.90 AS price
    UNION ALL SELECT 'Filter coffee 500g', 'coffee', 9.50
    UNION ALL SELECT 'Green tea 100g', 'tea', 6.20
    UNION ALL SELECT 'Chai blend 250g', 'tea', 8.75
    UNION ALL SELECT 'Ceramic mug', 'kitchen', 12.00
    UNION ALL SELECT 'Pour-over kettle', 'kitchen', 44.99
    UNION ALL SELECT 'Hand grinder', 'kitchen', 59.00
    UNION ALL SELECT 'Oat milk 1l', 'grocery', 2.49
    UNION ALL SELECT 'Dark chocolate', 'grocery', 3.99
    UNION ALL SELECT 'Paper filters x100', 'grocery', 4.25
    UNION ALL SELECT 'Travel tumbler', 'accessories', 24.50
    UNION ALL SELECT 'Gift card 25', 'gifts', 25.00
) AS p
WHERE NOT EXISTS (SELECT 1 FROM product LIMIT 1);
