"""The deployment files (Dockerfile, docker-compose.yml, .env.example) agree with the code.

What they name must exist: the gunicorn application, the Celery app and its subcommands, the
management commands, the health URL, and every environment variable. No database: these
tests read files and import modules only.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.management import get_commands
from django.urls import resolve

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

LONG_RUNNING_SERVICES = ("db", "redis", "web", "worker", "beat")
APP_ROLES = ("web", "worker", "beat")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


# --- Reading the files ------------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    assert isinstance(loaded.get("services"), dict), "docker-compose.yml has no services"
    return loaded


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def app_service_names() -> list[str]:
    """Services built from this repository: they run the application's own commands."""
    return sorted(name for name, spec in compose()["services"].items() if "build" in spec)


def command_of(name: str) -> list[str]:
    command = service(name).get("command")
    assert isinstance(command, list), f"{name}: command must be an exec-form YAML list"
    assert command, f"{name}: command is empty"
    assert all(isinstance(arg, str) for arg in command), f"{name}: command args must be strings"
    return command


def healthcheck_test(name: str) -> list[str]:
    healthcheck = service(name).get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable"), f"{name}: healthcheck is disabled"
    test = healthcheck.get("test")
    assert isinstance(test, list), f"{name}: healthcheck test must be a list"
    assert len(test) >= 2, f"{name}: healthcheck test has no command"
    assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test must start CMD/CMD-SHELL"
    return test


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends in a continuation line"
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [arguments for found, arguments in dockerfile_instructions() if found == keyword]


def env_example() -> dict[str, str]:
    """Variables assigned in .env.example; each must have a comment line right above it."""
    variables: dict[str, str] = {}
    previous = ""
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, equals, value = stripped.partition("=")
            assert equals, f".env.example line {number} is not NAME=value: {line!r}"
            assert ENV_NAME.fullmatch(name), f".env.example line {number}: bad name {name!r}"
            assert name not in variables, f".env.example sets {name} twice"
            assert previous.startswith("#"), f".env.example: {name} has no comment above it"
            variables[name] = value
        previous = stripped
    return variables


# --- Reading commands -------------------------------------------------------------------------


def option(argv: list[str], *names: str) -> str | None:
    """The value of `--name value`, `--name=value` or `-n value` in argv, if present."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.partition("=")[2]
    return None


def default_of(value: str) -> str:
    """`${VAR:-default}` (shell or compose interpolation) -> its default; other text as is."""
    match = re.fullmatch(r"\$\{\w+:?-([^}]*)\}", value)
    return match.group(1) if match else value


def exec_argv(instruction_arguments: str) -> list[str]:
    """A Dockerfile CMD's argv; a `sh -c "exec ..."` wrapper is unwrapped."""
    if instruction_arguments.startswith("["):
        argv = json.loads(instruction_arguments)
    else:
        argv = ["/bin/sh", "-c", instruction_arguments]
    if len(argv) == 3 and argv[0] in ("sh", "/bin/sh") and argv[1] == "-c":
        argv = shlex.split(argv[2])
        if argv and argv[0] == "exec":
            argv = argv[1:]
    return argv


def check_gunicorn(argv: list[str]) -> None:
    targets = [arg for arg in argv[1:] if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", arg)]
    assert len(targets) == 1, f"gunicorn must name one MODULE:ATTRIBUTE, got {argv}"
    module_name, _, attribute = targets[0].partition(":")
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), f"{module_name} has no attribute {attribute!r}"
    assert callable(getattr(module, attribute)), f"{targets[0]} is not a WSGI callable"
    workers = option(argv, "--workers", "-w")
    assert workers is not None, f"gunicorn must set --workers: {argv}"
    assert int(default_of(workers)) >= 2, f"gunicorn needs at least 2 workers, got {workers}"
    # As `make run` and `make bench` run it: threads, so that connections are kept alive.
    assert option(argv, "--worker-class", "-k") == "gthread", f"gthread workers: {argv}"
    threads = option(argv, "--threads")
    assert threads is not None and int(default_of(threads)) >= 2, f"threads: {argv}"
    log_format = option(argv, "--access-logformat")
    assert log_format is not None and "%(U)s" in log_format, f"log paths only: {argv}"
    assert not {"%(r)s", "%(q)s"} & set(re.findall(r"%\(\w+\)s", log_format)), (
        f"the access log must not record query strings (personal data): {argv}"
    )
    bind = option(argv, "--bind", "-b")
    assert bind is not None, f"gunicorn must --bind explicitly: {argv}"
    assert bind.startswith("0.0.0.0:"), f"gunicorn must listen on all interfaces, got {bind}"


def celery_subcommand(argv: list[str]) -> str:
    found = [arg for arg in argv[1:] if arg in celery_cli.commands]
    assert found, f"no celery subcommand in {argv}"
    return found[0]


