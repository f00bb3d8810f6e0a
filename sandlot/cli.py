"""The ``sandlot`` command line: a thin typer app over the library.

Each command opens a library object and calls one function; the work lives in the
library. Command groups: run, tasks, tools, sandbox, replay, score, compare, view, export.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="sandlot",
    help="Run, trace, replay and score LLM agent episodes in sandboxed tool environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# --- tools -------------------------------------------------------------------------

tools_app = typer.Typer(
    help="List the tools of an environment, the schema a model sees, and how a retriever "
    "ranks them for a query.",
    no_args_is_help=True,
)
app.add_typer(tools_app, name="tools")

EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment name (e.g. store, workspace).")
]
ExtraTools = Annotated[
    list[str] | None,
    typer.Option(
        "--tools",
        help="Extra tools: a registered toolset's name, a module name or a .py file "
        "whose @tool functions are added to the environment; an MCP server "
        "('mcp+stdio:COMMAND ARGS', 'mcp+http://HOST:PORT/PATH'; the mcp extra); or "
        "LangChain tools ('langchain:MODULE[:ATTR]'). Repeatable.",
    ),
]
InstalledTools = Annotated[
    bool,
    typer.Option(
        "--installed-tools/--no-installed-tools",
        help="Add the installed toolsets (sandlot.tools entry points) to the worlds they are for.",
    ),
]


RetrieverOption = Annotated[
    str | None,
    typer.Option(
        "--retriever",
        help="How a plan step's tools are found: bm25 (the default: words, no model) | "
        "embedding (a small sentence-embedding model; the embeddings extra) | hybrid (both, "
        "fused) | a name registered in sandlot.registry.RETRIEVERS or a sandlot.retrievers "
        "entry point | module:attribute of a factory(toolset) -> Retriever.",
    ),
]


def _retriever(spec: str | None) -> str:
    """A --retriever value, checked (an unknown name lists the known ones)."""
    from sandlot.errors import UserError
    from sandlot.retrieval import resolve_retriever

    spec = spec or "bm25"
    try:
        resolve_retriever(spec)
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--retriever") from exc
    return spec


def _extra_tools(sources: list[str] | None, installed: bool = True) -> list:
    """The toolsets a command adds: the installed ones (unless ``installed`` is false),
    then each --tools source (a registered toolset's name, a module or a .py file); one
    that cannot be loaded is a usage error."""
    from sandlot.tools.sources import load_toolsets

    with _tool_errors():
        return load_toolsets(sources or (), installed=installed)


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """A tool source that cannot be loaded: a usage error naming it, not a traceback."""
    from sandlot.errors import UserError

    try:
        yield
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else "a tools file"
        raise typer.BadParameter(f"{where}: {exc.msg}", param_hint="--tools") from exc
    except (UserError, ImportError, OSError, ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--tools") from exc


def _check_clashes(environments: set[str], extra: list) -> None:
    """An added tool named like one of a world's own is a usage error, said before any
    episode runs (a world's toolset refuses it only when first built)."""
    from sandlot.registry import WORLDS
    from sandlot.tools.sources import tools_for

    for name in sorted(environments):
        own = set(WORLDS.get(name).default_toolset().names())
        clash = sorted(t.name for t in tools_for(name, extra) if t.name in own)
        if clash:
            raise typer.BadParameter(
                f"the {name} world already has tool(s) named {', '.join(clash)}; "
                "rename the added ones (@tool(name=...))",
                param_hint="--tools",
            )


def _check_sandbox(backend: str, environments: set[str]) -> None:
    """A run whose worlds run code, with --sandbox auto and no usable Docker: refused
    before any episode, with what to do (auto never falls back to the local backend)."""
    from sandlot.environments.sandbox.factory import resolve_backend
    from sandlot.errors import UserError
    from sandlot.registry import WORLDS

    if not any(WORLDS.get(name).uses_sandbox for name in environments):
        return
    try:
        resolve_backend(backend)
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sandbox") from exc


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=option)
    return value


def _sandbox(value: str) -> str:
    """A --sandbox value: auto or a registered backend (builtin, code or entry point)."""
    from sandlot.environments.sandbox.factory import backend_names

    return _choice(value, tuple(backend_names()), "--sandbox")


def _environment(env: str, extra: list[str] | None, installed: bool = True):
    """A world by name, resolved through the registry like every other name; an unknown
    name lists the known ones, one that fails to import says which entry point."""
    from sandlot.errors import UserError
    from sandlot.registry import WORLDS

    try:
        cls = WORLDS.get(env)
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--env") from exc
    extra_tools = _extra_tools(extra, installed)
    _check_clashes({env}, extra_tools)
    world = cls(extra_tools=extra_tools)
    with _tool_errors():  # two added toolsets with different tools of one name
        world.toolset  # noqa: B018 - built here so that a clash is a usage error
    return world


@contextlib.contextmanager
def _trace_file(param_hint: str) -> Iterator[None]:
    """A trace path that is missing (where one must exist) or not a trace: a usage error."""
    from sandlot.traces.errors import TraceFileError

    try:
        yield
    except TraceFileError as exc:
        raise typer.BadParameter(str(exc), param_hint=param_hint) from exc


@contextlib.contextmanager
def _run_errors() -> Iterator[None]:
    """Something a run depends on failed (the trace's disk, ...): its message and exit 1,
    not a traceback."""
    from sandlot.errors import RunError

    try:
        yield
    except RunError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc


@tools_app.command("list")
def tools_list(
    env: EnvOption = "store", tools: ExtraTools = None, installed_tools: InstalledTools = True
) -> None:
    """Print the tools of an environment: name, parameters, description (its own, the
    installed toolsets for it and any added with --tools)."""
    from sandlot.console import print_toolset

    print_toolset(_environment(env, tools, installed_tools).toolset)


@tools_app.command("show")
def tools_show(
    name: Annotated[str, typer.Argument(help="The tool's name.")],
    env: EnvOption = "store",
    tools: ExtraTools = None,
    installed_tools: InstalledTools = True,
) -> None:
    """Print the exact JSON schema a model sees for one tool."""
    from sandlot.console import print_json

    toolset = _environment(env, tools, installed_tools).toolset
    found = toolset.get(name)
    if found is None:
        import difflib

        close = difflib.get_close_matches(name, toolset.names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise typer.BadParameter(
            f"no tool {name!r} in {env}; {hint}tools: {', '.join(toolset.names())}",
            param_hint="NAME",
        )
    print_json(found.schema())


@tools_app.command("search")
def tools_search(
    query: Annotated[
        str, typer.Argument(help="What a plan step would say, e.g. 'refund an order'.")
    ],
    env: EnvOption = "store",
    retriever: RetrieverOption = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="The most tools to list.")] = 10,
    tools: ExtraTools = None,
    installed_tools: InstalledTools = True,
) -> None:
    """Rank an environment's tools for QUERY as the agent's retriever does for a plan
    step: rank, tool, score and the first line of its description (the top k are what
    the executor is offered with the same --k). Says "nothing matched" when no tool
    matched."""
    from sandlot.console import print_ranking
    from sandlot.errors import UserError
    from sandlot.retrieval import retriever_for

    spec = _retriever(retriever)
    toolset = _environment(env, tools, installed_tools).toolset
    try:
        found = retriever_for(toolset, spec)
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--retriever") from exc
    print_ranking(query, found.name, found.rank(query, k), toolset)


