"""Customer-service tools of the store world: contact details, returns, refunds, credit,
tickets."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from sandlot.environments.worlds.store.state import (
    one,
    refundable,
    require_customer,
    rows,
    state_of,
)
from sandlot.tools import ToolContext, ToolError, tool

__all__ = [
    "create_return",
    "issue_store_credit",
    "open_support_ticket",
    "refund_order",
    "update_customer_email",
    "update_customer_phone",
]

RETURN_DAYS = 30
MAX_CREDIT = 100.0  # store credit one call may grant without a manager
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{6,}$")


def _update_contact(ctx: ToolContext, customer_id: int, column: str, value: str) -> dict[str, Any]:
    state = state_of(ctx)
    with state.lock:
        require_customer(state, customer_id)
        if column == "email" and rows(
            state,
            "SELECT id FROM customers WHERE lower(email) = lower(?) AND id != ?",
            (value, customer_id),
        ):
            raise ToolError(f"{value} is already used by another customer")
        state.conn.execute(f"UPDATE customers SET {column} = ? WHERE id = ?", (value, customer_id))
        state.conn.commit()
    return {"customer_id": customer_id, column: value}


@tool
def update_customer_email(ctx: ToolContext, customer_id: int, email: str) -> dict[str, Any]:
    """Change the email address on a customer's account (not the phone number).

    Args:
        customer_id: The customer's numeric id.
        email: The new email address.
    """
    if not _EMAIL.match(email.strip()):
        raise ToolError(f"{email.strip()!r} is not a valid email address")
    return _update_contact(ctx, customer_id, "email", email.strip())


@tool
def update_customer_phone(ctx: ToolContext, customer_id: int, phone: str) -> dict[str, Any]:
    """Change the phone number on a customer's account (not the email address).

    Args:
        customer_id: The customer's numeric id.
        phone: The new phone number, digits with an optional leading +.
    """
    if not _PHONE.match(phone.strip()):
        raise ToolError(f"{phone.strip()!r} is not a valid phone number")
    return _update_contact(ctx, customer_id, "phone", phone.strip())


@tool
def create_return(
    ctx: ToolContext, order_id: int, product_id: int, quantity: int, reason: str
) -> dict[str, Any]:
    """Open a return for delivered items (within 30 days of delivery). The refund follows
    when the items arrive back; this does not refund anything now.

    Args:
        order_id: The order's numeric id.
        product_id: The product being returned.
        quantity: How many units are returned.
        reason: Why the customer returns them.
    """
    state = state_of(ctx)
    if quantity < 1:
        raise ToolError("quantity must be at least 1")
    with state.lock:
        order = one(
            state, "SELECT * FROM orders WHERE id = ?", (order_id,), f"no order with id {order_id}"
        )
        if order["status"] != "delivered":
            raise ToolError(
                f"order {order_id} is {order['status']}; only delivered orders can be returned"
            )
        days = (date.fromisoformat(state.today) - date.fromisoformat(order["delivered"])).days
        if days > RETURN_DAYS:
            raise ToolError(
                f"order {order_id} was delivered {days} days ago, on {order['delivered']}; "
                f"returns are accepted within {RETURN_DAYS} days of delivery"
            )
        bought = rows(
            state,
            "SELECT coalesce(sum(quantity), 0) AS q FROM order_items WHERE order_id = ? "
            "AND product_id = ? AND status = 'active'",
            (order_id, product_id),
        )[0]["q"]
        if not bought:
            raise ToolError(f"product {product_id} is not part of order {order_id}")
        returned = rows(
            state,
            "SELECT coalesce(sum(quantity), 0) AS q FROM returns WHERE order_id = ? "
            "AND product_id = ?",
            (order_id, product_id),
        )[0]["q"]
        if returned + quantity > bought:
            raise ToolError(
                f"order {order_id} has {bought - returned} unit(s) of product {product_id} "
                f"left to return; {quantity} requested"
            )
        cur = state.conn.execute(
            "INSERT INTO returns (order_id, product_id, quantity, reason, created) VALUES (?, ?, ?, ?, ?)",
            (order_id, product_id, quantity, reason, state.today),
        )
        state.conn.commit()
    return {
        "return_id": cur.lastrowid,
        "order_id": order_id,
        "product_id": product_id,
        "quantity": quantity,
        "status": "requested",
    }


def _check_amount(amount: float, what: str) -> None:
    """Refuse money amounts that are not a finite, positive number of cents."""
    if not math.isfinite(amount):
        raise ToolError(f"the {what} amount must be a finite number; {amount} given")
    if amount <= 0:
        raise ToolError(f"the {what} amount must be positive")
    if round(amount, 2) <= 0:
        raise ToolError(f"the {what} amount must be at least 0.01; {amount} given")


@tool
def refund_order(ctx: ToolContext, order_id: int, amount: float, reason: str) -> dict[str, Any]:
    """Refund money from an order back to the customer's original card. Refunds on one
    order never exceed what was paid for it.

    Args:
        order_id: The order's numeric id.
        amount: The amount to refund, in dollars.
        reason: Why the money is refunded.
    """
    state = state_of(ctx)
    _check_amount(amount, "refund")
    with state.lock:
        order = one(
            state, "SELECT * FROM orders WHERE id = ?", (order_id,), f"no order with id {order_id}"
        )
        left = refundable(state, order)
        if order["paid"] <= 0:
            raise ToolError(f"order {order_id} has not been paid; there is nothing to refund")
        if amount > left + 1e-9:
            raise ToolError(
                f"at most {left:.2f} can still be refunded on order {order_id} "
                f"(paid {order['paid']:.2f}); {amount:.2f} requested"
            )
        state.conn.execute(
            "INSERT INTO refunds (order_id, amount, method, reason, created) "
            "VALUES (?, ?, 'card', ?, ?)",
            (order_id, round(amount, 2), reason, state.today),
        )
        state.conn.commit()
    return {
        "order_id": order_id,
        "refunded_to_card": round(amount, 2),
        "remaining_refundable": round(left - amount, 2),
    }


@tool
def issue_store_credit(
    ctx: ToolContext, customer_id: int, amount: float, reason: str
) -> dict[str, Any]:
    """Add store credit to a customer's account balance (spendable in the store, not
    money back to a card). At most 100.00 per call.

    Args:
        customer_id: The customer's numeric id.
        amount: The credit to add, in dollars.
        reason: Why the credit is given.
    """
    state = state_of(ctx)
    _check_amount(amount, "credit")
    if amount > MAX_CREDIT:
        raise ToolError(
            f"store credit above {MAX_CREDIT:.2f} needs a manager's approval; "
            f"{amount:.2f} requested"
        )
    with state.lock:
        require_customer(state, customer_id)
        state.conn.execute(
            "UPDATE customers SET store_credit = round(store_credit + ?, 2) WHERE id = ?",
            (amount, customer_id),
        )
        state.conn.execute(
            "INSERT INTO store_credits (customer_id, amount, reason, created) VALUES (?, ?, ?, ?)",
            (customer_id, round(amount, 2), reason, state.today),
        )
        state.conn.commit()
        balance = rows(state, "SELECT store_credit FROM customers WHERE id = ?", (customer_id,))[0][
            "store_credit"
        ]
    return {"customer_id": customer_id, "credited": round(amount, 2), "balance": balance}


@tool
def open_support_ticket(
    ctx: ToolContext, customer_id: int, subject: str, body: str
) -> dict[str, Any]:
    """Open a support ticket for a customer, for problems no other tool can solve (a
    damaged parcel, a complaint, a manager's decision).

    Args:
        customer_id: The customer's numeric id.
        subject: A short subject line.
        body: What happened and what the customer wants.
    """
    state = state_of(ctx)
    with state.lock:
        require_customer(state, customer_id)
        cur = state.conn.execute(
            "INSERT INTO tickets (customer_id, subject, body, created) VALUES (?, ?, ?, ?)",
            (customer_id, subject, body, state.today),
        )
        state.conn.commit()
    return {"ticket_id": cur.lastrowid, "status": "open"}
