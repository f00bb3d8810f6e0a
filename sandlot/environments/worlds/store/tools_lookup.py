"""Look-up tools of the store world: customers, products, orders, shipments, codes."""

from __future__ import annotations

from typing import Any

from sandlot.environments.worlds.store.state import one, require_customer, rows, state_of
from sandlot.tools import ToolContext, tool

__all__ = [
    "check_stock",
    "find_customer_by_email",
    "get_customer",
    "get_discount_code",
    "get_order",
    "get_order_status",
    "get_product",
    "list_customer_orders",
    "search_products",
    "track_shipment",
]


@tool
def get_customer(ctx: ToolContext, customer_id: int) -> dict[str, Any]:
    """Look up a customer's profile by id: name, email, phone, address, loyalty tier and
    store credit balance.

    Args:
        customer_id: The customer's numeric id.
    """
    return one(
        state_of(ctx),
        "SELECT * FROM customers WHERE id = ?",
        (customer_id,),
        f"no customer with id {customer_id}",
    )


@tool
def find_customer_by_email(ctx: ToolContext, email: str) -> dict[str, Any]:
    """Find a customer by email address (case-insensitive) and return the profile.

    Args:
        email: The customer's email address.
    """
    return one(
        state_of(ctx),
        "SELECT * FROM customers WHERE lower(email) = lower(?)",
        (email.strip(),),
        f"no customer with email {email!r}",
    )


@tool
def search_products(
    ctx: ToolContext, query: str, category: str | None = None
) -> list[dict[str, Any]]:
    """Search the product catalogue by words in the product name or SKU, optionally
    within one category (peripherals, displays, accessories, furniture, audio).

    Args:
        query: Words to look for in the name or SKU, e.g. "monitor".
        category: Only products of this category.
    """
    words = [w for w in query.lower().split() if w]
    found = rows(
        state_of(ctx), "SELECT id, sku, name, category, price, stock, active FROM products"
    )
    out = []
    for p in found:
        hay = f"{p['name']} {p['sku']}".lower()
        if all(w in hay for w in words) and (category is None or p["category"] == category):
            out.append(p)
    return out


@tool
def get_product(ctx: ToolContext, product_id: int) -> dict[str, Any]:
    """Look up one product by id: SKU, name, category, price, stock and whether it is
    still sold.

    Args:
        product_id: The product's numeric id.
    """
    return one(
        state_of(ctx),
        "SELECT * FROM products WHERE id = ?",
        (product_id,),
        f"no product with id {product_id}",
    )


@tool
def check_stock(ctx: ToolContext, product_id: int) -> dict[str, Any]:
    """How many units of a product are in stock and whether it can be ordered.

    Args:
        product_id: The product's numeric id.
    """
    p = one(
        state_of(ctx),
        "SELECT id, name, stock, active FROM products WHERE id = ?",
        (product_id,),
        f"no product with id {product_id}",
    )
    return {**p, "available": bool(p["active"]) and p["stock"] > 0}


@tool
def get_order(ctx: ToolContext, order_id: int) -> dict[str, Any]:
    """Full details of an order: customer, status, dates, shipping address, total, amount
    paid, discount code, and every item with quantity, unit price and item status.

    Args:
        order_id: The order's numeric id.
    """
    state = state_of(ctx)
    order = one(
        state, "SELECT * FROM orders WHERE id = ?", (order_id,), f"no order with id {order_id}"
    )
    order["items"] = rows(
        state,
        "SELECT i.product_id, p.name, i.quantity, i.unit_price, i.status FROM order_items i "
        "JOIN products p ON p.id = i.product_id WHERE i.order_id = ? ORDER BY i.id",
        (order_id,),
    )
    order["refunded"] = rows(
        state, "SELECT coalesce(sum(amount), 0) AS r FROM refunds WHERE order_id = ?", (order_id,)
    )[0]["r"]
    return order


@tool
def get_order_status(ctx: ToolContext, order_id: int) -> dict[str, Any]:
    """Only the status of an order (pending, paid, shipped, delivered or cancelled), with
    no items or amounts.

    Args:
        order_id: The order's numeric id.
    """
    return one(
        state_of(ctx),
        "SELECT id, status FROM orders WHERE id = ?",
        (order_id,),
        f"no order with id {order_id}",
    )


@tool
def track_shipment(ctx: ToolContext, order_id: int) -> dict[str, Any]:
    """Shipping and delivery tracking of an order: carrier, tracking number, shipped and
    delivered dates.

    Args:
        order_id: The order's numeric id.
    """
    order = one(
        state_of(ctx),
        "SELECT id, status, carrier, tracking, shipped, delivered FROM orders WHERE id = ?",
        (order_id,),
        f"no order with id {order_id}",
    )
    if order["shipped"] is None:
        order["note"] = "the order has not shipped yet"
    return order


@tool
def list_customer_orders(
    ctx: ToolContext, customer_id: int, status: str | None = None
) -> list[dict[str, Any]]:
    """List a customer's orders (id, status, created date, total), newest first,
    optionally only those with one status.

    Args:
        customer_id: The customer's numeric id.
        status: Only orders with this status (pending, paid, shipped, delivered, cancelled).
    """
    state = state_of(ctx)
    require_customer(state, customer_id)
    sql = "SELECT id, status, created, total FROM orders WHERE customer_id = ?"
    params: tuple[Any, ...] = (customer_id,)
    if status is not None:
        sql += " AND status = ?"
        params += (status,)
    return rows(state, sql + " ORDER BY created DESC, id DESC", params)


@tool
def get_discount_code(ctx: ToolContext, code: str) -> dict[str, Any]:
    """Look up a discount code: its percentage, whether it is active and when it expires.

    Args:
        code: The discount code, e.g. SPRING10.
    """
    found = one(
        state_of(ctx),
        "SELECT * FROM discount_codes WHERE code = ?",
        (code.strip().upper(),),
        f"no discount code {code!r}",
    )
    found["valid_today"] = bool(found["active"]) and found["expires"] >= state_of(ctx).today
    return found