# --- worlds and models ------------------------------------------------------------

worlds_app = typer.Typer(help="The worlds tasks can name, and where each came from.")
app.add_typer(worlds_app, name="worlds", no_args_is_help=True)
models_app = typer.Typer(help="The model providers --model can name, and where each came from.")
app.add_typer(models_app, name="models", no_args_is_help=True)


@worlds_app.command("list")
def worlds_list() -> None:
    """List every world (builtin, registered in code, or from an installed package's
    entry point) with where it came from. Exit 2 when one fails to import."""
    from sandlot.registry import WORLDS

    if not _print_registry(WORLDS, describe=lambda cls: cls.description):
        raise typer.Exit(2)


@models_app.command("list")
def models_list() -> None:
    """List every model provider (``--model KIND[:REST]``) with where it came from. Exit 2
    when one fails to import."""
    from sandlot.registry import MODELS

    if not _print_registry(MODELS, describe=lambda provider: _first_line(provider.__doc__)):
        raise typer.Exit(2)


def _print_registry(registry, describe) -> bool:
    """Each name, where it came from, and its description — or why it failed to import
    (the error's message, never a traceback). False when one failed."""
    from sandlot.errors import UserError

    ok = True
    for entry in registry.entries():
        typer.echo(f"{entry.name}: {entry.origin}")
        try:
            about = describe(registry.get(entry.name))
        except UserError as exc:
            ok = False
            typer.echo(f"    error: {exc}")
            continue
        if about:
            typer.echo(f"    {about}")
    return ok


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


# --- tasks -------------------------------------------------------------------------

