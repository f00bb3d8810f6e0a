"""Order tools of the store world: placing, cancelling and changing orders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sandlot.environments.worlds.store.state import StoreState, one, refundable, rows, state_of
from sandlot.tools import ToolContext, ToolError, tool

__all__ = [
    "OrderLine",
    "cancel_order",
    "cancel_order_item",
    "place_order",
    "update_shipping_address",
]

_OPEN = ("pending", "paid")  # orders that have not shipped


class OrderLine(BaseModel):
    product_id: int = Field(description="The product's numeric id.")
    quantity: int = Field(ge=1, description="How many units.")


def _order(state: StoreState, order_id: int) -> dict[str, Any]:
    return one(
        state, "SELECT * FROM orders WHERE id = ?", (order_id,), f"no order with id {order_id}"
    )


def _discount(state: StoreState, order: dict[str, Any]) -> float:
    if not order["discount_code"]:
        return 0.0
    found = rows(
        state, "SELECT percent FROM discount_codes WHERE code = ?", (order["discount_code"],)
    )
    return found[0]["percent"] / 100 if found else 0.0


@tool
def place_order(
    ctx: ToolContext, customer_id: int, items: list[OrderLine], discount_code: str | None = None
) -> dict[str, Any]:
    """Place a new paid order for a customer, shipped to the customer's address. Checks
    that every product is sold and in stock (and takes the units from stock) and that a
    discount code, if given, is active and not expired.

    Args:
        customer_id: The customer's numeric id.
        items: The products and quantities to order.
        discount_code: A discount code to apply, e.g. SPRING10.
    """
    state = state_of(ctx)
    if not items:
        raise ToolError("an order needs at least one item")
    with state.lock:
        customer = one(
            state,
            "SELECT * FROM customers WHERE id = ?",
            (customer_id,),
            f"no customer with id {customer_id}",
        )
        percent = 0.0
        code = None
        if discount_code:
            code = discount_code.strip().upper()
            found = rows(state, "SELECT * FROM discount_codes WHERE code = ?", (code,))
            if not found:
                raise ToolError(f"discount code {code} does not exist")
            if not found[0]["active"]:
                raise ToolError(f"discount code {code} is not active")
            if found[0]["expires"] < state.today:
                raise ToolError(f"discount code {code} expired on {found[0]['expires']}")
            percent = found[0]["percent"]
        wanted: dict[int, int] = {}
        for line in items:
            wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
        lines = []
        for line in items:
            product = one(
                state,
                "SELECT * FROM products WHERE id = ?",
                (line.product_id,),
                f"no product with id {line.product_id}",
            )
            if not product["active"]:
                raise ToolError(f"product {product['id']} ({product['name']}) is no longer sold")
            # Several lines of one product draw on the same stock: check their sum.
            requested = wanted[line.product_id]
            if product["stock"] < requested:
                raise ToolError(
                    f"only {product['stock']} of product {product['id']} "
                    f"({product['name']}) in stock; {requested} requested"
                )
            lines.append((product, line.quantity))
        subtotal = sum(p["price"] * q for p, q in lines)
        total = round(subtotal * (1 - percent / 100), 2)
        cur = state.conn.execute(
            "INSERT INTO orders (customer_id, status, created, shipping_address, total, paid, "
            "discount_code) VALUES (?, 'paid', ?, ?, ?, ?, ?)",
            (customer_id, state.today, customer["address"], total, total, code),
        )
        order_id = cur.lastrowid
        for product, qty in lines:
            state.conn.execute(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price) "
                "VALUES (?, ?, ?, ?)",
                (order_id, product["id"], qty, product["price"]),
            )
            state.conn.execute(
                "UPDATE products SET stock = stock - ? WHERE id = ?", (qty, product["id"])
            )
        state.conn.commit()
    return {"order_id": order_id, "status": "paid", "total": total, "discount_percent": percent}


@tool
def cancel_order(ctx: ToolContext, order_id: int, reason: str) -> dict[str, Any]:
    """Cancel a whole order that has not shipped (status pending or paid). Every item goes
    back to stock, and what was paid is refunded to the original card.

    Args:
        order_id: The order's numeric id.
        reason: Why the order is cancelled.
    """
    state = state_of(ctx)
    with state.lock:
        order = _order(state, order_id)
        if order["status"] not in _OPEN:
            raise ToolError(
                f"order {order_id} is {order['status']} and cannot be cancelled; only "
                "pending or paid orders can be (a delivered order can be returned)"
            )
        for item in rows(
            state, "SELECT * FROM order_items WHERE order_id = ? AND status = 'active'", (order_id,)
        ):
            state.conn.execute(
                "UPDATE products SET stock = stock + ? WHERE id = ?",
                (item["quantity"], item["product_id"]),
            )
        state.conn.execute(
            "UPDATE order_items SET status = 'cancelled' WHERE order_id = ?", (order_id,)
        )
        state.conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (order_id,))
        refund = refundable(state, order)
        if refund > 0:
            state.conn.execute(
                "INSERT INTO refunds (order_id, amount, method, reason, created) "
                "VALUES (?, ?, 'card', ?, ?)",
                (order_id, refund, reason, state.today),
            )
        state.conn.commit()
    return {"order_id": order_id, "status": "cancelled", "refunded_to_card": refund}


@tool
def cancel_order_item(ctx: ToolContext, order_id: int, product_id: int) -> dict[str, Any]:
    """Cancel one product line of an order that has not shipped, keeping the rest of the
    order. The units go back to stock; if the order was paid, that line's price (after
    any discount) is refunded to the card.

    Args:
        order_id: The order's numeric id.
        product_id: The product whose line is cancelled.
    """
    state = state_of(ctx)
    with state.lock:
        order = _order(state, order_id)
        if order["status"] not in _OPEN:
            raise ToolError(
                f"order {order_id} is {order['status']}; items can only be cancelled "
                "from pending or paid orders"
            )
        items = rows(
            state,
            "SELECT * FROM order_items WHERE order_id = ? AND product_id = ? AND status = 'active'",
            (order_id, product_id),
        )
        if not items:
            raise ToolError(f"order {order_id} has no active line for product {product_id}")
        active = rows(
            state,
            "SELECT count(*) AS n FROM order_items WHERE order_id = ? AND status = 'active'",
            (order_id,),
        )[0]["n"]
        if active == 1:
            raise ToolError(
                f"product {product_id} is the last item of order {order_id}; "
                "cancel the whole order instead"
            )
        item = items[0]
        amount = round(item["unit_price"] * item["quantity"] * (1 - _discount(state, order)), 2)
        state.conn.execute(
            "UPDATE order_items SET status = 'cancelled' WHERE id = ?", (item["id"],)
        )
        state.conn.execute(
            "UPDATE products SET stock = stock + ? WHERE id = ?", (item["quantity"], product_id)
        )
        new_total = round(order["total"] - amount, 2)
        # Never refund more than is still refundable on the order (it may already have
        # been refunded in full or in part).
        refund = min(amount, refundable(state, order))
        state.conn.execute("UPDATE orders SET total = ? WHERE id = ?", (new_total, order_id))
        if refund:
            state.conn.execute(
                "INSERT INTO refunds (order_id, amount, method, reason, created) "
                "VALUES (?, ?, 'card', 'item cancelled', ?)",
                (order_id, refund, state.today),
            )
        state.conn.commit()
    return {
        "order_id": order_id,
        "cancelled_product": product_id,
        "new_total": new_total,
        "refunded_to_card": refund,
    }


@tool
def update_shipping_address(ctx: ToolContext, order_id: int, address: str) -> dict[str, Any]:
    """Change where an order will be shipped; only before it ships (pending or paid).

    Args:
        order_id: The order's numeric id.
        address: The new shipping address, one line.
    """
    state = state_of(ctx)
    if len(address.strip()) < 5:
        raise ToolError("the address is too short to be a shipping address")
    with state.lock:
        order = _order(state, order_id)
        if order["status"] not in _OPEN:
            raise ToolError(
                f"order {order_id} is {order['status']}; the address can only be "
                "changed before the order ships"
            )
        state.conn.execute(
            "UPDATE orders SET shipping_address = ? WHERE id = ?", (address.strip(), order_id)
        )
        state.conn.commit()
    return {"order_id": order_id, "shipping_address": address.strip()}
