"""A state-changing call to slip into a ground truth: the ``add_other`` perturbation of
:mod:`~sandlot.environments.worlds.bfcl.agreement`.

At a point of the ground truth (after one of its calls), the backends hold the state the
calls so far leave. Each involved class offers a few calls of its state-changing
functions with arguments taken from that state (a file of the current directory, a
contact of the messaging app, a stock of the market, an open order...) or from the
turn's ground-truth calls; the candidates are those whose function the turn's ground
truth does not call, that run without an error and change some instance's state. One is
drawn with the caller's seeded random generator.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from sandlot.environments.tasks import ReferenceCall
from sandlot.environments.worlds.bfcl.backends import (
    Instances,
    compare_instances,
    load_instances,
    method_table,
    run_call,
)

__all__ = ["extra_call", "extra_candidates"]

Call = tuple[str, dict[str, Any]]


def _files_system(fs: Any, words: list[str]) -> list[Call]:
    here = fs._current_dir.contents
    files = sorted(n for n, item in here.items() if type(item).__name__ == "File")
    new_file = next((w for w in words if "." in w and w not in here), "notes.txt")
    calls: list[Call] = [("mkdir", {"dir_name": "archive"}), ("touch", {"file_name": new_file})]
    if files:
        calls.append(("rm", {"file_name": files[0]}))
        calls.append(("echo", {"content": "draft", "file_name": files[0]}))
    return calls


def _messages(api: Any, words: list[str]) -> list[Call]:
    users = sorted(api.user_map.items())
    own = api.current_user
    others = [uid for _, uid in users if uid != own]
    calls: list[Call] = [("add_contact", {"user_name": "Zoe"})]
    if others:
        text = next((w for w in words if " " in w), "See you soon.")
        calls.append(("send_message", {"receiver_id": others[0], "message": text}))
    received = sorted({r for message in api.inbox for r in message})
    if received:
        calls.append(("delete_message", {"receiver_id": received[0]}))
    return calls


def _posts(api: Any, words: list[str]) -> list[Call]:
    calls: list[Call] = [("post_tweet", {"content": next((w for w in words), "Hello")})]
    authors = sorted({t["username"] for t in api.tweets.values()} - {api.username})
    followed = sorted(set(api.following_list))
    target = next((a for a in authors if a not in followed), "charlie")
    calls.append(("follow_user", {"username_to_follow": target}))
    if followed:
        calls.append(("unfollow_user", {"username_to_unfollow": followed[0]}))
    if api.tweets:
        first = min(int(k) for k in api.tweets)
        calls.append(("retweet", {"tweet_id": first}))
        calls.append(("comment", {"tweet_id": first, "comment_content": "Nice"}))
    return calls


def _tickets(api: Any, words: list[str]) -> list[Call]:
    calls: list[Call] = [("create_ticket", {"title": next((w for w in words), "Follow-up")})]
    open_ = [t["id"] for t in api.ticket_queue if t.get("status") != "Closed" and "id" in t]
    if open_:
        calls.append(("close_ticket", {"ticket_id": open_[0]}))
    return calls


def _trading(bot: Any, words: list[str]) -> list[Call]:
    symbols = sorted(bot.stocks)
    watched = list(bot.watch_list)
    calls: list[Call] = [("fund_account", {"amount": 100.0})]
    new = next((s for s in symbols if s not in watched), None)
    if new:
        calls.append(("add_to_watchlist", {"stock": new}))
    if watched:
        calls.append(("remove_stock_from_watchlist", {"symbol": watched[0]}))
    if symbols:
        price = bot.stocks[symbols[0]]["price"]
        order = {"order_type": "Buy", "symbol": symbols[0], "price": price, "amount": 1}
        calls.append(("place_order", order))
    pending = sorted(
        k for k, o in bot.orders.items() if isinstance(o, dict) and o.get("status") == "Open"
    )
    if pending:
        calls.append(("cancel_order", {"order_id": pending[0]}))
    return calls


def _travel(api: Any, words: list[str]) -> list[Call]:
    token = api.access_token
    calls: list[Call] = [("set_budget_limit", {"access_token": token, "budget_limit": 1000.0})]
    if api.booking_record:
        booking = sorted(api.booking_record)[0]
        calls.append(("cancel_booking", {"access_token": token, "booking_id": booking}))
    return calls


def _vehicle(car: Any, words: list[str]) -> list[Call]:
    locked = car.doorStatus.get("driver") == "locked"
    brake = "release" if car.parkingBrakeStatus == "engaged" else "engage"
    return [
        ("lockDoors", {"unlock": locked, "door": ["driver"]}),
        ("setHeadlights", {"mode": "off" if car.headLightStatus == "on" else "on"}),
        ("fillFuelTank", {"fuelAmount": 1.0}),
        ("activateParkingBrake", {"mode": brake}),
        ("adjustClimateControl", {"temperature": float(car.acTemperature) + 2.0}),
        ("pressBrakePedal", {"pedalPosition": 0.5}),
    ]


_BUILDERS: dict[str, Callable[[Any, list[str]], list[Call]]] = {
    "GorillaFileSystem": _files_system,
    "MessageAPI": _messages,
    "TwitterAPI": _posts,
    "TicketAPI": _tickets,
    "TradingBot": _trading,
    "TravelAPI": _travel,
    "VehicleControlAPI": _vehicle,
}


def _words(calls: list[ReferenceCall]) -> list[str]:
    return [v for call in calls for v in call.args.values() if isinstance(v, str) and v]


def _changes(instances: Instances, name: str, args: dict[str, Any]) -> bool:
    trial = copy.deepcopy(instances)
    ok, result = run_call(method_table(trial), name, copy.deepcopy(args))
    if not ok or result.startswith('{"error"'):
        return False
    return any(compare_instances(trial[c], instances[c]) for c in instances)


def extra_candidates(
    instances: Instances, turn: list[ReferenceCall]
) -> list[tuple[str, dict[str, Any]]]:
    """The calls that may be added to ``turn`` with the backends in ``instances``: of a
    state-changing function the turn does not call, running cleanly, changing state."""
    called = {call.tool for call in turn}
    words = _words(turn)
    out = []
    for class_name, instance in instances.items():
        builder = _BUILDERS.get(class_name)
        try:
            calls = builder(instance, words) if builder else []
        except (AttributeError, KeyError, TypeError, ValueError):  # data of an odd shape
            calls = []
        for name, args in calls:
            if name not in called and _changes(instances, name, args):
                out.append((name, args))
    return out


def extra_call(
    classes: list[str],
    config: dict[str, Any],
    turns: list[list[ReferenceCall]],
    rng: random.Random,
    *,
    long_context: bool = False,
) -> tuple[int, int, ReferenceCall] | None:
    """Where to add which call: ``(turn, index to insert at, call)``, drawn with ``rng``
    among the points after a ground-truth call that have a candidate; None when none
    has one."""
    spots = [(t, i) for t, turn in enumerate(turns) for i in range(len(turn))]
    rng.shuffle(spots)
    for t, i in spots:
        instances = load_instances(classes, config, long_context=long_context)
        table = method_table(instances)
        for earlier in [c for turn in turns[:t] for c in turn] + turns[t][: i + 1]:
            run_call(table, earlier.tool, copy.deepcopy(earlier.args))
        candidates = extra_candidates(instances, turns[t])
        if candidates:
            name, args = rng.choice(candidates)
            return t, i + 1, ReferenceCall(tool=name, args=args)
    return None