tasks_app = typer.Typer(help="Check task files.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

TaskPaths = Annotated[
    list[Path],
    typer.Argument(
        help="Task files (YAML/JSON), directories, or task sets (NAME:SUBSET, e.g. "
        "bfcl:multi_turn_base)."
    ),
]


def _load_tasks(paths: list[Path], extra_tools: list[Any] | None = None) -> list[Any]:
    """The tasks in ``paths``, checked against their worlds plus ``extra_tools``; a bad
    file is printed (escaped) and exits 2."""
    from sandlot.environments.loader import TaskFileError, load_tasks

    try:
        return load_tasks(paths, extra_tools=extra_tools or [])
    except TaskFileError as exc:
        from rich.markup import escape

        from sandlot.console import err_console

        # The message quotes the task file: escape it so its text is never read as markup.
        err_console.print(f"[red]invalid task file[/]\n{escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc


@tasks_app.command("validate")
def tasks_validate(
    paths: TaskPaths, tools: ExtraTools = None, installed_tools: InstalledTools = True
) -> None:
    """Load task files and report every problem (file, task, field). Exit 2 on errors.

    Checks what a run would reject: each task against its world (its tools plus the
    installed toolsets for it and any added with --tools, its initial_state, its state
    checks), ids, counts and paths.
    """
    from sandlot.console import console

    extra_tools = _extra_tools(tools, installed_tools)
    tasks = _load_tasks(paths, extra_tools)
    _check_clashes({t.environment for t in tasks}, extra_tools)
    by_env: dict[str, int] = {}
    for t in tasks:
        by_env[t.environment] = by_env.get(t.environment, 0) + 1
    parts = ", ".join(f"{n} {env}" for env, n in sorted(by_env.items()))
    console.print(f"{len(tasks)} tasks OK ({parts})")


# --- sandbox -----------------------------------------------------------------------

sandbox_app = typer.Typer(
    help="Build, check and clean up the Docker sandbox.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("build")
def sandbox_build(
    method: Annotated[str, typer.Option(help="auto | debootstrap | dockerfile")] = "auto",
    tag: Annotated[
        str | None, typer.Option(help="Image tag (default sandlot-sandbox:latest).")
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Build even when the image exists.")] = False,
) -> None:
    """Build the sandbox image (once per machine; returns at once when it exists).

    Offline: a Debian rootfs made by debootstrap (as root), imported with the Docker SDK.

    Or from the Dockerfile, when its base image is already present locally.
    """
    from sandlot.environments.sandbox.image import IMAGE, ImageBuildError, build_image

    try:
        build_image(tag or IMAGE, method=method, rebuild=rebuild, log=typer.echo)
    except (ImageBuildError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@sandbox_app.command("doctor")
def sandbox_doctor() -> None:
    """Check Docker, the image and a hardened container; say what to fix.

    Exits 1 when any check fails.
    """
    from sandlot.environments.sandbox.doctor import doctor

    checks = doctor()
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        typer.echo(f"{mark} {check.name}: {check.detail}")
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@sandbox_app.command("cleanup")
def sandbox_cleanup(
    all_: Annotated[bool, typer.Option("--all", help="Remove every sandlot container.")] = False,
    run: Annotated[
        str | None, typer.Option("--run", help="Remove the containers of one run.")
    ] = None,
) -> None:
    """Remove sandbox containers left behind by runs whose process is gone.

    With --run, the containers of that run; with --all, every sandlot container.
    """
    from sandlot.environments.sandbox.cleanup import cleanup

    typer.echo(f"removed {cleanup(run_id=run, all=all_)} container(s)")


# --- run ---------------------------------------------------------------------------


@app.command("run")
def run_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Task files or directories, or task sets (NAME:SUBSET, e.g. "
            "bfcl:multi_turn_base, agentdojo:banking)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="oracle (the default) | null | openai:NAME | scripted:FILE:ATTR | "
            "replay:DB:EPISODE | KIND:... of a registered provider (sandlot models list). "
            "With --resume the run's own model is the default."
        ),
    ] = None,
    db: Annotated[Path, typer.Option(help="The SQLite trace file to record to.")] = Path(
        "traces.db"
    ),
    concurrency: Annotated[int, typer.Option(min=1, help="Episodes at once.")] = 4,
    epochs: Annotated[int, typer.Option(min=1, help="Runs per task (pass@k with k = epochs).")] = 1,
    agent: Annotated[str, typer.Option(help="plan-execute | single")] = "plan-execute",
    k: Annotated[int, typer.Option(min=1, help="Tools the retriever offers per step.")] = 5,
    retriever: RetrieverOption = None,
    demos: Annotated[
        Path | None,
        typer.Option(
            "--demos",
            help="A trace file to take demonstrations from: each episode's executor is "
            "shown the passed episodes of the most similar other tasks (their tool calls "
            "and answers). Never the same task, never this run's own episodes.",
        ),
    ] = None,
    demos_k: Annotated[
        int, typer.Option("--demos-k", min=1, help="Demonstrations shown per episode.")
    ] = 2,
    parallel_steps: Annotated[
        bool,
        typer.Option(
            "--parallel-steps",
            help="Let the planner mark steps that do not need each other and run them "
            "side by side, each in its own branch (docs/fanout.md). Recorded in the run.",
        ),
    ] = False,
    max_model_calls: Annotated[
        int, typer.Option(min=1, help="Model-call budget per episode.")
    ] = 40,
    max_episode_tokens: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Token budget per episode (prompt + completion of the agent's model calls): "
            "once reached, the episode ends with 'budget' (default: none).",
        ),
    ] = None,
    max_episode_cost: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Cost budget per episode in USD, for a model with a price: once reached, "
            "the episode ends with 'budget' (default: none).",
        ),
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(
            help="auto (the default) | docker | local | a registered backend (worlds with a "
            "sandbox). With --resume the run's own backend is the default."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL). A user and "
            "password in it are used, never written: stored as [REDACTED]."
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="API key (default: $OPENAI_API_KEY). Never written to the trace."),
    ] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, help="Seconds one model request may take before it is tried again."
        ),
    ] = 60.0,
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Tries after the first for a model request that timed out, could not "
            "connect or got 408/409/429/5xx (with backoff). A request gives up after "
            "(retries + 1) x --request-timeout plus the backoff.",
        ),
    ] = 4,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, help="Sampling temperature (default: the server's).")
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Nucleus sampling top_p (default: the server's)."),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="The most tokens one model reply may have (default: no cap)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Sampling seed, for servers that honour one.")
    ] = None,
    price_input: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="USD per million input (prompt) tokens: each model call's cost is "
            "recorded, and each episode's (default: no cost recorded). One price for every "
            "role, like --temperature.",
        ),
    ] = None,
    price_output: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="USD per million output (completion) tokens (with --price-input; a "
            "missing one counts as 0).",
        ),
    ] = None,
    price_cached: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="USD per million cached prompt tokens (with --price-input; default: the "
            "input price).",
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="A JSON or TOML price table, model name -> {input, output, cached} in USD "
            "per million tokens, over the built-in one (docs/models.md). Every model, the "
            "judge's too, is priced by its name; --price-input overrides it.",
        ),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="A SQLite response cache: a request seen before is answered from it "
            "without calling the model (cost 0, marked cache_hit), a new one is stored. "
            "Reruns with a deterministic model then cost nothing and are identical.",
        ),
    ] = None,
    tool_calls: Annotated[
        str,
        typer.Option(
            help="native | text. text: for models without tool calling — the tools are "
            "described in the prompt and calls are read from the reply's text."
        ),
    ] = "native",
    planner_model: Annotated[
        str | None,
        typer.Option(help="A model for the planner only (default: --model)."),
    ] = None,
    executor_model: Annotated[
        str | None,
        typer.Option(help="A model for the executor only (default: --model)."),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Model for judge checklist items (default: none; such items are skipped)."
        ),
    ] = None,
    user_model: Annotated[
        str | None,
        typer.Option(
            help="Model that plays the simulated user of tasks whose user is played by a "
            "model (user.llm: true); 'oracle' plays it from the task's hidden facts. "
            "Scripted users follow their script (docs/users.md). With --resume the run's "
            "own user model is the default when it can be rebuilt from its name (oracle)."
        ),
    ] = None,
    tools: ExtraTools = None,
    installed_tools: InstalledTools = True,
    strict: Annotated[bool, typer.Option(help="Exit 1 unless every episode succeeded.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(
            help="After the run, send its episodes as OpenTelemetry spans to this OTLP/HTTP "
            "receiver (its full URL, e.g. http://localhost:4318/v1/traces), as `sandlot "
            "export --format otlp` does; the otel extra.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Resume the interrupted run in --db instead of starting one.")
    ] = False,
    resume_id: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="With --resume: the run to resume, an id or a prefix (default: the latest "
            "run in --db; sandlot runs lists them).",
        ),
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            help="Run only the task with this id (repeatable; a trailing * matches a prefix).",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="local | ray. ray: each episode runs as a Ray task on a Ray cluster "
            "(pip install 'sandlot[ray]'; docs/ray.md); this process writes the trace."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="The Ray cluster for --executor ray: the head node's HOST:PORT, "
            "ray://HOST:10001, or auto (default: a Ray instance started on this machine)."
        ),
    ] = None,
) -> None:
    """Run agent episodes for task files, record every trajectory to --db, score each
    against its checklist, and print a summary table."""
    from sandlot.agents.running.runner import run as run_tasks
    from sandlot.console import print_run_summary

    _choice(agent, ("plan-execute", "single"), "--agent")
    endpoint = dict(
        base_url=base_url,
        api_key=api_key,
        timeout=request_timeout,
        max_retries=retries,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        tool_calls=_choice(tool_calls, ("native", "text"), "--tool-calls"),
        price=_price(price_input, price_output, price_cached),
        prices=_prices(prices),
        cache=cache,
    )
    # a resume without --sandbox takes the backend its run recorded
    env_options: dict = (
        {} if resume and sandbox is None else {"sandbox": _sandbox(sandbox or "auto")}
    )
    _check_executor(executor, address, endpoint)
    if otlp_endpoint is not None:  # before anything runs, not after the whole run
        from sandlot.errors import UserError
        from sandlot.traces.otel import require_sdk

        if not otlp_endpoint.startswith(("http://", "https://")):
            raise typer.BadParameter(
                "give the receiver's full http(s) URL, e.g. http://localhost:4318/v1/traces",
                param_hint="--otlp-endpoint",
            )
        try:
            require_sdk()
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint="--otlp-endpoint") from exc
    if tools or not installed_tools:  # else a resume adds the tools its run recorded
        env_options.update(tools=tools or [], installed_tools=installed_tools)
    added = _extra_tools(tools, installed_tools)  # a bad source fails before any episode
    if resume and demos is not None:
        raise typer.BadParameter(
            "a resumed run keeps the demonstrations it was started with; leave --demos out",
            param_hint="--demos",
        )
    if demos is not None and not demos.is_file():
        raise typer.BadParameter(f"no trace file at {demos}", param_hint="--demos")
    if resume and retriever is not None:
        raise typer.BadParameter(
            "a resumed run keeps the retriever it was started with; leave --retriever out",
            param_hint="--retriever",
        )
    if resume_id is not None and not resume:
        raise typer.BadParameter(
            "--run names the run to resume: give --resume too", param_hint="--run"
        )
    if resume:
        from sandlot.agents.after.resume import ResumeError, resume_run

        resumed_id = None if resume_id is None else _run_id(db, resume_id, db_hint="--db")
        resumed_model = _agent_model(model, planner_model, executor_model, endpoint)
        resumed_judge = _make_model(judge, option="--judge", **endpoint) if judge else None
        resumed_user = (
            _make_model(user_model, option="--user-model", **endpoint) if user_model else None
        )
        _redact_output(resumed_model, resumed_judge, resumed_user)
        roles = {"judge": (judge, resumed_judge), "user_model": (user_model, resumed_user)}
        resumed_executor = _executor(
            executor,
            address,
            (model, resumed_model),
            planner_model,
            executor_model,
            roles,
            endpoint,
        )
        # innermost first: the resume's and the trace's errors are about --db, a recorded
        # tool source that cannot be loaded is about --tools
        with (
            _interrupted(db, 1, None) as finished,
            _tool_errors(),
            _trace_file("--db"),
            _run_errors(),
            _progress(0, quiet) as advance,
        ):
            try:
                result = asyncio.run(
                    resume_run(
                        db,
                        model=resumed_model,
                        run_id=resumed_id,
                        concurrency=concurrency,
                        judge=resumed_judge,
                        env_options=env_options,
                        on_episode=_both(finished.append, advance),
                        user_model=resumed_user,
                        executor=resumed_executor,
                    )
                )
            except ResumeError as exc:
                raise typer.BadParameter(str(exc), param_hint="--db") from exc
        print_run_summary(result)
        _viewer_hint(db, "run", result.run_id)
        _send_run(db, otlp_endpoint, result.run_id)
        return
    if not paths:
        raise typer.BadParameter("give at least one task file or directory (or --resume)")
    tasks = _only_tasks(_load_tasks(paths, added), task)
    the_model = _agent_model(model or "oracle", planner_model, executor_model, endpoint)
    judge_model = _make_model(judge, option="--judge", **endpoint) if judge else None
    the_user_model = (
        _make_model(user_model, option="--user-model", **endpoint) if user_model else None
    )
    _redact_output(the_model, judge_model, the_user_model)
    the_executor = _executor(
        executor,
        address,
        (model or "oracle", the_model),
        planner_model,
        executor_model,
        {"judge": (judge, judge_model), "user_model": (user_model, the_user_model)},
        endpoint,
    )
    _check_clashes({t.environment for t in tasks}, added)
    if the_executor is None or the_executor.local_sandboxes:  # else the workers' machines
        _check_sandbox(env_options["sandbox"], {t.environment for t in tasks})
    from sandlot.agents.graph.demos import DemoSource
    from sandlot.agents.graph.runtime import AgentConfig

    if max_episode_cost is not None and max_episode_cost <= 0:
        raise typer.BadParameter(
            "give a budget of more than 0 USD", param_hint="--max-episode-cost"
        )
    config = AgentConfig(
        agent=agent,  # type: ignore[arg-type]
        k=k,
        max_model_calls=max_model_calls,
        max_episode_tokens=max_episode_tokens,
        max_episode_cost=max_episode_cost,
        retriever=_retriever(retriever),
        demos=None if demos is None else DemoSource(str(demos), k=demos_k),
        parallel_steps=parallel_steps,
    )
    with (
        _interrupted(db, epochs, len(tasks) * epochs) as finished,
        _trace_file("--db"),
        _run_errors(),
        _progress(len(tasks) * epochs, quiet) as advance,
    ):
        result = asyncio.run(
            run_tasks(
                tasks,
                model=the_model,
                db=db,
                agent=config,
                concurrency=concurrency,
                epochs=epochs,
                judge=judge_model,
                env_options=env_options,
                on_episode=_both(finished.append, advance),
                user_model=the_user_model,
                executor=the_executor,
            )
        )
    print_run_summary(result)
    _viewer_hint(db, "run", result.run_id)
    _send_run(db, otlp_endpoint, result.run_id)
    if strict and not all(e.success for e in result.episodes):
        raise typer.Exit(1)


