#!/usr/bin/env python3
"""The source side of cdctop's "KPIs on any schema" end-to-end proof (scripts/stack-e2e-model).

Three sample schemas on the running stack (scripts/stack up), each with its own database, Debezium
connector and topic prefix:
    northwind  PostgreSQL, database northwind, topics nw.public.*      profiles/northwind.toml
    sakila     MariaDB (MySQL connector), database sakila, topics sk.sakila.* (+ schema changes on sk)
                                                                      profiles/sakila.toml
    market     PostgreSQL, database market, topics mk.public.* (one per shipment partition)
                                                                      profiles/own-schema.toml
DDL in sql/samples/<schema>.sql (sakila-mysql.sql), ground-truth SQL in sql/samples/<schema>-truth.sql.

Python standard library only; SQL goes through the psql and mariadb command-line clients (one long-lived
client per traffic stream, statements piped in), Kafka is read with kcat (librdkafka 2.16 from .run/lib).

    python3 scripts/model_samples.py e2e [--source-only] [--seconds N] [--rate R]   (what stack-e2e-model runs)
    python3 scripts/model_samples.py setup                  fresh databases, seed data, topics, connectors
    python3 scripts/model_samples.py traffic SCHEMA --seconds N [--rate R] [--seed S]
    python3 scripts/model_samples.py truth SCHEMA           the ground truth as JSON
    python3 scripts/model_samples.py check-topics SCHEMA    topics materialised == source tables (Debezium side)
Every command reads the stack's addresses from .run/stack/env (scripts/stack up writes it).
"""
import argparse
import base64
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import stack_helpers

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".run" / "stack" / "model"
STARTED = time.time()
# Doubles whose shortest text has more than 9 decimals (0.30000000000000004, 141.4213562373095, 31.41592653589793)
# are part of the traffic unless CDCTOP_MODEL_PLAIN_FLOATS=1 (or --plain-floats): Debezium sends them as
# such texts and the profile contract says values are exact.
PLAIN_FLOATS = os.environ.get("CDCTOP_MODEL_PLAIN_FLOATS") == "1"


def log(message):
    print(f"[{time.time() - STARTED:6.1f}s] {message}", flush=True)


class Failure(Exception):
    pass


# --- the stack's addresses --------------------------------------------------------------------------
# From the environment, else .run/stack/env, read on first use (scripts/stack_helpers.py).

env = stack_helpers.setting


def kafka_env():
    return stack_helpers.env


# --- SQL clients ------------------------------------------------------------------------------------

NULL_MARK = "\x01NULL\x01"