def check_celery(argv: list[str]) -> None:
    app_name = option(argv, "-A", "--app")
    assert app_name is not None, f"celery must be given the app with -A: {argv}"
    app = find_app(app_name)
    assert isinstance(app, Celery), f"celery -A {app_name} does not find a Celery app"
    # It is the project's app (configured from Django settings), not some other instance.
    project_app = importlib.import_module("config.celery_app").app
    assert app is project_app, f"celery -A {app_name} is not config.celery_app.app"
    assert importlib.import_module("config").celery_app is project_app
    celery_subcommand(argv)


def check_manage(argv: list[str]) -> None:
    assert argv[1:2] == ["manage.py"], f"expected `python manage.py COMMAND`, got {argv}"
    assert (REPO_ROOT / "manage.py").is_file()
    assert len(argv) > 2, "manage.py needs a command"
    assert argv[2] in get_commands(), f"no management command {argv[2]!r}"


def check_command(argv: list[str]) -> None:
    program = Path(argv[0]).name
    if program == "gunicorn":
        check_gunicorn(argv)
    elif program == "celery":
        check_celery(argv)
    elif re.fullmatch(r"python(3(\.\d+)?)?", program):
        check_manage(argv)
    else:
        pytest.fail(f"unexpected program {argv[0]!r}: teach this test how to check it")


# --- Reading the environment variables the code reads -------------------------------------------


