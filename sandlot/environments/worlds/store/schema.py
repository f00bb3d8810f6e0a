"""The store world's tables and its deterministic seed data."""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA", "TODAY", "seed"]

TODAY = "2026-03-15"  # the world's fixed "today": every date rule is deterministic

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE NOT NULL, phone TEXT,
    address TEXT, tier TEXT NOT NULL DEFAULT 'standard', store_credit REAL NOT NULL DEFAULT 0
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY, sku TEXT UNIQUE NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
    price REAL NOT NULL, stock INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL, created TEXT NOT NULL, shipped TEXT, delivered TEXT,
    shipping_address TEXT NOT NULL, total REAL NOT NULL, paid REAL NOT NULL DEFAULT 0,
    discount_code TEXT, carrier TEXT, tracking TEXT
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL, status TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE refunds (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), amount REAL NOT NULL,
    method TEXT NOT NULL, reason TEXT, created TEXT NOT NULL
);
CREATE TABLE store_credits (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount REAL NOT NULL, reason TEXT, created TEXT NOT NULL
);
CREATE TABLE returns (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
    reason TEXT, status TEXT NOT NULL DEFAULT 'requested', created TEXT NOT NULL
);
CREATE TABLE discount_codes (
    code TEXT PRIMARY KEY, percent REAL NOT NULL, active INTEGER NOT NULL, expires TEXT NOT NULL
);
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
    subject TEXT NOT NULL, body TEXT, status TEXT NOT NULL DEFAULT 'open', created TEXT NOT NULL
);
"""

CUSTOMERS = [
    (
        1,
        "Ada Lovelace",
        "ada@example.com",
        "+44 20 7946 0001",
        "12 St James Sq, London",
        "gold",
        0.0,
    ),
    (
        2,
        "Grace Hopper",
        "grace@example.com",
        "+1 202 555 0102",
        "1 Navy Yard, Arlington",
        "silver",
        15.0,
    ),
    (
        3,
        "Alan Turing",
        "alan@example.com",
        "+44 161 555 0103",
        "7 Bletchley Rd, Milton Keynes",
        "standard",
        0.0,
    ),
    (
        4,
        "Katherine Johnson",
        "katherine@example.com",
        "+1 757 555 0104",
        "3 Langley Blvd, Hampton",
        "gold",
        40.0,
    ),
    (
        5,
        "Edsger Dijkstra",
        "edsger@example.com",
        "+31 20 555 0105",
        "9 Prinsengracht, Amsterdam",
        "standard",
        0.0,
    ),
    (
        6,
        "Barbara Liskov",
        "barbara@example.com",
        "+1 617 555 0106",
        "32 Vassar St, Cambridge",
        "silver",
        0.0,
    ),
    (
        7,
        "Donald Knuth",
        "don@example.com",
        "+1 650 555 0107",
        "1 Serra Mall, Stanford",
        "standard",
        5.0,
    ),
    (
        8,
        "Margaret Hamilton",
        "margaret@example.com",
        "+1 617 555 0108",
        "75 Ames St, Cambridge",
        "gold",
        0.0,
    ),
]

PRODUCTS = [
    (101, "KB-MECH-01", "Mechanical Keyboard", "peripherals", 89.99, 25, 1),
    (102, "MS-WL-02", "Wireless Mouse", "peripherals", 24.50, 60, 1),
    (103, "MN-27-4K", "27-inch 4K Monitor", "displays", 329.00, 8, 1),
    (104, "HD-USB-C", "USB-C Hub", "accessories", 39.90, 0, 1),
    (105, "CH-ERGO", "Ergonomic Chair", "furniture", 249.00, 4, 1),
    (106, "DK-STAND", "Standing Desk", "furniture", 499.00, 2, 1),
    (107, "HP-NC-700", "Noise-Cancelling Headphones", "audio", 199.00, 15, 1),
    (108, "SP-BT-MINI", "Bluetooth Speaker", "audio", 59.00, 30, 1),
    (109, "CB-HDMI-2", "HDMI Cable (2 m)", "accessories", 12.00, 200, 1),
    (110, "WC-1080", "1080p Webcam", "peripherals", 49.00, 12, 1),
    (111, "LP-STAND", "Laptop Stand", "accessories", 34.00, 40, 1),
    (112, "MN-24-FHD", "24-inch Monitor (discontinued)", "displays", 149.00, 5, 0),
]

# id, customer, status, created, shipped, delivered, address, total, paid, code, carrier, tracking
ORDERS = [
    (
        1001,
        1,
        "pending",
        "2026-03-14",
        None,
        None,
        "12 St James Sq, London",
        114.49,
        0.0,
        None,
        None,
        None,
    ),
    (
        1002,
        2,
        "paid",
        "2026-03-13",
        None,
        None,
        "1 Navy Yard, Arlington",
        329.00,
        329.00,
        None,
        None,
        None,
    ),
    (
        1003,
        3,
        "shipped",
        "2026-03-10",
        "2026-03-12",
        None,
        "7 Bletchley Rd, Milton Keynes",
        199.00,
        199.00,
        None,
        "DHL",
        "DHL-883412",
    ),
    (
        1004,
        4,
        "delivered",
        "2026-03-01",
        "2026-03-02",
        "2026-03-05",
        "3 Langley Blvd, Hampton",
        138.99,
        138.99,
        None,
        "UPS",
        "1Z999AA1",
    ),
    (
        1005,
        5,
        "delivered",
        "2026-01-20",
        "2026-01-21",
        "2026-01-25",
        "9 Prinsengracht, Amsterdam",
        249.00,
        249.00,
        None,
        "PostNL",
        "3SPNL0001",
    ),
    (
        1006,
        6,
        "cancelled",
        "2026-03-02",
        None,
        None,
        "32 Vassar St, Cambridge",
        59.00,
        0.0,
        None,
        None,
        None,
    ),
    (
        1007,
        7,
        "paid",
        "2026-03-14",
        None,
        None,
        "1 Serra Mall, Stanford",
        101.99,
        101.99,
        None,
        None,
        None,
    ),
    (
        1008,
        8,
        "delivered",
        "2026-02-25",
        "2026-02-26",
        "2026-03-01",
        "75 Ames St, Cambridge",
        398.00,
        398.00,
        None,
        "FedEx",
        "FX-77120",
    ),
    (
        1009,
        1,
        "delivered",
        "2026-02-10",
        "2026-02-11",
        "2026-02-14",
        "12 St James Sq, London",
        59.00,
        59.00,
        None,
        "Royal Mail",
        "RM-55410",
    ),
    (
        1010,
        2,
        "shipped",
        "2026-03-11",
        "2026-03-13",
        None,
        "1 Navy Yard, Arlington",
        89.99,
        89.99,
        None,
        "UPS",
        "1Z999BB2",
    ),
    (
        1011,
        4,
        "paid",
        "2026-03-12",
        None,
        None,
        "3 Langley Blvd, Hampton",
        510.30,
        510.30,
        "SPRING10",
        None,
        None,
    ),
    (
        1012,
        3,
        "pending",
        "2026-03-15",
        None,
        None,
        "7 Bletchley Rd, Milton Keynes",
        24.50,
        0.0,
        None,
        None,
        None,
    ),
]

# id, order, product, qty, unit price, status
ORDER_ITEMS = [
    (1, 1001, 101, 1, 89.99, "active"),
    (2, 1001, 102, 1, 24.50, "active"),
    (3, 1002, 103, 1, 329.00, "active"),
    (4, 1003, 107, 1, 199.00, "active"),
    (5, 1004, 102, 2, 24.50, "active"),
    (6, 1004, 109, 1, 12.00, "active"),
    (7, 1004, 101, 1, 77.99, "active"),
    (8, 1005, 105, 1, 249.00, "active"),
    (9, 1006, 108, 1, 59.00, "cancelled"),
    (10, 1007, 101, 1, 89.99, "active"),
    (11, 1007, 109, 1, 12.00, "active"),
    (12, 1008, 107, 2, 199.00, "active"),
    (13, 1009, 108, 1, 59.00, "active"),
    (14, 1010, 101, 1, 89.99, "active"),
    (15, 1011, 106, 1, 499.00, "active"),
    (16, 1011, 111, 2, 34.00, "active"),
    (17, 1012, 102, 1, 24.50, "active"),
]

DISCOUNT_CODES = [
    ("SPRING10", 10.0, 1, "2026-04-30"),
    ("WELCOME5", 5.0, 1, "2026-12-31"),
    ("WINTER20", 20.0, 1, "2026-02-28"),
    ("STAFF50", 50.0, 0, "2026-12-31"),
]


def seed(conn: sqlite3.Connection) -> None:
    """Create the tables and fill them with the same data every time."""
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", CUSTOMERS)
    conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?)", PRODUCTS)
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ORDERS)
    conn.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)", ORDER_ITEMS)
    conn.executemany("INSERT INTO discount_codes VALUES (?, ?, ?, ?)", DISCOUNT_CODES)
    conn.commit()