class Source:
    """One database: `kind` pg or mysql. query() runs one statement and returns rows of text (None = NULL)."""

    def __init__(self, kind, database):
        self.kind, self.database = kind, database

    def client(self, database=None, root=False):
        database = self.database if database is None else database
        if self.kind == "pg":
            url = urllib.parse.urlparse(env("CDCTOP_STACK_PG"))
            return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"postgresql://{url.username}@{url.hostname}:{url.port}/{database}"]
        if root:
            return ["mariadb", "--no-defaults", f"--socket={ROOT}/.run/stack/mariadb/mysqld.sock", "-u", "root", *([database] if database else [])]
        url = urllib.parse.urlparse(env("CDCTOP_STACK_MYSQL"))
        return ["mariadb", "--no-defaults", "--protocol=TCP", "-h", url.hostname, "-P", str(url.port),
                "-u", url.username, f"-p{url.password}", database]

    def query(self, sql, database=None, root=False):
        if self.kind == "pg":
            command = self.client(database) + ["-A", "-t", "-F", "\x1f", "-P", f"null={NULL_MARK}", "-c", sql]
        else:
            command = self.client(database, root) + ["--batch", "--skip-column-names", "-e", sql]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise Failure(f"{self.kind} {database or self.database}: `{sql[:200]}` failed: {done.stderr.strip()}")
        rows = []
        for line in done.stdout.splitlines():
            if self.kind == "pg":
                rows.append([None if v == NULL_MARK else v for v in line.split("\x1f")])
            else:
                rows.append([None if v == "NULL" else v for v in line.split("\t")])
        return rows

    def run_file(self, path, database=None, root=False):
        with open(path) as sql:
            done = subprocess.run(self.client(database, root), stdin=sql, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise Failure(f"{path} on {self.kind} {database or self.database} failed: {done.stderr.strip()[:2000]}")

    def run_script(self, text, database=None, root=False):
        done = subprocess.run(self.client(database, root), input=text, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise Failure(f"SQL on {self.kind} {database or self.database} failed: {done.stderr.strip()[:2000]}")


class Session:
    """A long-lived psql/mariadb client; transactions are piped in and applied in order."""

    def __init__(self, source, name):
        WORK.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.err_path = WORK / f"{name}.sql-errors"
        self.process = subprocess.Popen(source.client(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=open(self.err_path, "w"), text=True)

    def transaction(self, statements):
        if self.process.poll() is not None:
            raise Failure(f"the {self.name} SQL client exited ({self.process.returncode}): {self.err_path.read_text().strip()[:1500]}")
        self.process.stdin.write("BEGIN;\n" + "".join(s.rstrip(";\n") + ";\n" for s in statements) + "COMMIT;\n")
        self.process.stdin.flush()

    def close(self, timeout=120):
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Failure(f"the {self.name} SQL client did not finish within {timeout}s")
        if self.process.returncode != 0:
            raise Failure(f"the {self.name} SQL client failed ({self.process.returncode}): {self.err_path.read_text().strip()[:1500]}")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def q(value):
    """A SQL literal: None, int, Decimal/str numbers (N(...)), text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, Raw):
        return value.sql
    return "'" + str(value).replace("'", "''") + "'"


class Raw:
    def __init__(self, sql):
        self.sql = sql


def money(rng, low, high, step="0.01"):
    step = Decimal(step)
    return (Decimal(rng.randint(int(Decimal(low) / step), int(Decimal(high) / step))) * step).quantize(step)


def insert(table, row):
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(q(v) for v in row.values())})"


# --- the workloads ----------------------------------------------------------------------------------
# Each model keeps its own picture of the rows it wrote (it is the only writer), so every statement it
# emits is valid and no client ever has to read back. seed() -> statements; step() -> one transaction.

class Northwind:
    CATEGORIES = ["Beverages", "Condiments", "Confections", "Dairy Products", "Grains/Cereals", "Meat/Poultry", "Produce", "Seafood"]
    COUNTRIES = ["Germany", "USA", "Brazil", "France", "UK", "Venezuela", "Austria", "Sweden", "Canada", "Mexico", "Italy", "Spain"]
    SHIPPERS = {1: "Speedy Express", 2: "United Package", 3: "Federal Shipping"}
    DISCOUNTS = [Decimal("0")] * 5 + [Decimal(d) for d in ("0.05", "0.1", "0.15", "0.2", "0.25")]

    def __init__(self, rng):
        self.rng = rng
        self.categories, self.products, self.orders, self.lines = {}, {}, {}, {}
        self.next_order, self.renames = 10248, 0

    def price(self):
        return self.rng.choice([Decimal("18"), Decimal("19"), Decimal("10"), Decimal("22"), Decimal("21.35"), Decimal("25"),
                                Decimal("30"), Decimal("40"), Decimal("97"), Decimal("31"), Decimal("23.25"), Decimal("15.5"),
                                Decimal("17.45"), Decimal("39"), Decimal("62.5"), Decimal("9.2"), Decimal("81"), Decimal("9.65"),
                                Decimal("14"), Decimal("12.5"), Decimal("32.8"), Decimal("7.75"), Decimal("263.5"), Decimal("4.5"),
                                money(self.rng, "2.5", "120", "0.05")])

    def line_price(self, product):
        price = self.products[product]["price"]
        # Like Northwind's older orders: 80 % of today's price (18 -> 14.4).
        return (price * Decimal("0.8")).quantize(Decimal("0.01")) if self.rng.random() < 0.4 else price

    def seed(self):
        rng, out = self.rng, []
        for i, name in enumerate(self.CATEGORIES, start=1):
            self.categories[i] = name
            out.append(insert("categories", {"category_id": i, "category_name": name, "description": f"{name} of every kind"}))
        for i, name in self.SHIPPERS.items():
            out.append(insert("shippers", {"shipper_id": i, "company_name": name, "phone": f"(503) 555-{1000 + i * 1111}"}))
        for p in range(1, 78):
            price = Decimal("18") if p == 1 else self.price()
            self.products[p] = {"category": rng.randint(1, 8), "price": price, "discontinued": int(rng.random() < 0.1)}
            out.append(insert("products", {"product_id": p, "product_name": f"Product {p:02d}", "supplier_id": rng.randint(1, 29),
                                           "category_id": self.products[p]["category"], "quantity_per_unit": "10 boxes x 20 bags",
                                           "unit_price": price, "units_in_stock": rng.randint(0, 120), "units_on_order": 0,
                                           "reorder_level": 10, "discontinued": self.products[p]["discontinued"]}))
        for _ in range(830):
            out += self.new_order(date(1996, 7, 4) + timedelta(days=rng.randint(0, 660)), shipped=rng.random() < 0.95)
        # The texts the report looks for: 14.4 (18 x 0.8), discounts 0.15 and 0.05.
        out += self.new_order(date(1996, 7, 4), shipped=True, fixed=[(1, Decimal("14.4"), 12, Decimal("0.15")),
                                                                      (2, Decimal("15.2"), 10, Decimal("0.05"))])
        return out

    def new_order(self, day=None, shipped=False, fixed=None):
        rng = self.rng
        oid = self.next_order
        self.next_order += 1
        day = day or date(1998, 5, 6)
        order = {"country": rng.choice(self.COUNTRIES), "freight": None if rng.random() < 0.02 else money(rng, "0.02", "1000"),
                 "ship_via": None if rng.random() < 0.05 else rng.randint(1, 3), "shipped": shipped}
        self.orders[oid] = order
        out = [insert("orders", {"order_id": oid, "customer_id": "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVW") for _ in range(5)),
                                 "employee_id": rng.randint(1, 9), "order_date": str(day), "required_date": str(day + timedelta(days=28)),
                                 "shipped_date": str(day + timedelta(days=rng.randint(1, 30))) if shipped else None,
                                 "ship_via": order["ship_via"], "freight": order["freight"], "ship_name": "Ship to",
                                 "ship_city": "City", "ship_country": order["country"]})]
        lines = fixed or [(p, None, rng.randint(1, 60), rng.choice(self.DISCOUNTS))
                          for p in rng.sample(sorted(self.products), rng.randint(1, 4))]
        for product, price, quantity, discount in lines:
            price = price if price is not None else self.line_price(product)
            self.lines[(oid, product)] = {"price": price, "quantity": quantity, "discount": discount}
            out.append(insert("order_details", {"order_id": oid, "product_id": product, "unit_price": price,
                                                "quantity": quantity, "discount": discount}))
        return out

    def step(self, tick):
        rng = self.rng
        choice = rng.random()
        if choice < 0.30 or not self.lines:
            return self.new_order(shipped=rng.random() < 0.3)
        line = rng.choice(sorted(self.lines))
        where = f"order_id = {line[0]} AND product_id = {line[1]}"
        if choice < 0.42:
            row = self.lines[line]
            row["quantity"], row["discount"] = rng.randint(1, 80), rng.choice(self.DISCOUNTS)
            return [f"UPDATE order_details SET quantity = {row['quantity']}, discount = {row['discount']} WHERE {where}"]
        if choice < 0.47:
            self.lines[line]["price"] = self.line_price(line[1])
            return [f"UPDATE order_details SET unit_price = {self.lines[line]['price']} WHERE {where}"]
        if choice < 0.53:   # a key change: Debezium emits delete + tombstone + create
            free = [p for p in self.products if (line[0], p) not in self.lines]
            new = rng.choice(free)
            self.lines[(line[0], new)] = self.lines.pop(line)
            return [f"UPDATE order_details SET product_id = {new} WHERE {where}"]
        if choice < 0.58:
            del self.lines[line]
            return [f"DELETE FROM order_details WHERE {where}"]
        oid = rng.choice(sorted(self.orders))
        order = self.orders[oid]
        if choice < 0.62:
            for key in [k for k in self.lines if k[0] == oid]:
                del self.lines[key]
            del self.orders[oid]
            return [f"DELETE FROM order_details WHERE order_id = {oid}", f"DELETE FROM orders WHERE order_id = {oid}"]
        if choice < 0.72:
            what = rng.randint(0, 3)
            if what == 0:
                order["freight"] = None if rng.random() < 0.1 else money(rng, "0.02", "1000")
                return [f"UPDATE orders SET freight = {q(order['freight'])} WHERE order_id = {oid}"]
            if what == 1:
                order["country"] = rng.choice(self.COUNTRIES)
                return [f"UPDATE orders SET ship_country = {q(order['country'])} WHERE order_id = {oid}"]
            if what == 2:
                order["ship_via"] = None if rng.random() < 0.2 else rng.randint(1, 3)
                return [f"UPDATE orders SET ship_via = {q(order['ship_via'])} WHERE order_id = {oid}"]
            order["shipped"] = not order["shipped"]
            return [f"UPDATE orders SET shipped_date = {'DATE ' + q('1998-05-20') if order['shipped'] else 'NULL'} WHERE order_id = {oid}"]
        if choice < 0.75:   # renumber: a key change in orders and, by ON UPDATE CASCADE, in every line
            new = self.next_order
            self.next_order += 1
            self.orders[new] = self.orders.pop(oid)
            for key in [k for k in self.lines if k[0] == oid]:
                self.lines[(new, key[1])] = self.lines.pop(key)
            return [f"UPDATE orders SET order_id = {new} WHERE order_id = {oid}"]
        product = rng.choice(sorted(self.products))
        if choice < 0.84:   # a product moves category
            self.products[product]["category"] = rng.choice(sorted(self.categories))
            return [f"UPDATE products SET category_id = {self.products[product]['category']} WHERE product_id = {product}"]
        if choice < 0.88:   # a category is renamed
            category = rng.choice(sorted(self.categories))
            self.renames += 1
            name = f"{self.CATEGORIES[(category - 1) % 8][:10]} {self.renames}"
            self.categories[category] = name
            return [f"UPDATE categories SET category_name = {q(name)} WHERE category_id = {category}"]
        if choice < 0.92:
            self.products[product]["discontinued"] ^= 1
            return [f"UPDATE products SET discontinued = {self.products[product]['discontinued']} WHERE product_id = {product}"]
        if choice < 0.97:
            self.products[product]["price"] = self.price()
            return [f"UPDATE products SET unit_price = {self.products[product]['price']} WHERE product_id = {product}"]
        if len(self.categories) < 14:   # a new category, and a product moved into it
            category = max(self.categories) + 1
            self.categories[category] = f"New line {category}"
            self.products[product]["category"] = category
            return [insert("categories", {"category_id": category, "category_name": self.categories[category], "description": None}),
                    f"UPDATE products SET category_id = {category} WHERE product_id = {product}"]
        return self.new_order()

    def finish(self, repair):
        return []


class Sakila:
    CATEGORIES = ["Action", "Animation", "Children", "Classics", "Comedy", "Documentary", "Drama", "Family",
                  "Foreign", "Games", "Horror", "Music", "New", "Sci-Fi", "Sports", "Travel"]
    WORDS = ["ACADEMY", "DINOSAUR", "ACE", "GOLDFINGER", "ADAPTATION", "HOLES", "AFFAIR", "PREJUDICE", "AFRICAN", "EGG",
             "AGENT", "TRUMAN", "AIRPLANE", "SIERRA", "ALADDIN", "CALENDAR", "ALAMO", "VIDEOTAPE", "ALASKA", "PHANTOM"]
    AMOUNTS = [Decimal(a) for a in ("0.99", "1.99", "2.99", "3.99", "4.99", "5.99", "6.99", "7.99", "8.99", "9.99", "10.99", "11.99", "0.00")]

    def __init__(self, rng):
        self.rng = rng
        self.categories, self.films, self.film_category, self.inventory, self.rentals, self.payments = {}, {}, {}, {}, {}, {}
        self.next_rental, self.next_payment, self.renames = 1, 1, 0
        self.clock = datetime(2005, 5, 24, 22, 53, 30)

    def tick_clock(self):
        self.clock += timedelta(seconds=self.rng.randint(30, 4000))
        return self.clock.strftime("%Y-%m-%d %H:%M:%S")

    def seed(self):
        rng, out = self.rng, []
        for i, name in enumerate(self.CATEGORIES, start=1):
            self.categories[i] = name
            out.append(insert("category", {"category_id": i, "name": name}))
        for f in range(1, 201):
            out += self.new_film(f)
        for inv in range(1, 601):
            self.inventory[inv] = {"film": rng.randint(1, 200)}
            out.append(insert("inventory", {"inventory_id": inv, "film_id": self.inventory[inv]["film"], "store_id": 1 + inv % 2}))
        for _ in range(1500):
            out += self.new_rental(returned=rng.random() < 0.9)
        for _ in range(8):
            out += self.payment_without_rental()
        return out

    def new_film(self, film):
        rng = self.rng
        rate = rng.choice([Decimal("0.99"), Decimal("2.99"), Decimal("4.99")])
        category = rng.randint(1, 16)
        self.films[film] = {"rate": rate}
        self.film_category[film] = category
        return [insert("film", {"film_id": film, "title": f"{rng.choice(self.WORDS)} {rng.choice(self.WORDS)} {film}",
                                "release_year": 2006, "rental_duration": rng.randint(3, 7), "rental_rate": rate,
                                "replacement_cost": money(rng, "9.99", "29.99"), "rating": rng.choice(["G", "PG", "PG-13", "R", "NC-17"])}),
                insert("film_category", {"film_id": film, "category_id": category})]

    def new_rental(self, returned=False):
        rng = self.rng
        rid, pid = self.next_rental, self.next_payment
        self.next_rental += 1
        self.next_payment += 1
        when = self.tick_clock()
        self.rentals[rid] = {"inventory": rng.choice(sorted(self.inventory)), "returned": returned}
        self.payments[pid] = {"rental": rid, "amount": rng.choice(self.AMOUNTS)}
        return [insert("rental", {"rental_id": rid, "rental_date": when, "inventory_id": self.rentals[rid]["inventory"],
                                  "customer_id": rng.randint(1, 599), "return_date": when if returned else None, "staff_id": rng.randint(1, 3)}),
                insert("payment", {"payment_id": pid, "customer_id": rng.randint(1, 599), "staff_id": rng.randint(1, 3),
                                   "rental_id": rid, "amount": self.payments[pid]["amount"], "payment_date": when})]

    def payment_without_rental(self):
        pid = self.next_payment
        self.next_payment += 1
        self.payments[pid] = {"rental": None, "amount": self.rng.choice(self.AMOUNTS)}
        return [insert("payment", {"payment_id": pid, "customer_id": self.rng.randint(1, 599), "staff_id": self.rng.randint(1, 3),
                                   "rental_id": None, "amount": self.payments[pid]["amount"], "payment_date": self.tick_clock()})]

    def step(self, tick):
        rng = self.rng
        choice = rng.random()
        if choice < 0.30 or not self.payments:
            return self.new_rental()
        if choice < 0.32:
            return self.payment_without_rental()
        payment = rng.choice(sorted(self.payments))
        if choice < 0.40:
            self.payments[payment]["amount"] = rng.choice(self.AMOUNTS)
            return [f"UPDATE payment SET amount = {self.payments[payment]['amount']} WHERE payment_id = {payment}"]
        if choice < 0.45:
            del self.payments[payment]
            return [f"DELETE FROM payment WHERE payment_id = {payment}"]
        if choice < 0.48:   # a key change: delete + tombstone + create
            new = self.next_payment
            self.next_payment += 1
            self.payments[new] = self.payments.pop(payment)
            return [f"UPDATE payment SET payment_id = {new} WHERE payment_id = {payment}"]
        if choice < 0.53:   # the payment moves to another rental (or loses / gains one)
            rental = None if rng.random() < 0.1 else rng.choice(sorted(self.rentals))
            self.payments[payment]["rental"] = rental
            return [f"UPDATE payment SET rental_id = {q(rental)} WHERE payment_id = {payment}"]
        rental = rng.choice(sorted(self.rentals))
        if choice < 0.61:
            self.rentals[rental]["returned"] = not self.rentals[rental]["returned"]
            return [f"UPDATE rental SET return_date = {q(self.tick_clock()) if self.rentals[rental]['returned'] else 'NULL'} WHERE rental_id = {rental}"]
        if choice < 0.64:   # the rental was of another copy
            self.rentals[rental]["inventory"] = rng.choice(sorted(self.inventory))
            return [f"UPDATE rental SET inventory_id = {self.rentals[rental]['inventory']} WHERE rental_id = {rental}"]
        if choice < 0.66:   # a rental deleted; its payments keep no rental (Sakila would SET NULL by cascade)
            out = []
            for pid, row in self.payments.items():
                if row["rental"] == rental:
                    row["rental"] = None
                    out.append(f"UPDATE payment SET rental_id = NULL WHERE payment_id = {pid}")
            del self.rentals[rental]
            return out + [f"DELETE FROM rental WHERE rental_id = {rental}"]
        if choice < 0.70:   # a copy is relabelled as another film
            inv = rng.choice(sorted(self.inventory))
            self.inventory[inv]["film"] = rng.choice(sorted(self.films))
            return [f"UPDATE inventory SET film_id = {self.inventory[inv]['film']} WHERE inventory_id = {inv}"]
        film = rng.choice(sorted(self.films))
        old = self.film_category[film]
        if choice < 0.76:   # the link row replaced: delete one, create another, in one transaction
            new = rng.choice([c for c in self.categories if c != old])
            self.film_category[film] = new
            return ([f"DELETE FROM film_category WHERE film_id = {film} AND category_id = {old}"] if old else []) + \
                   [insert("film_category", {"film_id": film, "category_id": new})]
        if choice < 0.79 and old:   # the link row deleted (re-added by a later step or at the end)
            self.film_category[film] = None
            return [f"DELETE FROM film_category WHERE film_id = {film} AND category_id = {old}"]
        if choice < 0.83:   # re-add a deleted link row
            missing = [f for f, c in self.film_category.items() if c is None]
            if missing:
                film = rng.choice(missing)
                self.film_category[film] = rng.choice(sorted(self.categories))
                return [insert("film_category", {"film_id": film, "category_id": self.film_category[film]})]
            return self.new_rental()
        if choice < 0.87:
            category = rng.choice(sorted(self.categories))
            self.renames += 1
            self.categories[category] = f"{self.CATEGORIES[category - 1]} {self.renames}"
            return [f"UPDATE category SET name = {q(self.categories[category])} WHERE category_id = {category}"]
        if choice < 0.92:
            self.films[film]["rate"] = rng.choice([Decimal("0.99"), Decimal("2.99"), Decimal("4.99"), Decimal("1.49")])
            return [f"UPDATE film SET rental_rate = {self.films[film]['rate']} WHERE film_id = {film}"]
        if choice < 0.95:   # a new film with a copy in a store
            new = max(self.films) + 1
            inv = max(self.inventory) + 1
            out = self.new_film(new)
            self.inventory[inv] = {"film": new}
            return out + [insert("inventory", {"inventory_id": inv, "film_id": new, "store_id": rng.randint(1, 2)})]
        return self.new_rental()

    def finish(self, repair):
        if not repair:
            return []
        out = []
        for film, category in self.film_category.items():
            if category is None:
                self.film_category[film] = self.rng.choice(sorted(self.categories))
                out.append(insert("film_category", {"film_id": film, "category_id": self.film_category[film]}))
        return out


class Market:
    DEPARTMENTS = {1: "Home", 2: "Garden", 3: "Electronics", 4: "Toys"}
    REGIONS = {1: "North", 2: "South", 3: "East", 4: "West"}
    CARRIERS = {"PX": "Parcel Express", "RL": "RoadLine", "SW": "Swift Freight"}
    STATUSES = ["pending", "paid", "shipped", "cancelled"]
    DISCOUNTS = [Decimal("0")] * 4 + [Decimal(d) for d in ("0.05", "0.1", "0.15", "0.25", "0.3")]
    FIRST_MONTHS = 6
    NEW_PARTITION_TICK = 120     # shipment_2025_07 is created at this traffic step of the first round

    def __init__(self, rng):
        self.rng = rng
        self.depts, self.subcats, self.items, self.store_region, self.carriers = {}, {}, {}, {}, {}
        self.sales, self.shipments = {}, {}
        self.months = self.FIRST_MONTHS
        self.next_order, self.next_shipment, self.renames = 1, 1, 0

    def weight(self):
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            return None
        if r < 0.15 and not PLAIN_FLOATS:   # values whose double has a long shortest text
            return Raw(rng.choice(["0.1::float8 + 0.2::float8", "1.1::float8 * 3", "0.7::float8 + 0.1::float8", "2.675::float8"]))
        return Decimal(rng.randint(50, 30000)) / 1000

    def distance(self):
        r = self.rng.random()
        if r < 0.05:   # exponent forms in Debezium's JSON (1.0E-5, 1.23456789E7), and long texts
            return Raw(self.rng.choice(["1e-5::float8", "12345678.9::float8"] + ([] if PLAIN_FLOATS else ["sqrt(2::float8) * 100", "pi() * 10"])))
        return Decimal(self.rng.randint(10, 50000)) / 10

    def seed(self):
        rng, out = self.rng, []
        for d, name in self.DEPARTMENTS.items():
            self.depts[d] = name
            out.append(insert("department", {"dept_id": d, "dept_name": name}))
        for s in range(1, 13):
            self.subcats[s] = 1 + (s - 1) // 3
            out.append(insert("subcategory", {"subcat_id": s, "subcat_name": f"Subcategory {s}", "dept_id": self.subcats[s]}))
        for i in range(1, 151):
            sku = f"SKU-{i:05d}"
            self.items[sku] = {"subcat": rng.randint(1, 12), "list_price": money(rng, "1", "250")}
            out.append(insert("item", {"sku": sku, "title": f"Item {i}", "subcat_id": self.items[sku]["subcat"],
                                       "list_price": self.items[sku]["list_price"]}))
        for r, name in self.REGIONS.items():
            out.append(insert("region", {"region_id": r, "region_name": name}))
        for s in range(1, 9):
            self.store_region[s] = 1 + (s - 1) % 4
            out.append(insert("store", {"store_id": s, "store_name": f"Store {s}"}))
            out.append(insert("store_region", {"store_id": s, "region_id": self.store_region[s]}))
        for code, name in self.CARRIERS.items():
            self.carriers[code] = name
            out.append(insert("carrier", {"carrier_code": code, "carrier_name": name}))
        for _ in range(600):
            out += self.new_order(rng.choice(self.STATUSES))
        for _ in range(400):
            out += self.new_shipment()
        return out

    def new_order(self, status=None):
        rng = self.rng
        order = self.next_order
        self.next_order += 1
        out = []
        for line in range(1, rng.randint(1, 3) + 1):
            row = {"store": rng.randint(1, 8), "sku": rng.choice(sorted(self.items)), "qty": rng.randint(1, 9),
                   "status": status or rng.choice(["pending", "paid"])}
            self.sales[(order, line)] = row
            out.append(insert("sale", {"order_no": order, "line_no": line, "store_id": row["store"], "sku": row["sku"],
                                       "qty": row["qty"], "unit_price": money(rng, "0.5", "300"), "discount": rng.choice(self.DISCOUNTS),
                                       "ship_weight_kg": self.weight(), "coupon": None if rng.random() < 0.7 else money(rng, "1", "30", "0.5"),
                                       "gift_note": None if rng.random() < 0.8 else "Happy birthday", "status": row["status"]}))
        return out

    def month_day(self):
        month = self.rng.randint(1, self.months)
        return date(2025, month, self.rng.randint(1, 28))

    def new_shipment(self):
        rng = self.rng
        sid = self.next_shipment
        self.next_shipment += 1
        key = (sid, self.month_day())
        self.shipments[key] = {"carrier": None if rng.random() < 0.05 else rng.choice(sorted(self.carriers))}
        return [insert("shipment", {"shipment_id": sid, "shipped_on": str(key[1]), "order_no": rng.randint(1, max(1, self.next_order - 1)),
                                    "carrier_code": self.shipments[key]["carrier"], "cost": money(rng, "2", "400"),
                                    "distance_km": self.distance()})]

    def step(self, tick):
        rng = self.rng
        out = []
        if self.months == self.FIRST_MONTHS and tick >= self.NEW_PARTITION_TICK:
            # A new partition while the traffic runs: a new topic, mapped to shipment by the profile's regex.
            self.months += 1
            out = ["CREATE TABLE shipment_2025_07 PARTITION OF shipment FOR VALUES FROM ('2025-07-01') TO ('2025-08-01')"]
        return out + self.change(rng.random())

    def change(self, choice):
        rng = self.rng
        if choice < 0.22 or not self.sales:
            return self.new_order()
        key = rng.choice(sorted(self.sales))
        row = self.sales[key]
        where = f"order_no = {key[0]} AND line_no = {key[1]}"
        if choice < 0.32:   # in and out of the filter status <> 'cancelled'
            row["status"] = "paid" if row["status"] == "cancelled" else "cancelled"
            return [f"UPDATE sale SET status = {q(row['status'])} WHERE {where}"]
        if choice < 0.37:
            row["status"] = {"pending": "paid", "paid": "shipped"}.get(row["status"], row["status"])
            return [f"UPDATE sale SET status = {q(row['status'])} WHERE {where}"]
        if choice < 0.45:
            what = rng.randint(0, 3)
            if what == 0:
                return [f"UPDATE sale SET qty = {rng.randint(1, 12)} WHERE {where}"]
            if what == 1:
                return [f"UPDATE sale SET unit_price = {money(rng, '0.5', '300')}, discount = {rng.choice(self.DISCOUNTS)} WHERE {where}"]
            if what == 2:
                return [f"UPDATE sale SET ship_weight_kg = {q(self.weight())} WHERE {where}"]
            return [f"UPDATE sale SET coupon = {q(None if rng.random() < 0.5 else money(rng, '1', '30', '0.5'))}, "
                    f"gift_note = {q(None if rng.random() < 0.5 else 'Thank you')} WHERE {where}"]
        if choice < 0.49:   # a key change of the composite key
            line = max(l for (o, l) in self.sales if o == key[0]) + 1
            self.sales[(key[0], line)] = self.sales.pop(key)
            return [f"UPDATE sale SET line_no = {line} WHERE {where}"]
        if choice < 0.53:
            del self.sales[key]
            return [f"DELETE FROM sale WHERE {where}"]
        if choice < 0.57:   # an item moves subcategory (hop 1 of 3)
            sku = rng.choice(sorted(self.items))
            self.items[sku]["subcat"] = rng.randint(1, 12)
            return [f"UPDATE item SET subcat_id = {self.items[sku]['subcat']} WHERE sku = {q(sku)}"]
        if choice < 0.59:
            sku = rng.choice(sorted(self.items))
            self.items[sku]["list_price"] = money(rng, "1", "250")
            return [f"UPDATE item SET list_price = {self.items[sku]['list_price']} WHERE sku = {q(sku)}"]
        if choice < 0.62:   # a subcategory moves department (hop 2 of 3)
            sub = rng.randint(1, 12)
            self.subcats[sub] = rng.choice(sorted(self.depts))
            return [f"UPDATE subcategory SET dept_id = {self.subcats[sub]} WHERE subcat_id = {sub}"]
        if choice < 0.64:   # a department renamed (hop 3 of 3)
            dept = rng.choice(sorted(self.depts))
            self.renames += 1
            self.depts[dept] = f"{self.DEPARTMENTS[dept]} {self.renames}"
            return [f"UPDATE department SET dept_name = {q(self.depts[dept])} WHERE dept_id = {dept}"]
        store = rng.randint(1, 8)
        old = self.store_region[store]
        if choice < 0.67:   # the bridge row replaced
            new = rng.choice([r for r in self.REGIONS if r != old])
            self.store_region[store] = new
            return ([f"DELETE FROM store_region WHERE store_id = {store} AND region_id = {old}"] if old else []) + \
                   [insert("store_region", {"store_id": store, "region_id": new})]
        if choice < 0.69 and old:   # the bridge row deleted (re-added later)
            self.store_region[store] = None
            return [f"DELETE FROM store_region WHERE store_id = {store} AND region_id = {old}"]
        if choice < 0.72:
            missing = [s for s, r in self.store_region.items() if r is None]
            if missing:
                store = rng.choice(missing)
                self.store_region[store] = rng.choice(sorted(self.REGIONS))
                return [insert("store_region", {"store_id": store, "region_id": self.store_region[store]})]
            return self.new_order()
        if choice < 0.82 or not self.shipments:
            return self.new_shipment()
        skey = rng.choice(sorted(self.shipments))
        swhere = f"shipment_id = {skey[0]} AND shipped_on = DATE '{skey[1]}'"
        if choice < 0.87:
            return [f"UPDATE shipment SET cost = {money(rng, '2', '400')}, distance_km = {q(self.distance())} WHERE {swhere}"]
        if choice < 0.91:   # moves to another month: delete in one partition's topic, create in another's
            day = self.month_day()
            if (skey[0], day) in self.shipments:
                return self.new_shipment()
            self.shipments[(skey[0], day)] = self.shipments.pop(skey)
            return [f"UPDATE shipment SET shipped_on = DATE '{day}' WHERE {swhere}"]
        if choice < 0.94:
            del self.shipments[skey]
            return [f"DELETE FROM shipment WHERE {swhere}"]
        if choice < 0.98:
            carrier = None if rng.random() < 0.2 else rng.choice(sorted(self.carriers))
            self.shipments[skey]["carrier"] = carrier
            return [f"UPDATE shipment SET carrier_code = {q(carrier)} WHERE {swhere}"]
        code = rng.choice(sorted(self.carriers))
        self.renames += 1
        self.carriers[code] = f"{self.CARRIERS[code]} {self.renames}"
        return [f"UPDATE carrier SET carrier_name = {q(self.carriers[code])} WHERE carrier_code = {q(code)}"]

    def finish(self, repair):
        if not repair:
            return []
        out = []
        for store, region in self.store_region.items():
            if region is None:
                self.store_region[store] = self.rng.choice(sorted(self.REGIONS))
                out.append(insert("store_region", {"store_id": store, "region_id": self.store_region[store]}))
        return out


# --- the three schemas --------------------------------------------------------------------------------

class Schema:
    def __init__(self, name, kind, database, prefix, ddl, truth, profile, model, tables, label, publication=None,
                 include=None, server_id=None, partitions=()):
        self.name, self.kind, self.database, self.prefix = name, kind, database, prefix
        self.ddl, self.truth_file, self.profile = ROOT / ddl, ROOT / truth, ROOT / profile
        self.model_class, self.tables, self.label = model, tables, label
        self.publication, self.include, self.server_id, self.partitions = publication, include, server_id, partitions
        self.source = Source(kind, database)
        self.model = None

    @property
    def topic_namespace(self):
        return f"{self.prefix}.public" if self.kind == "pg" else f"{self.prefix}.{self.database}"

    @property
    def watch_topics(self):
        return "^" + re.escape(self.topic_namespace) + r"\..*"

    def table_topics(self):
        return [f"{self.topic_namespace}.{t}" for t in self.tables + list(self.partitions)]

    def table_of_topic(self, topic):
        table = topic.rsplit(".", 1)[-1]
        return "shipment" if re.fullmatch(r"shipment_[0-9]{4}_[0-9]{2}", table) else table


SCHEMAS = {
    "northwind": Schema("northwind", "pg", "northwind", "nw", "sql/samples/northwind.sql", "sql/samples/northwind-truth.sql",
                        "profiles/northwind.toml", Northwind, ["categories", "shippers", "products", "orders", "order_details"], "(none)",
                        publication="cdctop_nw", include=r"public\.(categories|shippers|products|orders|order_details)"),
    "sakila": Schema("sakila", "mysql", "sakila", "sk", "sql/samples/sakila-mysql.sql", "sql/samples/sakila-truth.sql",
                     "profiles/sakila.toml", Sakila, ["category", "film", "film_category", "inventory", "rental", "payment"],
                     "(no category)", server_id=5402),
    "market": Schema("market", "pg", "market", "mk", "sql/samples/market.sql", "sql/samples/market-truth.sql",
                     "profiles/own-schema.toml", Market, ["department", "subcategory", "item", "region", "store", "store_region",
                                                          "carrier", "sale"], "(none)",
                     publication="cdctop_mk",
                     include=r"public\.(department|subcategory|item|region|store|store_region|carrier|sale|shipment_[0-9]{4}_[0-9]{2})",
                     partitions=[f"shipment_2025_{m:02d}" for m in range(1, 8)]),
}


# --- Kafka Connect, Tansu ---------------------------------------------------------------------------

connect = stack_helpers.connect
tansu = stack_helpers.tansu


def our_topic(name):
    return any(name == s.prefix or name.startswith(s.prefix + ".") for s in SCHEMAS.values())


def delete_our_connectors():
    status, names = connect("GET", "/connectors")
    if status != 200:
        raise Failure(f"Kafka Connect answered {status} to GET /connectors: {names}")
    ours = [n for n in names if n.startswith("model-")]
    for name in ours:
        connect("DELETE", f"/connectors/{name}")
    return ours


def drop_our_slots(seconds):
    """Drops the replication slots model_*; those of deleted connectors become inactive once their tasks stop."""
    pg = Source("pg", "postgres")
    deadline = time.time() + seconds
    while True:
        rows = pg.query("SELECT slot_name, active, coalesce(active_pid, 0) FROM pg_replication_slots WHERE slot_name LIKE 'model\\_%'")
        for slot, active, pid in rows:
            if active == "f":
                pg.query(f"SELECT pg_drop_replication_slot('{slot}')")
            elif time.time() > deadline - seconds / 2:
                pg.query(f"SELECT pg_terminate_backend({pid})")
        if not rows:
            return
        if time.time() > deadline:
            raise Failure(f"replication slots still active: {rows}")
        time.sleep(0.5)


def connector_config(schema, run_id):
    if schema.kind == "pg":
        url = urllib.parse.urlparse(env("CDCTOP_STACK_PG"))
        return {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
            "database.hostname": url.hostname, "database.port": str(url.port), "database.user": "postgres",
            "database.password": "postgres", "database.dbname": schema.database, "plugin.name": "pgoutput",
            "publication.name": schema.publication, "publication.autocreate.mode": "disabled",
            "slot.name": f"model_{schema.prefix}", "topic.prefix": schema.prefix, "table.include.list": schema.include,
            "decimal.handling.mode": "precise", "snapshot.mode": "initial", "poll.interval.ms": "50",
        }
    url = urllib.parse.urlparse(env("CDCTOP_STACK_MYSQL"))
    return {
        "connector.class": "io.debezium.connector.mysql.MySqlConnector", "tasks.max": "1",
        "database.hostname": url.hostname, "database.port": str(url.port), "database.user": url.username,
        "database.password": url.password, "database.server.id": str(schema.server_id), "database.ssl.mode": "disabled",
        "topic.prefix": schema.prefix, "database.include.list": schema.database, "include.schema.changes": "true",
        "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
        "schema.history.internal.file.filename": str(WORK / f"{schema.prefix}-schema-history-{run_id}.dat"),
        "decimal.handling.mode": "precise", "snapshot.mode": "initial", "poll.interval.ms": "50",
    }


def setup(seed=1):
    """Fresh databases with seed data, fresh topics, and one connector per schema (names model-<prefix>-<run>)."""
    WORK.mkdir(parents=True, exist_ok=True)
    run_id = str(int(time.time()))
    removed = delete_our_connectors()
    if removed:
        log(f"deleted earlier connectors: {', '.join(removed)}")
    pg = Source("pg", "postgres")
    drop_our_slots(30)
    listing = tansu("list")
    if listing.returncode != 0:
        raise Failure(f"tansu topic list failed: {listing.stderr}")
    old_topics = [t["name"] for t in json.loads(listing.stdout) if our_topic(t["name"])]
    for topic in old_topics:
        done = tansu("delete", topic)
        if done.returncode != 0:
            raise Failure(f"tansu topic delete {topic} failed: {done.stderr}")
    if old_topics:
        log(f"deleted {len(old_topics)} earlier topics")
    for schema in SCHEMAS.values():
        schema.model = schema.model_class(random.Random(f"{schema.name}-{seed}"))
        statements = schema.model.seed()
        if schema.kind == "pg":
            pg.query(f"DROP DATABASE IF EXISTS {schema.database} WITH (FORCE)")
            pg.query(f"CREATE DATABASE {schema.database}")
        else:
            schema.source.run_script(f"DROP DATABASE IF EXISTS {schema.database}; CREATE DATABASE {schema.database};"
                                     f" GRANT ALL PRIVILEGES ON `{schema.database}`.* TO 'cdctop'@'%';", database="", root=True)
        schema.source.run_file(schema.ddl)
        schema.source.run_script("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;\n")
        log(f"{schema.name}: database {schema.database} ({schema.kind}) created from {schema.ddl.relative_to(ROOT)}, "
            f"{len(statements)} seed rows")
        for topic in schema.table_topics():
            done = tansu("create", "--partitions", "3", topic)
            if done.returncode != 0:
                raise Failure(f"tansu topic create {topic} failed: {done.stderr}")
        if schema.kind == "mysql":   # the schema-change topic: one partition, so DDL keeps its order
            tansu("create", "--partitions", "1", schema.prefix)
    for schema in SCHEMAS.values():
        name = f"model-{schema.prefix}-{run_id}"
        status, answer = connect("PUT", f"/connectors/{name}/config", connector_config(schema, run_id))
        if status not in (200, 201):
            raise Failure(f"Kafka Connect refused connector {name}: {status} {answer}")
        schema.connector = name
    for schema in SCHEMAS.values():
        deadline = time.time() + 60
        while True:
            status, answer = connect("GET", f"/connectors/{schema.connector}/status")
            tasks = answer.get("tasks", []) if isinstance(answer, dict) else []
            if tasks and tasks[0]["state"] == "RUNNING":
                break
            if tasks and tasks[0]["state"] == "FAILED":
                raise Failure(f"connector {schema.connector} FAILED: {tasks[0].get('trace', '')[:1500]}")
            if time.time() > deadline:
                raise Failure(f"connector {schema.connector} not RUNNING after 60 s: {answer}")
            time.sleep(0.3)
        log(f"{schema.name}: connector {schema.connector} RUNNING (topics {schema.watch_topics})")
    return run_id


def restore_models(seed=1):
    """For `traffic` run on its own after `setup`: rebuild each model's picture from the same seed."""
    for schema in SCHEMAS.values():
        if schema.model is None:
            schema.model = schema.model_class(random.Random(f"{schema.name}-{seed}"))
            schema.model.seed()


# --- traffic --------------------------------------------------------------------------------------------

class Traffic(threading.Thread):
    """Runs one schema's workload at `rate` transactions a second until stop(); then the finishing step."""

    def __init__(self, schema, rate, seed, repair, tick0=0):
        super().__init__(daemon=True, name=f"traffic-{schema.name}")
        self.schema, self.rate, self.repair, self.tick = schema, rate, repair, tick0
        self.schema.model.rng = random.Random(f"{schema.name}-traffic-{seed}")
        self.stopping = threading.Event()
        self.error = None
        self.transactions = 0
        self.session = Session(schema.source, f"{schema.name}-traffic")

    def run(self):
        try:
            started = time.time()
            while not self.stopping.is_set():
                self.session.transaction(self.schema.model.step(self.tick))
                self.tick += 1
                self.transactions += 1
                delay = started + self.transactions / self.rate - time.time()
                if delay > 0:
                    self.stopping.wait(delay)
            final = self.schema.model.finish(self.repair)
            if final:
                self.session.transaction(final)
            self.session.close()
        except Exception as error:   # reported by the caller
            self.error = error
            self.session.kill()

    def stop(self):
        self.stopping.set()
        self.join(timeout=180)
        if self.is_alive():
            self.session.kill()
            raise Failure(f"{self.schema.name} traffic did not finish")
        if self.error:
            raise Failure(f"{self.schema.name} traffic failed: {self.error}")


# --- ground truth -----------------------------------------------------------------------------------------

def select_items(sql):
    match = re.match(r"(?is)\s*select\s+(.*?)\s+from\s", sql)
    if not match:
        raise Failure(f"cannot read the select list of: {sql}")
    items, depth, current = [], 0, ""
    for ch in match.group(1):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    items.append(current.strip())
    return items


def profile_kpis(schema):
    profile = tomllib.loads(schema.profile.read_text())
    kpis = {}
    for name, spec in profile.get("kpi", {}).items():
        groups, aggregates = [], []
        for item in select_items(spec["sql"]):
            kind = re.match(r"(?i)\s*(count|sum|avg)\s*\(", item)
            (aggregates if kind else groups).append(kind.group(1).lower() if kind else item)
        kpis[name] = {"groups": groups, "aggregates": aggregates, "windows": spec.get("windows", True)}
    return kpis, profile.get("uncategorized", "uncategorized")


def truth_queries(schema):
    blocks, name = {}, None
    for line in schema.truth_file.read_text().splitlines():
        marker = re.match(r"--\s*kpi:\s*(\S+)", line)
        if marker:
            name = marker.group(1)
            blocks[name] = ""
        elif name and not line.startswith("--"):
            blocks[name] += line + "\n"
    return {n: b.strip().rstrip(";") for n, b in blocks.items()}


def exact_avg(text):
    """'sum/count' -> the average rounded half away from zero to 9 places (None when count is 0)."""
    if text is None:
        return None
    total, _, count = text.partition("/")
    if int(count) == 0:
        return None
    with localcontext() as context:
        context.prec = 100
        value = Decimal(total) / Decimal(count)
        return value.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)


def truth(schema):
    """{kpi: {"groups": [...], "aggregates": [...], "rows": {(group texts): [Decimal | int | None]}}}"""
    kpis, _ = profile_kpis(schema)
    queries = truth_queries(schema)
    missing = set(kpis) ^ set(queries)
    if missing:
        raise Failure(f"{schema.truth_file.name} and {schema.profile.name} do not list the same KPIs: {sorted(missing)}")
    result = {}
    for name, spec in kpis.items():
        rows = {}
        width = len(spec["groups"])
        for row in schema.source.query(queries[name]):
            if len(row) != width + len(spec["aggregates"]):
                raise Failure(f"{schema.name}.{name}: the truth query gives {len(row)} columns, the profile {width}+{len(spec['aggregates'])}")
            values = []
            for kind, text in zip(spec["aggregates"], row[width:]):
                if kind == "avg":
                    values.append(exact_avg(text))
                elif kind == "count":
                    values.append(int(text))
                else:
                    values.append(None if text is None else Decimal(text))
            rows[tuple(row[:width])] = values
        result[name] = {**spec, "rows": rows}
    return result


def truth_json(result):
    return {name: {"group_by": k["groups"], "aggregates": k["aggregates"],
                   "totals": [{"group": list(g), "values": [None if v is None else str(v) for v in vals]}
                              for g, vals in sorted(k["rows"].items())]} for name, k in result.items()}


# --- comparing cdctop's --json with the truth ---------------------------------------------------------------

def norm_group(text):
    if text is None:
        return None
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return text.rstrip("0").rstrip(".") if "." in text else str(int(text))
    return text


def dec(text):
    return None if text is None else Decimal(str(text))


def values_equal(kind, engine, expected):
    engine = dec(engine)
    if kind in ("sum", "count") and expected in (None, 0) and engine in (None, 0):
        return True   # an empty sum: SQL says NULL, an engine may say 0
    if engine is None or expected is None:
        return engine is None and expected is None
    return engine == Decimal(expected)


def all_zero(values):
    return all(v is None or dec(v) == 0 for v in values)


def compare_kpi(name, spec, engine_kpi):
    """Returns (ok, detail)."""
    if engine_kpi is None:
        return False, "missing from cdctop's kpis"
    expected = {tuple(norm_group(g) for g in group): values for group, values in spec["rows"].items()}
    got = {}
    for entry in engine_kpi.get("totals", []):
        got[tuple(norm_group(g) for g in entry.get("group", []))] = entry.get("values", [])
    problems = []
    for group in sorted(set(expected) | set(got), key=str):
        if group not in got:
            if not all_zero(expected[group]):
                problems.append(f"{list(group)}: cdctop has no such group, SQL {[str(v) for v in expected[group]]}")
            continue
        if group not in expected:
            if not all_zero(got[group]):
                problems.append(f"{list(group)}: cdctop {got[group]}, SQL has no such group")
            continue
        if len(got[group]) != len(spec["aggregates"]):
            problems.append(f"{list(group)}: cdctop gives {len(got[group])} values for {len(spec['aggregates'])} aggregates")
            continue
        for kind, engine_value, sql_value in zip(spec["aggregates"], got[group], expected[group]):
            if not values_equal(kind, engine_value, sql_value):
                problems.append(f"{list(group)} {kind}: cdctop {engine_value}, SQL {sql_value}")
    return (not problems), "; ".join(problems[:4]) + (f" (+{len(problems) - 4} more)" if len(problems) > 4 else "")


def compare(schema, expected, line):
    """[(item, ok, detail, unresolved)] for every KPI and the built-in totals."""
    results = []
    kpis = line.get("kpis") or {}
    for name, spec in expected.items():
        builtin = name in ("transactions", "revenue", "category_sales")
        engine_kpi = kpis.get(name)
        if engine_kpi is None and builtin:
            results.append((f"kpis.{name}", True, "(not in kpis; checked in totals)", None))
        else:
            ok, detail = compare_kpi(name, spec, engine_kpi)
            results.append((f"kpis.{name}", ok, detail, (engine_kpi or {}).get("unresolved_rows")))
    totals = line.get("totals") or {}
    if "transactions" in expected:
        want = expected["transactions"]["rows"].get((), [0])[0]
        results.append(("totals.tx_count", totals.get("tx_count") == want, f"cdctop {totals.get('tx_count')}, SQL {want}", None))
    if "revenue" in expected:
        # The tile is money at 9 places (rounded half away from zero); kpis.revenue above is exact.
        want = (expected["revenue"]["rows"].get((), [None])[0] or Decimal(0)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
        got = dec(totals.get("revenue"))
        results.append(("totals.revenue", got == want, f"cdctop {totals.get('revenue')}, SQL {want}", None))
    if "category_sales" in expected:
        want = {norm_group(g[0]): v[0].quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
                for g, v in expected["category_sales"]["rows"].items() if v[0] not in (None, 0)}
        got = {norm_group(k): dec(v) for k, v in (totals.get("category_revenue") or {}).items() if dec(v) != 0}
        problems = [f"{k}: cdctop {got.get(k)}, SQL {want.get(k)}" for k in sorted(set(want) | set(got), key=str) if got.get(k) != want.get(k)]
        results.append(("totals.category_revenue", not problems, "; ".join(problems[:4]) or f"{len(want)} categories", None))
    malformed = line.get("malformed")
    reasons = sorted({m.get("reason", "")[:160] for m in line.get("recent_malformed") or []})
    results.append(("malformed", malformed == 0, f"{malformed} {reasons[:2] if malformed else ''}", None))
    return results


# --- the Debezium side: materialise the topics and compare with the source tables -----------------------

class FloatText(str):
    """A JSON number kept as the exact text it was written with."""


def json_exact(text):
    return json.loads(text, parse_float=FloatText, parse_int=int)


def consume(topic):
    done = subprocess.run(["kcat", "-C", "-b", env("CDCTOP_STACK_BROKERS"), "-t", topic, "-o", "beginning", "-e", "-q", "-J",
                           "-X", "topic.metadata.refresh.interval.ms=1000"],
                          capture_output=True, text=True, env=kafka_env(), timeout=120)
    if done.returncode != 0:
        raise Failure(f"kcat on {topic} failed: {done.stderr.strip()[:500]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def decode_field(field, value):
    """Debezium JSON value -> (comparable, kind) for the column types the KPIs use; None kind = not compared."""
    name, kind = field.get("name"), field["type"]
    if value is None:
        return None, "null"
    if name == "org.apache.kafka.connect.data.Decimal":
        scale = int(field["parameters"]["scale"])
        return Decimal(int.from_bytes(base64.b64decode(value), "big", signed=True)).scaleb(-scale), "decimal"
    if name == "io.debezium.data.VariableScaleDecimal":
        return Decimal(int.from_bytes(base64.b64decode(value["value"]), "big", signed=True)).scaleb(-int(value["scale"])), "decimal"
    if name == "io.debezium.time.Date":
        return str(date(1970, 1, 1) + timedelta(days=value)), "date"
    if name:
        return None, None   # timestamps, years: not compared
    if kind in ("float", "float32", "float64", "double"):
        return Decimal(str(value)), kind
    if kind in ("int8", "int16", "int32", "int64"):
        return int(value), "int"
    if kind == "boolean":
        return bool(value), "bool"
    if kind == "string":
        return value, "string"
    return None, None


def source_rows(schema, table):
    """{key tuple: {column: value}} of one source table (a partition for shipment topics), values as JSON."""
    if schema.kind == "pg":
        rows = schema.source.query(f"SELECT row_to_json(t)::text FROM ONLY {table} t")
        return [json_exact(r[0]) for r in rows]
    columns = [r[0] for r in schema.source.query(
        f"SELECT column_name FROM information_schema.columns WHERE table_schema = '{schema.database}' AND table_name = '{table}' ORDER BY ordinal_position")]
    rows = schema.source.query(f"SELECT JSON_OBJECT({', '.join(f'{q(c)}, `{c}`' for c in columns)}) FROM `{table}`")
    return [json_exact(r[0]) for r in rows]


def check_topics(schema, report=None):
    """Materialises every topic of the schema (c/r/u upsert by record key, d delete) and compares it with the
    source table, column by column for integer, text, decimal, float and date columns. Returns (ok, lines)."""
    lines, ok = [], True
    float_samples = report.setdefault("floats", {}) if report is not None else {}
    listing = tansu("list")
    topics = sorted(t["name"] for t in json.loads(listing.stdout) if t["name"].startswith(schema.topic_namespace + "."))
    for topic in topics:
        table = topic.rsplit(".", 1)[-1]
        messages = consume(topic)
        ops, state, key_fields, example_key, float_diff, float_same = {}, {}, None, None, [], 0
        float_forms, float_form_examples = 0, []
        fields = None
        for message in messages:
            key = json_exact(message["key"]) if message.get("key") else None
            if key is not None and key_fields is None:
                key_fields = [f["field"] + ":" + f["type"] for f in key["schema"]["fields"]]
                example_key = json.dumps(key["payload"])
            key_id = json.dumps(key["payload"], sort_keys=True) if key else None
            if message.get("payload") is None:
                ops["tombstone"] = ops.get("tombstone", 0) + 1
                continue
            value = json_exact(message["payload"])
            payload = value["payload"]
            op = payload["op"]
            ops[op] = ops.get(op, 0) + 1
            if op == "d":
                state.pop(key_id, None)
            else:
                state[key_id] = payload["after"]
                after_schema = next(f for f in value["schema"]["fields"] if f["field"] == "after")
                fields = {f["field"]: f for f in after_schema["fields"]}
        if schema.kind == "pg" and schema.source.query(f"SELECT to_regclass('public.{table}') IS NOT NULL")[0][0] != "t":
            lines.append(f"  {topic:34} {len(messages):6} msgs  (no table {table} in the source yet)")
            ok = ok and not messages
            continue
        rows = source_rows(schema, table)
        mismatches = []
        if fields is not None:
            key_names = [k.split(":")[0] for k in key_fields]
            # Source keys as JSON of the same decoded form as Debezium's keys (dates as days since 1970).
            def source_key(row):
                out = {}
                for k in key_names:
                    v = row[k]
                    if fields[k].get("name") == "io.debezium.time.Date":
                        v = (date.fromisoformat(v) - date(1970, 1, 1)).days
                    out[k] = v
                return json.dumps(out, sort_keys=True)
            source = {source_key(r): r for r in rows}
            if set(source) != set(state):
                mismatches.append(f"keys: {len(set(state) - set(source))} only in the topic, {len(set(source) - set(state))} only in the source")
            for key_id in set(source) & set(state):
                src, topic_row = source[key_id], state[key_id]
                for column, field in fields.items():
                    decoded, kind = decode_field(field, topic_row.get(column))
                    if kind is None:
                        continue
                    expected = src.get(column)
                    if kind == "null":
                        same = expected is None
                    elif kind == "decimal" or kind.startswith("float") or kind == "double":
                        same = expected is not None and decoded == Decimal(str(expected))
                        if kind != "decimal" and expected is not None:
                            text_topic, text_source = str(topic_row[column]), str(expected)
                            if text_topic == text_source:
                                float_same += 1
                            elif not same and len(float_diff) < 5:
                                float_diff.append(f"{column}: Debezium {text_topic} vs source {text_source}")
                            elif same:
                                float_forms += 1
                                if len(float_form_examples) < 3 and text_topic not in float_form_examples:
                                    float_form_examples.append(f"{text_source} -> {text_topic}")
                            sample_key = f"{schema.name}.{table.split('_20')[0]}.{column} ({field['type']})"
                            samples = float_samples.setdefault(sample_key, set())
                            if len(samples) < 12 and (text_source in ("14.4", "0.15", "0.05") or len(text_source) > 9 or "E" in text_topic or len(samples) < 4):
                                samples.add(f"{text_source} -> {text_topic}")
                    elif kind == "bool":
                        same = decoded == bool(expected)
                    else:
                        same = decoded == expected
                    if not same:
                        mismatches.append(f"{column}: topic {topic_row.get(column)!r} vs source {expected!r}")
                        break
                if len(mismatches) > 5:
                    break
        elif rows:
            mismatches.append(f"no change events but {len(rows)} source rows")
        status = "ok" if not mismatches else "MISMATCH"
        ok = ok and not mismatches
        op_text = " ".join(f"{k}={v}" for k, v in sorted(ops.items()))
        lines.append(f"  {topic:34} {len(messages):6} msgs  {op_text:38} rows {len(state):5}/{len(rows):5} {status}"
                     + (f"  key {example_key} [{', '.join(key_fields)}]" if key_fields else "")
                     + (f"  floats: {float_same} same text, {float_forms} same value in another form ({', '.join(float_form_examples)})"
                        if float_same or float_forms else "")
                     + (f"  float VALUE differs: {float_diff}" if float_diff else "")
                     + (f"  {mismatches[:3]}" if mismatches else ""))
    return ok, lines


# --- the end-to-end run ------------------------------------------------------------------------------------

class Watcher:
    """`cdctop watch --headless --json` on one schema; keeps the newest parsed line."""

    def __init__(self, schema, binary, reset):
        self.schema = schema
        self.state = WORK / f"{schema.name}-state"
        self.command = [binary, "watch", "--brokers", env("CDCTOP_STACK_BROKERS"), "--topics", schema.watch_topics,
                        "--profile", str(schema.profile.relative_to(ROOT)), "--state", str(self.state.relative_to(ROOT)),
                        *(["--state-reset"] if reset else []), "--group", f"cdctop-model-{schema.prefix}",
                        "--headless", "--json", "--interval", "200",
                        "-X", "session.timeout.ms=6000", "-X", "auto.offset.reset=earliest"]
        self.err = WORK / f"{schema.name}-watch.err"
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.PIPE, stderr=open(self.err, "a"),
                                        env=kafka_env(), text=True, start_new_session=True)
        self.latest, self.lines = None, 0
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for raw in self.process.stdout:
            try:
                parsed = json.loads(raw)
            except ValueError:
                continue
            with self.lock:
                self.latest, self.lines = parsed, self.lines + 1

    def snapshot(self):
        with self.lock:
            return self.latest

    def alive(self):
        return self.process.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_equal(schemas, watchers, expected, seconds, label):
    """Waits until every watcher's newest line equals the truth; returns {schema: results}."""
    deadline = time.time() + seconds
    last, equal_since = {}, None
    while True:
        done = True
        for schema in schemas:
            watcher = watchers[schema.name]
            if not watcher.alive():
                raise Failure(f"cdctop watch for {schema.name} exited with {watcher.process.returncode} ({label}); "
                              f"see {watcher.err.relative_to(ROOT)}: {watcher.err.read_text().strip()[-800:]}")
            line = watcher.snapshot()
            if line is None:
                done = False
                last[schema.name] = [("first line", False, "no JSON line yet", None)]
                continue
            try:
                results = compare(schema, expected[schema.name], line)
                (WORK / f"{schema.name}-last.json").write_text(json.dumps(line))
            except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
                results = [("reading cdctop's JSON", False, f"{type(error).__name__}: {error}", None)]
            last[schema.name] = results
            done = done and all(ok for _, ok, _, _ in results)
        # Equal on every check for a second (cdctop prints every 200 ms): not a state passed through.
        equal_since = (equal_since or time.time()) if done else None
        if (done and time.time() - equal_since >= 1.0) or time.time() > deadline:
            return last, done
        time.sleep(0.25)


def print_table(label, results):
    print(f"\n{label}")
    print(f"  {'schema':10} {'check':34} {'result':8} {'unresolved':10} detail")
    for schema, rows in results.items():
        for item, ok, detail, unresolved in rows:
            print(f"  {schema:10} {item:34} {'ok' if ok else 'MISMATCH':8} {'' if unresolved is None else unresolved!s:10} {detail[:300]}")


def e2e(args):
    binary = os.environ.get("CDCTOP_BIN", str(ROOT / ".build/debug/cdctop"))
    schemas = list(SCHEMAS.values())
    failures, watchers, traffic = [], {}, []
    report = {}
    try:
        setup(seed=args.seed)
        if not args.source_only:
            for schema in schemas:
                watchers[schema.name] = Watcher(schema, binary, reset=True)
                log(f"{schema.name}: started {shlex.join(watchers[schema.name].command)} (pid {watchers[schema.name].process.pid})")
        # Round 1: traffic on all three sources at once; then cdctop must equal SQL.
        log(f"round 1: traffic for {args.seconds} s at {args.rate} tx/s per schema")
        traffic = [Traffic(s, args.rate, f"{args.seed}-1", repair=True) for s in schemas]
        for t in traffic:
            t.start()
        time.sleep(args.seconds)
        for t in traffic:
            t.stop()
        ticks = {t.schema.name: t.tick for t in traffic}
        log("round 1 traffic stopped: " + ", ".join(f"{t.schema.name} {t.transactions} tx" for t in traffic))
        expected = {s.name: truth(s) for s in schemas}
        (WORK / "truth-round1.json").write_text(json.dumps({n: truth_json(t) for n, t in expected.items()}, indent=1))
        if not args.source_only:
            results, ok = wait_equal(schemas, watchers, expected, args.wait, "round 1")
            print_table(f"round 1 ({'all equal' if ok else 'NOT all equal'} after traffic of {args.seconds} s)", results)
            if not ok:
                failures.append("round 1: cdctop did not equal the ground truth (table above)")
        # Round 2: cdctop is SIGKILLed mid-traffic and restarted on the same --state (no --state-reset).
        log(f"round 2: traffic for {args.seconds} s; cdctop SIGKILLed after {args.seconds * 0.4:.0f} s and restarted on its state")
        traffic = [Traffic(s, args.rate, f"{args.seed}-2", repair=False, tick0=ticks[s.name]) for s in schemas]
        for t in traffic:
            t.start()
        time.sleep(args.seconds * 0.4)
        if not args.source_only:
            for schema in schemas:
                watchers[schema.name].kill(signal.SIGKILL)
            log("cdctop SIGKILLed (all three)")
            time.sleep(1.0)
            for schema in schemas:
                watchers[schema.name] = Watcher(schema, binary, reset=False)
                log(f"{schema.name}: restarted {shlex.join(watchers[schema.name].command)} (pid {watchers[schema.name].process.pid})")
        time.sleep(args.seconds * 0.6)
        for t in traffic:
            t.stop()
        log("round 2 traffic stopped: " + ", ".join(f"{t.schema.name} {t.transactions} tx" for t in traffic))
        expected = {s.name: truth(s) for s in schemas}
        (WORK / "truth-round2.json").write_text(json.dumps({n: truth_json(t) for n, t in expected.items()}, indent=1))
        if not args.source_only:
            results, ok = wait_equal(schemas, watchers, expected, args.wait, "round 2")
            for schema in schemas:
                line = watchers[schema.name].snapshot() or {}
                log(f"{schema.name}: after the restart cdctop says state.restored = {((line.get('state') or {}).get('restored') or '')[:160]!r}")
            print_table(f"round 2 ({'all equal' if ok else 'NOT all equal'} after SIGKILL and restart on the same state)", results)
            if not ok:
                failures.append("round 2 (after SIGKILL + restart): cdctop did not equal the ground truth (table above)")
        # The Debezium side: the topics, materialised, equal the source tables.
        print("\nDebezium side: every topic materialised by record key equals its source table")
        for schema in schemas:
            for attempt in range(6):
                ok, lines = check_topics(schema, report)
                if ok:
                    break
                time.sleep(3)
            print(f" {schema.name}:")
            print("\n".join(lines))
            if not ok:
                failures.append(f"{schema.name}: the topics do not equal the source tables")
        print("\nfloat texts (source text -> Debezium JSON text):")
        for column, samples in sorted(report.get("floats", {}).items()):
            print(f"  {column}: {', '.join(sorted(samples))}")
        print("\nground truth of the last round (.run/stack/model/truth-round2.json):")
        for name, kpis in expected.items():
            for kpi, spec in kpis.items():
                rows = sorted(spec["rows"].items())
                shown = ", ".join(f"{list(g) if g else ''}{[str(v) for v in vals]}" for g, vals in rows[:4])
                print(f"  {name}.{kpi}: {len(rows)} group(s): {shown}{' …' if len(rows) > 4 else ''}")
    except Failure as error:
        failures.append(str(error))
    finally:
        for t in traffic:
            t.stopping.set()
        for t in traffic:
            t.join(timeout=60)
            t.session.kill()
        for watcher in watchers.values():
            watcher.kill(signal.SIGTERM)
        if not args.keep_connectors:
            try:
                removed = delete_our_connectors()
                if removed:
                    drop_our_slots(20)
                    log(f"deleted connectors {', '.join(removed)} and their replication slots (databases and topics stay for inspection)")
            except Exception as error:
                log(f"warning: could not delete the connectors: {error}")
    if failures:
        print("\nstack-e2e-model: FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"\nstack-e2e-model: all checks passed in {time.time() - STARTED:.0f} s"
          + (" (source side only: --source-only)" if args.source_only else ""))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("e2e")
    p.add_argument("--source-only", action="store_true", help="no cdctop: the sources, Debezium and the topics only")
    p.add_argument("--seconds", type=float, default=float(os.environ.get("CDCTOP_MODEL_SECONDS", "20")))
    p.add_argument("--rate", type=float, default=float(os.environ.get("CDCTOP_MODEL_RATE", "25")))
    p.add_argument("--wait", type=float, default=float(os.environ.get("CDCTOP_MODEL_WAIT", "90")))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-connectors", action="store_true")
    p.add_argument("--plain-floats", action="store_true", help="no doubles with more than 9 decimals in their text")
    sub.add_parser("setup").add_argument("--seed", type=int, default=1)
    p = sub.add_parser("traffic")
    p.add_argument("schema", choices=SCHEMAS)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=25)
    p.add_argument("--seed", type=int, default=1)
    sub.add_parser("truth").add_argument("schema", choices=SCHEMAS)
    sub.add_parser("check-topics").add_argument("schema", choices=SCHEMAS)
    args = parser.parse_args()

    def terminate(signum, frame):
        raise SystemExit(128 + signum)   # so every `finally` stops what this run started
    signal.signal(signal.SIGTERM, terminate)
    try:
        if args.command == "e2e":
            global PLAIN_FLOATS
            PLAIN_FLOATS = PLAIN_FLOATS or args.plain_floats
            return e2e(args)
        if args.command == "setup":
            setup(args.seed)
            return 0
        if args.command == "truth":
            print(json.dumps(truth_json(truth(SCHEMAS[args.schema])), indent=1))
            return 0
        if args.command == "check-topics":
            ok, lines = check_topics(SCHEMAS[args.schema])
            print("\n".join(lines))
            return 0 if ok else 1
        if args.command == "traffic":
            # Standalone traffic needs the model's picture of the rows: only right straight after `setup`
            # with the same --seed (the models are rebuilt from it); the e2e run keeps them in memory.
            restore_models(args.seed)
            t = Traffic(SCHEMAS[args.schema], args.rate, f"{args.seed}-standalone", repair=True)
            t.start()
            time.sleep(args.seconds)
            t.stop()
            log(f"{args.schema}: {t.transactions} transactions")
            return 0
    except Failure as error:
        print(f"model_samples: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