def _is_os_environ(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_env_factory(node: ast.expr) -> bool:
    """environ.Env(), Env(), dict(os.environ), os.environ.copy()."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "Env":
        return True
    if isinstance(func, ast.Name) and func.id == "Env":
        return True
    if isinstance(func, ast.Name) and func.id == "dict" and node.args:
        return _is_os_environ(node.args[0])
    return isinstance(func, ast.Attribute) and func.attr == "copy" and _is_os_environ(func.value)


def environment_variables_read(source: str) -> set[str]:
    """Names read through os.environ / os.getenv / a django-environ Env / a copy of os.environ."""
    tree = ast.parse(source)
    env_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_env_factory(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def is_env(node: ast.expr) -> bool:
        return (
            _is_os_environ(node)
            or _is_env_factory(node)
            or (isinstance(node, ast.Name) and node.id in env_names)
        )

    def first_name(args: list[ast.expr]) -> str | None:
        if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            return args[0].value if ENV_NAME.fullmatch(args[0].value) else None
        return None

    found: set[str] = set()
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and is_env(func.value):
                name = first_name(node.args)  # env.str("X"), os.environ.get("X"), ...
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                name = first_name(node.args)  # os.getenv("X")
            elif isinstance(func, ast.Name) and func.id in env_names:
                name = first_name(node.args)  # env("X")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and is_env(node.value)
        ):
            name = first_name([node.slice])  # os.environ["X"]
        if name:
            found.add(name)
    return found


def config_sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(CONFIG_DIR.rglob("*.py"))}


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_service_exists_with_healthcheck(name):
    healthcheck_test(name)


def test_web_worker_and_beat_are_built_from_this_repository():
    missing = [name for name in APP_ROLES if name not in app_service_names()]
    assert not missing, f"not built from this repository (no `build`): {missing}"


@pytest.mark.parametrize("name", app_service_names())
def test_app_service_command_names_things_that_exist(name):
    check_command(command_of(name))


def test_each_app_role_runs_its_program():
    assert Path(command_of("web")[0]).name == "gunicorn"
    assert celery_subcommand(command_of("worker")) == "worker"
    assert celery_subcommand(command_of("beat")) == "beat"


def test_exactly_one_beat():
    beat = service("beat")
    replicas = beat.get("deploy", {}).get("replicas", 1)
    assert int(replicas) == 1, f"beat must run as exactly one replica, not {replicas}"
    assert int(beat.get("scale", 1)) == 1, "beat must not be scaled"


def test_app_services_wait_for_healthy_database_and_broker():
    for name in APP_ROLES:
        depends_on = service(name).get("depends_on")
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for dependency in ("db", "redis"):
            condition = depends_on.get(dependency, {}).get("condition")
            assert condition == "service_healthy", f"{name} must wait for {dependency} healthy"


def test_app_services_share_production_environment():
    environments = {name: service(name).get("environment") for name in app_service_names()}
    web = environments["web"]
    assert isinstance(web, dict), "web: environment must be a mapping"
    for name, environment in environments.items():
        assert environment == web, f"{name} does not share web's environment"
    assert web["DATABASE_URL"].startswith("postgres://")
    assert "@db:5432/" in web["DATABASE_URL"]
    assert web["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert web["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?"), "secret must be required"
    assert "DJANGO_ALLOWED_HOSTS" in web
    assert str(web["DJANGO_DEBUG"]) == "0"
    assert str(web["DJANGO_SECURE_SSL_REDIRECT"]) == "1"


def test_web_healthcheck_hits_the_liveness_url_on_the_port_gunicorn_binds():
    test = " ".join(healthcheck_test("web")[1:])
    bind = option(command_of("web"), "--bind", "-b")
    assert bind is not None
    port = bind.rpartition(":")[2]
    assert f"127.0.0.1:{port}/healthz" in test, f"web healthcheck must GET /healthz: {test}"
    assert resolve("/healthz").func.__name__ == "healthz"
    published = [str(entry).rpartition(":")[2] for entry in service("web").get("ports", [])]
    assert all(target == port for target in published), f"ports {published} miss {port}"


def test_worker_healthcheck_pings_this_worker_through_the_project_app():
    test = healthcheck_test("worker")
    argv = shlex.split(" ".join(test[1:]).replace("$$", "$"))
    assert argv[0] == "celery"
    check_celery(argv)
    assert celery_subcommand(argv) == "inspect"
    assert argv[argv.index("inspect") + 1] == "ping"
    node = option(command_of("worker"), "-n", "--hostname") or "celery@%h"
    destination = option(argv, "-d", "--destination")
    assert destination == node.replace("%h", "$HOSTNAME"), f"ping must target {node}"


def test_beat_healthcheck_watches_the_pidfile_beat_writes():
    pidfile = option(command_of("beat"), "--pidfile")
    assert pidfile, "beat must write a pidfile for its healthcheck"
    assert pidfile in " ".join(healthcheck_test("beat")[1:])


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_base_image_dependencies_and_static_files():
    assert dockerfile("FROM")[0].startswith("python:3.11-slim")
    runs = dockerfile("RUN")
    assert any("-r requirements.lock" in run for run in runs), "must install requirements.lock"
    assert any("collectstatic --noinput" in run for run in runs), "must collect static files"
    assert "8000" in dockerfile("EXPOSE")


def test_dockerfile_runs_as_non_root_user():
    users = dockerfile("USER")
    assert users, "Dockerfile has no USER line"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"Dockerfile runs as root ({users[-1]})"


def test_dockerfile_default_command_runs_gunicorn_on_port():
    commands = dockerfile("CMD")
    assert commands, "Dockerfile has no CMD"
    argv = exec_argv(commands[-1])
    assert Path(argv[0]).name == "gunicorn", f"default command is not gunicorn: {argv}"
    check_gunicorn(argv)
    bind = option(argv, "--bind", "-b")
    assert bind == "0.0.0.0:${PORT:-8000}", f"must bind to $PORT (default 8000), got {bind}"


def test_dockerfile_healthcheck_hits_healthz_with_python():
    healthchecks = dockerfile("HEALTHCHECK")
    assert healthchecks, "Dockerfile has no HEALTHCHECK"
    _, _, command = healthchecks[-1].partition("CMD ")
    argv = exec_argv(command)
    assert Path(argv[0]).name.startswith("python"), f"healthcheck must use python: {argv}"
    assert "/healthz" in command


# --- .env.example -------------------------------------------------------------------------------


def test_every_example_variable_is_read_in_config():
    sources = "\n".join(config_sources().values())
    unread = [name for name in env_example() if not re.search(rf"""["']{name}["']""", sources)]
    assert not unread, f".env.example lists variables nothing in config/ reads: {unread}"


def test_every_variable_config_reads_is_in_example():
    read: set[str] = set()
    for path, source in config_sources().items():
        read |= environment_variables_read(source)
        if path.name == "settings.py":
            settings_read = environment_variables_read(source)
            # The reader must see through settings.py, or this test would pass vacuously.
            assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "CLINIC_VAR_DIR"} <= settings_read
    missing = sorted(read - set(env_example()))
    assert not missing, f"read in config/ but missing from .env.example: {missing}"


def test_compose_interpolations_are_documented_in_example():
    text = COMPOSE_FILE.read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*)", text))
    example = ENV_EXAMPLE.read_text()
    undocumented = sorted(name for name in interpolated if not re.search(rf"\b{name}\b", example))
    assert not undocumented, f"docker-compose.yml uses undocumented variables: {undocumented}"


def test_compose_sets_only_variables_the_app_reads():
    example = set(env_example())
    for name in app_service_names():
        unknown = sorted(set(service(name).get("environment") or {}) - example)
        assert not unknown, f"{name} sets variables not in .env.example: {unknown}"


def test_example_secret_key_is_a_placeholder_django_rejects_in_production():
    # `manage.py check --deploy` flags this value, so an unedited copy cannot pass as real.
    key = env_example()["DJANGO_SECRET_KEY"]
    assert (
        key.startswith(SECRET_KEY_INSECURE_PREFIX)
        or len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    ), "the example DJANGO_SECRET_KEY looks like a real key"