def _both(*calls):
    """One on_episode callback that calls each of ``calls`` in turn."""

    def call(result) -> None:
        for one in calls:
            one(result)

    return call


@contextlib.contextmanager
def _interrupted(db: Path, epochs: int, total: int | None) -> Iterator[list]:
    """Ctrl-C during a run: the summary of the episodes finished so far (the list this
    yields, filled as they finish) and the command that continues the run; exit 130."""
    finished: list = []
    try:
        yield finished
    except KeyboardInterrupt:
        import os
        import shlex

        from sandlot.agents.running.results import RunResult
        from sandlot.console import err_console, print_run_summary
        from sandlot.traces.runs_compare import open_trace

        run_id = None
        with contextlib.suppress(Exception):  # no trace yet: nothing was recorded
            with open_trace(db) as reader:
                mine = [r["id"] for r in reader.runs() if r.get("pid") == os.getpid()]
            run_id = mine[-1] if mine else None
        if run_id is None:
            err_console.print("interrupted before the run was recorded", highlight=False)
            raise typer.Exit(130) from None
        print_run_summary(RunResult(run_id, finished, epochs, str(db)))
        of = "" if total is None else f" of {total}"
        err_console.print(
            f"interrupted: {len(finished)}{of} episodes finished and recorded; continue the "
            f"run with:\n  sandlot run --resume --run {run_id} --db {shlex.quote(str(db))}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None


def _run_id(db: Path, ref: str, param_hint: str = "--run", db_hint: str = "DB") -> str:
    """The run id ``ref`` (an id, a prefix or 'latest') names in ``db``; an unknown one is a
    usage error that lists the runs there."""
    from sandlot.errors import UnknownNameError, UserError
    from sandlot.traces.runs_compare import open_trace, resolve_run

    with _trace_file(db_hint), open_trace(db) as reader:
        try:
            return resolve_run(reader, ref)
        except UnknownNameError as exc:
            ids = [r["id"] for r in reader.runs()]
            latest = ", ".join(ids[-5:]) + (f" and {len(ids) - 5} before" if len(ids) > 5 else "")
            raise typer.BadParameter(
                f"no run {ref!r} in {db}; its runs: {latest or 'none'} "
                f"(sandlot runs --db {db} lists them)",
                param_hint=param_hint,
            ) from exc
        except UserError as exc:  # a prefix of several runs
            raise typer.BadParameter(str(exc), param_hint=param_hint) from exc


def _viewer_hint(db: Path, page: str, ident: str) -> None:
    """Say how to see what was just recorded in the viewer (its default address)."""
    from sandlot.console import console

    console.print(
        f"view it: sandlot view {db}  then open http://127.0.0.1:8321/#/{page}/{ident}",
        highlight=False,
        soft_wrap=True,
    )


def _only_tasks(tasks: list, wanted: list[str] | None) -> list:
    """The tasks ``--task`` names (all when it is not given); an id no task has is a
    usage error that suggests the closest ids."""
    if not wanted:
        return tasks
    import difflib

    ids = [t.id for t in tasks]
    for want in wanted:
        found = [i for i in ids if i.startswith(want[:-1])] if want.endswith("*") else []
        if want in ids or found:
            continue
        close = difflib.get_close_matches(want, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f" ({len(ids)} tasks loaded)"
        raise typer.BadParameter(f"no task {want!r} in the task files{hint}", param_hint="--task")

    def chosen(task_id: str) -> bool:
        return any(task_id == w or (w.endswith("*") and task_id.startswith(w[:-1])) for w in wanted)

    return [t for t in tasks if chosen(t.id)]


def _check_executor(name: str, address: str | None, endpoint: dict) -> None:
    """Refuse what --executor cannot take before anything runs."""
    _choice(name, ("local", "ray"), "--executor")
    if name == "local" and address is not None:
        raise typer.BadParameter("--address is for --executor ray", param_hint="--address")
    if name == "ray" and endpoint.get("api_key"):
        raise typer.BadParameter(
            "with --executor ray each worker reads its API key from OPENAI_API_KEY in its "
            "own environment (docs/ray.md); set it there instead of --api-key",
            param_hint="--api-key",
        )
    if name == "ray" and endpoint.get("cache") is not None:
        raise typer.BadParameter(
            "the response cache is a file on this machine; leave --cache out with --executor ray",
            param_hint="--cache",
        )


def _executor(
    name: str,
    address: str | None,
    model: tuple[str | None, Any],
    planner: str | None,
    executor: str | None,
    roles: dict[str, tuple[str | None, Any]],
    endpoint: dict | None = None,
):
    """The executor of `sandlot run` (None: local); for ray, with the recipes its
    workers build the models from (``(spec, model built here)`` pairs, priced as here;
    never the API key: each worker reads its own)."""
    if name == "local":
        return None
    from sandlot.agents.running.model_specs import ModelSpec
    from sandlot.agents.running.ray_executor import RayExecutor
    from sandlot.errors import UserError

    options = {k: v for k, v in (endpoint or {}).items() if k not in ("price", "prices", "cache")}

    def spec(pair: tuple[str | None, Any]) -> ModelSpec | None:
        given, made = pair
        price = getattr(made, "price", None) or (endpoint or {}).get("price")
        return None if given is None else ModelSpec.of(given, price, **options)

    agent = spec(model)
    if planner is not None or executor is not None:
        default = model[0] or "oracle"
        agent = ModelSpec(
            default,
            planner=spec((planner or default, None)),
            executor=spec((executor or default, None)),
        )
    try:
        return RayExecutor(
            address, model=agent, judge=spec(roles["judge"]), user_model=spec(roles["user_model"])
        )
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--executor") from exc


def _agent_model(spec: str | None, planner: str | None, executor: str | None, endpoint: dict):
    """The agent's model: ``spec`` for every role, or one per role when --planner-model
    or --executor-model is given (each falls back to ``spec``); None when none is given
    (a resume then rebuilds the run's own model)."""
    if planner is None and executor is None:
        return _make_model(spec, **endpoint) if spec else None
    from sandlot.agents.models.routed import RoutedModel

    default = spec or "oracle"
    plan = _make_model(planner or default, **endpoint)
    act = plan if (executor or default) == (planner or default) else None
    return RoutedModel(plan, act or _make_model(executor or default, **endpoint))


def _price(price_input: float | None, price_output: float | None, price_cached=None):
    """The models' price from --price-input, --price-output and --price-cached (None:
    none given)."""
    if price_input is None and price_output is None and price_cached is None:
        return None
    from sandlot.agents.models.base import Price

    return Price(input=price_input or 0.0, output=price_output or 0.0, cached=price_cached)


def _prices(path: Path | None):
    """The price table with --prices FILE over the built-in one (None: not given)."""
    if path is None:
        return None
    from sandlot.agents.models.prices import load_prices
    from sandlot.errors import UserError

    try:
        return load_prices(path)
    except UserError as exc:
        raise typer.BadParameter(str(exc), param_hint="--prices") from exc


def _make_model(
    spec: str, *, price=None, prices=None, cache=None, option: str = "--model", **options
):
    """The model ``spec`` names, priced by ``price`` or by its name in ``prices``, with
    the response cache at ``cache``; one that cannot be made is a usage error of
    ``option``."""
    from sandlot.agents.models.registry import make_model

    if not spec.startswith(("openai", "llama")):
        options = {}  # the endpoint and sampling options are for those two
    from sandlot.agents.models.base import ModelError

    try:
        made = make_model(spec, **{k: v for k, v in options.items() if v is not None})
    except (ValueError, ModelError) as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc
    if price is not None:
        made.price = price  # any kind: a scripted model's usage has a cost too
    elif prices is not None:
        from sandlot.agents.models.prices import price_of

        made.price = price_of(made.name, prices) or made.price
    if cache is not None:
        from sandlot.agents.models.cache import CachedModel
        from sandlot.errors import UserError

        try:
            made = CachedModel(made, cache)
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint="--cache") from exc
    return made


def _redact_output(*models) -> None:
    """What the command prints from here on goes through the redaction the trace gets:
    the models' secrets and the environment's keys."""
    from sandlot.traces.redact import Redactor
    from sandlot.traces.redact_output import redact_process_output

    redact_process_output(Redactor([s for m in models if m for s in m.secrets()]))


def _progress(total: int, quiet: bool):
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar():
        if quiet:
            yield lambda _result: None
            return
        with Progress(
            TextColumn("episodes"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
        ) as progress:
            tid = progress.add_task("run", total=total, last="")
            yield lambda r: progress.update(tid, advance=1, last=f"{r.task_id}: {r.outcome}")

    return bar()


# --- replay / score / resume ----------------------------------------------------------


@app.command("replay")
def replay_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file.")],
    episode_id: Annotated[str, typer.Argument(help="The episode to replay.")],
    sandbox: Annotated[
        str,
        typer.Option(help="auto | docker | local | a registered backend (worlds with a sandbox)."),
    ] = "auto",
) -> None:
    """Re-run an episode with its recorded model outputs and fresh tools; report the first
    tool result that differs from the recorded one (exit 1) or that the replay matched."""
    from sandlot.agents.after.replay import ReplayError, replay_episode
    from sandlot.console import console, outcome_text

    options = {"sandbox": _sandbox(sandbox)}  # the options' mistakes before the trace's
    episode_id = _episode_id(db, episode_id)  # an id or a unique prefix
    # innermost first: a ReplayError and a TraceFileError are UserErrors too, said as what
    # they are before a recorded tool source that cannot be loaded is (--tools)
    with _tool_errors(), _trace_file("DB"):
        try:
            report = asyncio.run(replay_episode(db, episode_id, env_options=options))
        except ReplayError as exc:
            raise typer.BadParameter(str(exc), param_hint="EPISODE_ID") from exc
    new = report.replay
    console.print(
        f"replay episode {new.episode_id} of {episode_id}: {report.compared} tool calls compared"
    )
    console.print(
        f"score {new.score} (recorded {report.original_score}), "
        f"outcome {outcome_text(new.outcome)} (recorded {outcome_text(report.original_outcome)})"
    )
    for gap in report.gaps:
        console.print(
            f"[yellow]the recording has a gap[/]: {gap.get('note', '')} "
            f"(events {gap.get('missing', '?')})",
            highlight=False,
        )
    _viewer_hint(db, "episode", new.episode_id)
    if report.divergence is None:
        console.print("[green]the replay matched the recording[/]")
        return
    console.print(f"[red]diverged at {report.divergence.describe()}[/]", highlight=False)
    raise typer.Exit(1)


@app.command("fork")
def fork_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file holding the episode.")],
    episode_id: Annotated[str, typer.Argument(help="The episode to fork.")],
    at: Annotated[
        int,
        typer.Option(
            "--at",
            help="The fork point: continue from the state after the episode's first AT "
            "tool calls (1 to the number it made; submit_answer is not counted).",
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            help="The model that continues: oracle | null | openai:NAME | scripted:FILE:ATTR "
            "| KIND:... of a registered provider (sandlot models list)."
        ),
    ],
    policy_addition: Annotated[
        str | None,
        typer.Option(
            help="Text added after the task's policy addition in the agent's prompts, for "
            "the forked episode."
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(help="Like --policy-addition, the text read from this file."),
    ] = None,
    db_out: Annotated[
        Path | None,
        typer.Option(help="Record the fork in this trace file (default: the episode's own)."),
    ] = None,
    sandbox: Annotated[
        str,
        typer.Option(help="auto | docker | local | a registered backend (worlds with a sandbox)."),
    ] = "auto",
) -> None:
    """Continue a recorded episode from its AT-th tool call with another model (or prompt):
    the recorded model outputs are played up to that call against a fresh world, each tool
    result checked against the recording, then the model takes over. The fork is recorded
    as a new episode (run kind fork) linked to the original and scored like any other.
    Exit 1 when the restored world differs from the recording."""
    from sandlot.agents.after.fork import ForkError, fork_episode
    from sandlot.console import console, outcome_text

    if policy_addition is not None and policy_file is not None:
        raise typer.BadParameter("give --policy-addition or --policy-file, not both")
    if policy_file is not None:
        try:
            policy_addition = policy_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(str(exc), param_hint="--policy-file") from exc
    episode_id = _episode_id(db, episode_id)  # an id or a unique prefix
    made = _make_model(model)
    _redact_output(made)
    # a restored world that differs from the recording (ForkMismatchError): exit 1
    with _tool_errors(), _trace_file("DB"), _run_errors():
        options = {"sandbox": _sandbox(sandbox)}
        try:
            report = asyncio.run(
                fork_episode(
                    db,
                    episode_id,
                    at=at,
                    model=made,
                    policy_addition=policy_addition,
                    db_out=db_out,
                    env_options=options,
                )
            )
        except ForkError as exc:
            raise typer.BadParameter(str(exc)) from exc
    new = report.fork
    console.print(
        f"fork episode {new.episode_id} of {episode_id} at tool call {at} "
        f"({report.replayed_model_calls} recorded model calls played), recorded in {report.db}",
        highlight=False,
        markup=False,
    )
    console.print(
        f"score {new.score} (original {report.original_score}), "
        f"outcome {outcome_text(new.outcome)} (original {outcome_text(report.original_outcome)})"
    )


@app.command("score")
def score_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file.")],
    tasks: Annotated[
        list[Path], typer.Option("--tasks", help="Task files with the checklists to apply.")
    ],
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run's episodes.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Report without writing the new verdicts.")] = False,
    tools: ExtraTools = None,
    installed_tools: InstalledTools = True,
) -> None:
    """Apply (changed) checklists to stored episodes without running them; say which items
    could not be re-checked and why, and for each episode that does not pass, why not
    (its failed checks' evidence). The task files are checked as by `tasks validate`."""
    from rich.table import Table
    from rich.text import Text

    from sandlot.agents.after.rescore import rescore
    from sandlot.console import console, outcome_text

    loaded = _load_tasks(tasks, _extra_tools(tools, installed_tools))
    if run_id is not None:
        run_id = _run_id(db, run_id)  # an unknown run lists the runs there
    with _trace_file("DB"):
        results = asyncio.run(rescore(db, loaded, run_id=run_id, write=not dry_run))
    table = Table(title=f"re-scored {len(results)} episodes" + (" (dry run)" if dry_run else ""))
    for col in ("episode", "task", "score", "outcome", "not re-checked", "why"):
        table.add_column(col, overflow="fold" if col == "why" else "ellipsis")
    for r in results:
        old = "-" if r.old_score is None else f"{r.old_score:.3f}"
        unchecked = "; ".join(f"{item}: {why}" for item, why in r.unchecked) or "-"
        # why it does not pass: each failed check's evidence, else the one phrase
        reasons = "\n".join(f"{item}: {said}" for item, said in r.failed) or r.why
        table.add_row(
            r.episode_id,
            r.task_id,
            f"{old} -> {r.new_score:.3f}",
            f"{outcome_text(r.old_outcome)} -> {outcome_text(r.new_outcome)}",
            Text(unchecked),  # as is, never markup
            Text(reasons),
        )
    console.print(table)


