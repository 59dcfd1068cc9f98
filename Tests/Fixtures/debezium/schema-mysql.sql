-- The MySQL-flavoured capture database of the shopmy*.shopfx.* samples (scripts/capture-mysql-samples).
-- MariaDB 10.11 standing in for MySQL (reports 5.7.19), binlog ROW, Debezium 3.6.3 MySQL connector.
DROP DATABASE IF EXISTS shopfx;
CREATE DATABASE shopfx;
USE shopfx;
CREATE TABLE customer (
    id          BIGINT NOT NULL PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    vip         TINYINT(1) NOT NULL DEFAULT 0,
    birthday    DATE NULL,
    signed_up   DATETIME(3) NOT NULL,
    credit      DECIMAL(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE product (
    id       BIGINT NOT NULL PRIMARY KEY,
    name     VARCHAR(100) NOT NULL,
    category VARCHAR(40) NOT NULL,
    price    DECIMAL(14,2) NOT NULL
);
CREATE TABLE `transaction` (
    id          BIGINT NOT NULL PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    amount      DECIMAL(12,2) NOT NULL,
    status      VARCHAR(16) NOT NULL,
    paid        TINYINT(1) NOT NULL DEFAULT 0,
    created_at  DATETIME(3) NOT NULL,
    updated_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    pickup      TIME(3) NULL
);
CREATE TABLE transactiondetail (
    id             BIGINT NOT NULL PRIMARY KEY,
    transaction_id BIGINT NOT NULL,
    product_id     BIGINT NOT NULL,
    quantity       INT NOT NULL,
    unit_price     DECIMAL(12,2) NOT NULL
);
INSERT INTO customer VALUES (1, 'Alice', 1, '1990-02-03', '2026-01-02 03:04:05.678', -0.01), (2, 'Bob', 0, NULL, '2026-01-02 03:04:06.000', 1000.50);
INSERT INTO product VALUES (1, 'Product 1', 'coffee', 19.99), (2, 'Product 2', 'tea', 5.00), (3, 'Product 3', 'kitchen', 7.25);
