"""The deployment files (Dockerfile, docker-compose.yml, Procfile, gunicorn.conf.py,
.env.example) agree with the code.

What they name must exist: the gunicorn application, the Celery app and its subcommands, the
management commands, the health URL, and every environment variable. gunicorn's settings are
written once, in gunicorn.conf.py, and read through gunicorn itself here. No database: these
tests read files and import modules only.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import functools
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

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
from gunicorn.app.wsgiapp import WSGIApplication  # type: ignore[import-untyped]
from gunicorn.config import KNOWN_SETTINGS, Config  # type: ignore[import-untyped]
from honcho.environ import parse_procfile  # type: ignore[import-untyped]

from bench.plan import Plan
from bench.system import System
from config import launcher

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
PROCFILE = REPO_ROOT / "Procfile"
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

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


# What gunicorn.conf.py reads, cleared before each reading so that this machine's values do not
# leak in; GUNICORN_CMD_ARGS would add options behind the file's back.
GUNICORN_ENVIRONMENT = (
    "PORT",
    "WEB_BIND_HOST",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "GUNICORN_CMD_ARGS",
)


def gunicorn_config(argv: list[str], environment: dict[str, str]) -> Config:
    """The settings gunicorn itself reads from this command line (its -c file included) in this
    environment, run from the repository's root (the image's WORKDIR, make run's cwd)."""
    with (
        mock.patch.dict(os.environ),
        mock.patch.object(sys, "argv", ["gunicorn", *argv[1:]]),
        contextlib.chdir(REPO_ROOT),
    ):
        for name in GUNICORN_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(environment)
        application = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn")
    return application.cfg


def check_gunicorn(argv: list[str], environment: dict[str, str]) -> Config:
    """`gunicorn -c gunicorn.conf.py MODULE:ATTRIBUTE` and nothing else: every setting comes
    from the file. Returns the settings, read in the given environment."""
    assert Path(argv[0]).name == "gunicorn", f"not gunicorn: {argv}"
    assert len(argv) == 4 and argv[1] in ("-c", "--config"), (
        f"gunicorn takes its settings from gunicorn.conf.py and nothing else: {argv}"
    )
    assert (REPO_ROOT / argv[2]).resolve() == GUNICORN_CONF, f"not gunicorn.conf.py: {argv}"
    target = argv[3]
    assert re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target), f"not MODULE:ATTRIBUTE: {argv}"
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute, None)), f"{target} is not a WSGI callable"

    config = gunicorn_config(argv, environment)
    assert config.workers >= 2, f"gunicorn needs at least 2 workers, got {config.workers}"
    # Threads, so that connections are kept alive (README "Performance").
    assert config.worker_class_str == "gthread", f"gthread workers, not {config.worker_class_str}"
    assert config.threads >= 2, f"threads: {config.threads}"
    assert config.accesslog == "-", "the access log goes to stdout"
    log_format = config.access_log_format
    assert "%(U)s" in log_format, f"the access log records the path: {log_format}"
    assert not {"%(r)s", "%(q)s"} & set(re.findall(r"%\(\w+\)s", log_format)), (
        f"the access log must not record query strings (personal data): {log_format}"
    )
    # Requests get their grace, and gunicorn ends before `docker stop` (10 s) and the launcher
    # kill it.
    assert 0 < config.graceful_timeout < min(10, launcher.STOP_GRACE_SECONDS)
    if os.path.isdir("/dev/shm"):  # noqa: S108
        assert config.worker_tmp_dir == "/dev/shm", "heartbeat files in memory"  # noqa: S108
    return config


def image_environment() -> dict[str, str]:
    """The Dockerfile's ENV variables."""
    environment: dict[str, str] = {}
    for arguments in dockerfile("ENV"):
        for item in shlex.split(arguments):
            name, equals, value = item.partition("=")
            assert equals, f"write ENV as NAME=value: {arguments}"
            environment[name] = value
    return environment


def container_environment(name: str) -> dict[str, str]:
    """What a compose service's process sees: the image's ENV, then the service's own
    environment with compose's ${VAR:-default} at its default."""
    declared = service(name).get("environment") or {}
    return {**image_environment(), **{k: default_of(str(v)) for k, v in declared.items()}}


def procfile() -> dict[str, str]:
    return dict(parse_procfile(PROCFILE.read_text()).processes)


def launcher_environment(port: str) -> dict[str, str]:
    """The environment `make run` gives the Procfile's processes, as far as gunicorn reads it."""
    return {"PORT": port}


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


def check_command(argv: list[str], environment: dict[str, str]) -> None:
    program = Path(argv[0]).name
    if program == "gunicorn":
        check_gunicorn(argv, environment)
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
    """The Python that reads the environment: config/ and gunicorn.conf.py."""
    paths = [*sorted(CONFIG_DIR.rglob("*.py")), GUNICORN_CONF]
    return {path: path.read_text() for path in paths}


def procfile_variables() -> set[str]:
    """Variables the Procfile's commands expand (each is run by /bin/sh)."""
    return set(re.findall(r"\$\{?([A-Za-z_]\w*)", PROCFILE.read_text()))


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_RUNNING_SERVICES)
def test_long_running_service_exists_with_healthcheck(name):
    healthcheck_test(name)


def test_web_worker_and_beat_are_built_from_this_repository():
    missing = [name for name in APP_ROLES if name not in app_service_names()]
    assert not missing, f"not built from this repository (no `build`): {missing}"