@app.command("compare")
def compare_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file of RUN_A (and of RUN_B).")],
    run_a: Annotated[str, typer.Argument(help="The first run: an id, a prefix or 'latest'.")],
    run_b: Annotated[str, typer.Argument(help="The second run: an id, a prefix or 'latest'.")],
    db_b: Annotated[
        Path | None, typer.Option("--db-b", help="The trace file of RUN_B, when not DB.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Compare two runs task by task: the tasks that flipped, the success rates with a
    paired bootstrap interval and an exact McNemar test, per-tag, token and time deltas."""
    from sandlot.console import print_json, print_run_comparison
    from sandlot.errors import UserError
    from sandlot.traces.runs_compare import compare_runs, open_trace, resolve_run

    with contextlib.ExitStack() as stack:
        with _trace_file("DB"):
            reader_a = stack.enter_context(open_trace(db))
        reader_b = reader_a
        if db_b is not None:
            with _trace_file("--db-b"):
                reader_b = stack.enter_context(open_trace(db_b))
        try:
            id_a = resolve_run(reader_a, run_a)
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint="RUN_A") from exc
        try:
            id_b = resolve_run(reader_b, run_b)
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint="RUN_B") from exc
        result = compare_runs(reader_a, id_a, reader_b, id_b)
    if as_json:
        print_json(result.to_dict())
    else:
        print_run_comparison(result)


# --- view / export -------------------------------------------------------------------


@app.command("runs")
def runs_cmd(
    db: Annotated[Path, typer.Option(help="The trace file.")] = Path("traces.db"),
) -> None:
    """List the runs in --db, oldest first: id, kind, status, model, episodes passed."""
    from rich.table import Table

    from sandlot.console import console
    from sandlot.traces.listing import run_rows
    from sandlot.traces.runs_compare import open_trace

    with _trace_file("--db"), open_trace(db) as reader:
        rows = run_rows(reader)
    if not rows:
        console.print(f"no runs in {db}; record one with: sandlot run TASKS --db {db}")
        return
    table = Table(title=f"runs in {db}")
    for column in ("run", "kind", "status", "model", "passed"):
        table.add_column(column, no_wrap=column != "model")
    for r in rows:
        table.add_row(
            r["id"], r["kind"], str(r["status"]), str(r["model"]), f"{r['passed']}/{r['episodes']}"
        )
    console.print(table)


@app.command("episodes")
def episodes_cmd(
    run: Annotated[
        str, typer.Argument(help="The run: an id, a prefix or 'latest' (sandlot runs).")
    ] = "latest",
    db: Annotated[Path, typer.Option(help="The trace file.")] = Path("traces.db"),
    failed: Annotated[
        bool, typer.Option("--failed", help="Only the episodes that did not pass.")
    ] = False,
) -> None:
    """List a run's episodes with their ids, outcome and why each did not pass."""
    from rich.table import Table
    from rich.text import Text

    from sandlot.console import console, outcome_text, usd
    from sandlot.errors import UserError
    from sandlot.traces.listing import episode_rows
    from sandlot.traces.runs_compare import open_trace, resolve_run

    with _trace_file("--db"), open_trace(db) as reader:
        try:
            run_id = resolve_run(reader, run)
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint="RUN") from exc
        rows = episode_rows(reader, run_id, failed=failed)
    table = Table(title=f"{'failed ' if failed else ''}episodes of run {run_id}")
    costs = any(r["cost"] is not None for r in rows)
    for column in ("episode", "task", "ep", "outcome", "score", *(["cost"] if costs else [])):
        table.add_column(column, no_wrap=True)
    table.add_column("why", overflow="fold")
    for r in rows:
        table.add_row(
            r["id"],
            r["task_id"],
            str(r["epoch"]),
            outcome_text(r["outcome"]),
            "-" if r["score"] is None else f"{r['score']:.2f}",
            *([usd(r["cost"])] if costs else []),
            Text(r["why"]),
        )
    console.print(table)


def _episode_id(db: Path, ref: str, param_hint: str = "EPISODE_ID") -> str:
    """The episode id that ``ref`` (an id or a unique prefix) names in ``db``."""
    from sandlot.errors import UserError
    from sandlot.traces.listing import resolve_episode
    from sandlot.traces.runs_compare import open_trace

    with _trace_file("DB"), open_trace(db) as reader:
        try:
            return resolve_episode(reader, ref)
        except UserError as exc:
            raise typer.BadParameter(str(exc), param_hint=param_hint) from exc


@app.command("view")
def view_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file.")],
    host: Annotated[
        str, typer.Option(help="Address to bind (local only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to serve on.")] = 8321,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open a browser.")] = False,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare-with",
            help="A second trace file (read-only too): its runs can be compared with DB's "
            "on the runs-compare page.",
        ),
    ] = None,
) -> None:
    """Serve the trace viewer (read-only): runs, episodes, timelines, span trees,
    step-through replay, comparisons, search and plots."""
    from sandlot.traces.viewer.server import serve

    if compare_with is not None:
        from sandlot.traces.viewer.db import open_readonly

        with _trace_file("--compare-with"):
            open_readonly(compare_with).close()  # a bad file is a usage error up front
    try:
        with _trace_file("DB"):
            serve(db, host, port, open_browser=open_browser, compare_with=compare_with)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise typer.BadParameter(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port",
            param_hint="--port",
        ) from exc