@pytest.mark.parametrize("name", app_service_names())
def test_app_service_command_names_things_that_exist(name):
    check_command(command_of(name), container_environment(name))


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
    (bind,) = gunicorn_config(command_of("web"), container_environment("web")).bind
    assert bind.startswith("0.0.0.0:"), (
        f"in its container web must listen on all interfaces: {bind}"
    )
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


# --- Procfile and gunicorn.conf.py ---------------------------------------------------------------


def test_procfile_declares_web_worker_and_beat():
    processes = procfile()
    assert set(processes) == {"web", "worker", "beat"}, f"Procfile declares {sorted(processes)}"
    assert Path(shlex.split(processes["web"])[0]).name == "gunicorn"
    assert celery_subcommand(shlex.split(processes["worker"])) == "worker"
    assert celery_subcommand(shlex.split(processes["beat"])) == "beat"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_procfile_command_names_things_that_exist(name):
    check_command(shlex.split(procfile()[name]), launcher_environment("8000"))


def test_make_run_serves_on_loopback_at_port():
    argv = shlex.split(procfile()["web"])
    bind = gunicorn_config(argv, launcher_environment("8123")).bind
    assert bind == ["127.0.0.1:8123"], f"make run listens on loopback at $PORT, not {bind}"


def test_gunicorn_conf_reads_the_environment():
    argv = ["gunicorn", "-c", GUNICORN_CONF.name, "config.wsgi:application"]
    config = gunicorn_config(
        argv,
        {"PORT": "9001", "WEB_BIND_HOST": "0.0.0.0", "WEB_CONCURRENCY": "3", "WEB_THREADS": "6"},  # noqa: S104
    )
    assert (config.bind, config.workers, config.threads) == (["0.0.0.0:9001"], 3, 6)
    defaults = gunicorn_config(argv, {})
    assert (defaults.bind, defaults.workers, defaults.threads) == (["127.0.0.1:8000"], 2, 4)


def test_bench_runs_gunicorn_with_the_same_settings(tmp_path):
    plan = Plan.from_environment()
    system = System(plan, tmp_path)
    web = system.services[0]
    config = check_gunicorn(web.command, system.env)
    assert config.bind == [f"127.0.0.1:{system.port}"]
    assert (config.workers, config.threads) == (plan.web_workers, plan.web_threads)


def gunicorn_command_lines() -> dict[str, list[str]]:
    """Every place that starts gunicorn, by where it is written."""
    return {
        "Dockerfile CMD": exec_argv(dockerfile("CMD")[-1]),
        "docker-compose.yml web": command_of("web"),
        "Procfile web": shlex.split(procfile()["web"]),
        "bench/system.py": System(Plan.from_environment(), REPO_ROOT / "var")._gunicorn(
            "config.wsgi:application"
        ),
    }


def settings_made_in_gunicorn_conf() -> set[str]:
    tree = ast.parse(GUNICORN_CONF.read_text())
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_gunicorn_settings_are_written_in_gunicorn_conf_only():
    # Each command line names the file and the application, nothing more...
    for where, argv in gunicorn_command_lines().items():
        assert len(argv) == 4 and argv[1] in ("-c", "--config"), f"{where}: {argv}"
        assert (REPO_ROOT / argv[2]).resolve() == GUNICORN_CONF, f"{where}: {argv}"
    # ...and no other file that mentions gunicorn passes one of the settings the file makes.
    made = settings_made_in_gunicorn_conf()
    flags = {
        flag
        for setting in KNOWN_SETTINGS
        if setting.name in made
        for flag in setting.cli or []
        if flag.startswith("--")
    }
    assert {"--bind", "--workers", "--threads", "--access-logformat", "--worker-tmp-dir"} <= flags
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(flags))) + r")(?![\w-])")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO_ROOT / name
        if path in (GUNICORN_CONF, Path(__file__).resolve()) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if "gunicorn" in text and (found := pattern.findall(text)):
            offenders.append(f"{name}: {sorted(set(found))}")
    assert not offenders, f"gunicorn options set outside gunicorn.conf.py: {offenders}"


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
    assert commands[-1].startswith("["), "exec form: gunicorn is PID 1 and gets docker's SIGTERM"
    argv = exec_argv(commands[-1])
    assert Path(argv[0]).name == "gunicorn", f"default command is not gunicorn: {argv}"
    check_gunicorn(argv, image_environment())
    bind = gunicorn_config(argv, image_environment()).bind
    assert bind == ["0.0.0.0:8000"], f"must listen on all interfaces, port 8000: {bind}"
    on_port = gunicorn_config(argv, {**image_environment(), "PORT": "9000"}).bind
    assert on_port == ["0.0.0.0:9000"], f"must listen on $PORT: {on_port}"


def test_gunicorn_conf_is_in_the_image():
    excluded = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(fnmatch.fnmatch(GUNICORN_CONF.name, pattern) for pattern in excluded)
    assert any(copy.split()[0] == "." for copy in dockerfile("COPY")), "the image copies the tree"


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
    unread = [
        name
        for name in env_example()
        if not re.search(rf"""["']{name}["']""", sources) and name not in procfile_variables()
    ]
    assert not unread, (
        f".env.example lists variables nothing in config/, gunicorn.conf.py or the Procfile "
        f"reads: {unread}"
    )


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