@app.command("export")
def export_cmd(
    db: Annotated[Path, typer.Argument(help="The trace file.")],
    episode_id: Annotated[
        str | None, typer.Argument(help="The episode to export as HTML (with --html).")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="The HTML file to write for EPISODE_ID.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Export a table for analysis: jsonl (one object a row) or csv; or otlp: "
            "send the episodes as OpenTelemetry spans to --endpoint (the otel extra).",
        ),
    ] = None,
    table: Annotated[
        str,
        typer.Option("--table", help="With --format: the table, episodes, checks or events."),
    ] = "episodes",
    run_id: Annotated[
        str | None, typer.Option("--run", help="With --format: only this run's rows.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="With --format otlp: the OTLP/HTTP receiver's traces URL, e.g. "
            "http://localhost:4318/v1/traces.",
        ),
    ] = None,
    only_episode: Annotated[
        str | None,
        typer.Option("--episode", help="With --format otlp: only this episode."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="With --format: the file to write (default: standard output)."),
    ] = None,
) -> None:
    """Write one episode as a standalone HTML file that opens with no server (EPISODE_ID
    --html FILE), or a table of episodes, checks or events as JSON Lines or CSV
    (--format), or send episodes as OpenTelemetry spans (--format otlp --endpoint URL)."""
    if fmt == "otlp":
        _export_otlp(db, endpoint, run_id, only_episode or episode_id)
        return
    if fmt is not None:
        _export_table(db, fmt, table, run_id, out, episode_id, html)
        return
    if episode_id is None or html is None:
        raise typer.BadParameter(
            "give an episode and --html FILE, or --format jsonl|csv to export a table",
            param_hint="--html",
        )
    from sandlot.traces.viewer.export import export_episode_html

    episode_id = _episode_id(db, episode_id)  # an id or a unique prefix
    _parent_folder(html, "--html")
    try:
        written = export_episode_html(db, episode_id, html)
    except (LookupError, ValueError) as exc:  # no such episode; not a trace file
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"wrote {written}")


def _parent_folder(path: Path, option: str) -> None:
    """Make the folder ``path`` is written in, as ``--db`` does; one that cannot be made
    (a file in the way, no permission) is a usage error naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot make the folder {str(path.parent)!r} to write {path.name} in: "
            f"{exc.strerror or exc}",
            param_hint=option,
        ) from exc


def _send_run(db: Path, endpoint: str | None, run_id: str) -> None:
    """``run --otlp-endpoint``: the finished run's episodes as spans to ``endpoint``; the
    trace is kept whatever the receiver does (``sandlot export --format otlp`` sends
    it again)."""
    if not endpoint:
        return
    from sandlot.traces.otel import OtlpExportError, export_otlp

    try:
        n = export_otlp(db, endpoint, run_id=run_id)
    except OtlpExportError as exc:
        typer.echo(
            f"error: {exc}; the trace is kept: sandlot export {db} --format otlp "
            f"--endpoint {endpoint} --run {run_id} sends it again",
            err=True,
        )
        raise typer.Exit(1) from exc
    typer.echo(f"sent {n} spans of run {run_id} to {endpoint}", err=True)


def _export_otlp(
    db: Path, endpoint: str | None, run_id: str | None, episode_id: str | None
) -> None:
    """``sandlot export --format otlp``: episodes as spans to an OTLP/HTTP receiver."""
    import sqlite3

    from sandlot.errors import UserError
    from sandlot.traces.otel import OtlpExportError, export_otlp

    if not endpoint:
        raise typer.BadParameter(
            "--format otlp needs --endpoint URL (e.g. http://localhost:4318/v1/traces)",
            param_hint="--endpoint",
        )
    if not db.is_file():
        raise typer.BadParameter(f"no trace file at {db}", param_hint="DB")
    if run_id is not None:
        run_id = _run_id(db, run_id)  # an unknown run lists the runs there
    try:
        n = export_otlp(db, endpoint, run_id=run_id, episode_id=episode_id)
    except OtlpExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except UserError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        raise typer.BadParameter(
            f"{db} is not an SQLite trace file ({exc})", param_hint="DB"
        ) from exc
    typer.echo(f"sent {n} spans to {endpoint}", err=True)


def _export_table(
    db: Path,
    fmt: str,
    table: str,
    run_id: str | None,
    out: Path | None,
    episode_id: str | None,
    html: Path | None,
) -> None:
    """``sandlot export --format``: one table as JSON Lines or CSV."""
    import sqlite3
    import sys

    from sandlot.errors import UserError
    from sandlot.traces.export_tables import FORMATS, TABLES, export_table

    _choice(fmt, FORMATS, "--format")
    _choice(table, TABLES, "--table")
    if episode_id is not None or html is not None:
        raise typer.BadParameter(
            "--format exports whole tables; leave out the episode and --html (use --run "
            "to keep one run)",
            param_hint="--format",
        )
    if not db.is_file():
        raise typer.BadParameter(f"no trace file at {db}", param_hint="DB")
    if run_id is not None:
        run_id = _run_id(db, run_id)  # an unknown run lists the runs there
    if out is not None:
        _parent_folder(out, "--out")
    try:
        if out is None:
            export_table(db, table, fmt, sys.stdout, run_id=run_id)
            return
        with out.open("w", encoding="utf-8", newline="") as stream:
            n = export_table(db, table, fmt, stream, run_id=run_id)
    except UserError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        raise typer.BadParameter(
            f"{db} is not an SQLite trace file ({exc})", param_hint="DB"
        ) from exc
    typer.echo(f"wrote {n} {table} rows to {out}", err=True)


def main() -> None:
    """The ``sandlot`` command: a UserError that no command turned into a usage message
    is printed as one (exit 2), never as a traceback."""
    from sandlot.errors import UserError

    try:
        app()
    except UserError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
